"""Constant folding and algebraic simplification.

Constant subgraphs (everything computed from `const`, `arange` and earlier
folded constants only) are evaluated now, with the same NumPy implementations
the runtime would use, and replaced by a `const` (when every element is equal:
a broadcast scalar, no memory) or a `constarr` leaf holding the array (part of
the structural key). Only results up to FOLD_MAX_BYTES become arrays, so a
constant expanded to a huge shape is not materialized into the Program.
`rand` is never folded: its seed is data. Inputs (buffers, computed values)
are never folded through: they change between runs.

Simplifications, chosen to be exact for every value including NaN, inf and
the sign of zero:
- x*1, x/1, and x-(+0.0), x+(-0.0) -> x for floats; x+0, x-0 -> x for integers and bools.
  (Float x+(+0.0) is kept: -0.0 + 0.0 is +0.0, and 1/x would see the difference.)
- x*0 -> 0 only for integer and bool dtypes (for floats NaN*0 and inf*0 are NaN).
- neg(neg(x)), detach(x), no-op cast/reshape/permute/expand/slice/pad, sum/max over size-1 axes -> x.
- reshape(reshape(x)), permute(permute(x)), expand(expand(x)) -> one op.
- where(c, a, a) -> a.
exp(log(x)) is NOT folded (it is not x for x <= 0).
"""
from __future__ import annotations

import numpy as np

from .. import ir
from ..ops import OPS, ConstArray
from .graph import Graph, remake

FOLD_MAX_BYTES = 1 << 22  # largest folded constant embedded as an array
CONST_SOURCES = frozenset({"const", "constarr", "arange"})
NEVER_FOLD = frozenset({"buffer", "rand", "assign"})


def fold(g: Graph) -> tuple:
    """Returns (new graph, memo: id(old node) -> new node)."""
    memo = {}
    nodes = []
    for n in g.nodes:
        if g.is_input(n):
            new = n
        else:
            srcs = tuple(memo[id(s)] for s in n.srcs)
            new = n if srcs == n.srcs else remake(n.op, srcs, n.arg)
            new = _simplify(new, g)
        memo[id(n)] = new
        nodes.append(new)
    seen, uniq = set(), []
    for n in nodes:
        for m in ir.toposort([n], stop=lambda x: g.is_input(x) or id(x) in seen):
            if id(m) not in seen:
                seen.add(id(m))
                uniq.append(m)
    targets = tuple(memo[id(t)] for t in g.targets)
    return Graph(targets, tuple(uniq), g.inputs), memo


def _simplify(n, g: Graph):
    for _ in range(8):  # a rewrite can expose another (reshape of reshape that is then a no-op)
        m = _rewrite(n, g)
        if m is n:
            return n
        n = m
    return n


def _zero(n, negative: bool) -> bool:
    if n.op != "const":
        return False
    v = n.arg[0]
    if isinstance(v, float):
        return v == 0.0 and (np.signbit(v) == negative)
    return v == 0


def _rewrite(n, g: Graph):
    op, s = n.op, n.srcs
    if op in NEVER_FOLD or g.is_input(n) or op in ("const", "constarr"):
        return n
    if s and all(x.op in CONST_SOURCES and not g.is_input(x) for x in s) or op == "arange":
        folded = _evaluate(n)
        if folded is not None:
            return folded
    kind_int = n.dtype.kind in "iub"
    if op == "mul":
        for a, b in ((s[0], s[1]), (s[1], s[0])):
            if b.op == "const" and b.arg[0] == 1:
                return a
            if kind_int and b.op == "const" and b.arg[0] == 0:
                return b
    if op == "div" and s[1].op == "const" and s[1].arg[0] == 1:
        return s[0]
    if op == "add":
        for a, b in ((s[0], s[1]), (s[1], s[0])):
            if _zero(b, negative=True) or (kind_int and _zero(b, negative=False)):
                return a
    if op == "sub" and (_zero(s[1], negative=False) or kind_int and _zero(s[1], negative=True)):
        return s[0]
    if op == "neg" and s[0].op == "neg":
        return s[0].srcs[0]
    if op == "detach":
        return s[0]
    if op == "where" and s[1] is s[2]:
        return s[1]
    if op in ("reshape", "expand") and n.shape == s[0].shape:
        return s[0]
    if op == "cast" and n.dtype == s[0].dtype:
        return s[0]
    if op == "permute" and tuple(n.arg) == tuple(range(n.ndim)):
        return s[0]
    if op == "slice" and all(a == (0, d, 1) for a, d in zip(n.arg, s[0].shape)):
        return s[0]
    if op == "pad" and all(p == (0, 0) for p in n.arg[0]):
        return s[0]
    if op in ("sum", "max") and all(s[0].shape[a] == 1 for a in n.arg):
        return s[0]
    if op == s[0].op and op in ("reshape", "expand") and not g.is_input(s[0]):
        return remake(op, (s[0].srcs[0],), n.arg)
    if op == "permute" and s[0].op == "permute" and not g.is_input(s[0]):
        inner = s[0].arg
        return remake("permute", (s[0].srcs[0],), tuple(inner[i] for i in n.arg))
    if op in ("reshape", "permute", "expand", "slice", "detach") and s[0].op == "const":
        v, _, dt = s[0].arg
        return remake("const", (), (v, n.shape, dt))
    return n


def _evaluate(n):
    """The node's value as a const (uniform) or constarr (small enough), or None to leave it."""
    if n.op == "arange" and n.nbytes > FOLD_MAX_BYTES:
        return None
    if all(s.op == "const" for s in n.srcs) and OPS[n.op].kind in ("unary", "binary", "ternary", "cast"):
        out = OPS[n.op].numpy(ir.Info(n), *[np.array(s.arg[0], s.dtype) for s in n.srcs])
        return _const(np.asarray(out, n.dtype).reshape(()), n)
    if n.nbytes > FOLD_MAX_BYTES or any(s.nbytes > FOLD_MAX_BYTES and s.op == "arange" for s in n.srcs):
        return None
    arrays = [OPS[s.op].numpy(s) for s in n.srcs]
    out = np.asarray(OPS[n.op].numpy(ir.Info(n), *arrays), n.dtype)
    if out.size and (out == out.flat[0]).all() and not (out.dtype.kind == "f" and np.signbit(out).any()
                                                         != np.signbit(out).all()):
        return _const(out.reshape(-1)[0], n)
    return remake("constarr", (), ConstArray(np.broadcast_to(out, n.shape)))


def _const(value, n):
    v = value.item()
    return remake("const", (), (v, n.shape, n.dtype))
