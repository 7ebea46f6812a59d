"""The attention pass: one switch, two directions.

ON (the default), it RECOGNIZES attention written out by hand and rewrites it to the streaming `attention`
op (compiler/ops/attention.py), so the (..., L, S) score matrix is never stored. The pattern, as the
frontend's softmax builds it:

    s = matmul(q, kt) [* scale | / scale]          kt: the keys transposed, (..., E, S)
    x = s | add(s, mask) | where(bool mask, s, -inf) | where(bool mask, -inf, s)    (the last: masked_fill)
    p = exp(x - expand(max(x)))  /  expand(sum(exp(...)))     (max/sum over the last axis, max maybe detached)
    out = matmul(p, v)

with every intermediate (s, x, p and the softmax's own nodes) read by nothing outside the pattern and no
intermediate a target: an inference graph (no_grad, or eval of examples/gpt_block.py with its additive -1e9
mask buffer). A training graph of hand-written attention keeps p for its backward, so it does not match;
F.scaled_dot_product_attention records the op itself there. The result becomes the slice [..., :Ev] of the
packed `attention` result. A row whose keys are all masked changes from NaN (naive) to 0 (fused, as PyTorch).

OFF (`tt.set_passes(disabled=["attention"])` or `tt.disable_passes("attention")`), it EXPANDS every
`attention` and `attention_grad` op back into matmul, max, exp, sum and div over the full score matrix, so a
student sees the T×T buffers come back in `tt.explain` and the memory plan. Readers of the packed results
(the [..., :Ev] slice, `unpack_grads`' slices) are mapped to the naive values directly; anything else gets
the packed array rebuilt with `pad`.

Only attention whose score matrix is large is rewritten (`worth_streaming` of compiler/ops/attention.py: below
FUSE_MIN_SCORE_BYTES the composed form is faster). It runs first, before fold (the pattern is matched as the frontend built it). Returns (graph, memo: id(old
node) -> new node), like fold and dce.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .. import ir
from ..ops import GROUPS, ConstArray
from ..ops.attention import BLOCK, worth_streaming
from .graph import Graph, remake
from .patterns import P, Var, match

_SCALED = ("attention", "attention_grad")


def attention(g: Graph, enabled: bool = True) -> tuple:
    """Recognize hand-written attention (enabled) or expand the attention ops (not enabled)."""
    rewrite = _recognize(g) if enabled else _Expander(g).node
    memo, changed = {}, False
    for n in g.nodes:
        if g.is_input(n):
            memo[id(n)] = n
            continue
        srcs = tuple(memo[id(s)] for s in n.srcs)
        new = n if srcs == n.srcs else remake(n.op, srcs, n.arg)
        memo[id(n)] = rewrite(n, new, memo)
        changed = changed or memo[id(n)] is not n
    if not changed:
        return g, {}
    targets = tuple(memo[id(t)] for t in g.targets)
    return Graph(targets, tuple(ir.toposort(targets, stop=g.is_input)), g.inputs), memo


# ---------------------------------------------------------------- ON: recognize

def _const_value(n):
    """The value of a uniform constant seen through free views, else None."""
    while n.op in GROUPS.views and n.srcs:
        n = n.srcs[0]
    return n.arg[0] if n.op == "const" else None


def _last_axis(n) -> bool:
    return n.arg == (n.ndim - 1,)


def _patterns() -> list:
    """Every form of the pattern: scale by mul, div or none; mask additive, bool (where or masked_fill) or
    none; max detached or not."""
    q, kt, v = Var("q", lambda n: n.dtype.kind == "f"), Var("kt"), Var("v")
    scale = Var("scale", lambda n: isinstance(_const_value(n), float))
    out = []
    for scaled, masked, detached in itertools.product(("mul", "div", None), ("add", "where", "fill", None),
                                                      (True, False)):
        s = P("matmul", q, kt, computed=True)
        if scaled:
            s = P(scaled, s, scale, computed=True)
        x = s
        if masked == "add":
            x = P("add", s, Var("mask"), computed=True)
        elif masked == "where":
            x = P("where", Var("mask", lambda n: n.dtype.kind == "b"), s,
                  Var("ninf", lambda n: _const_value(n) == -math.inf), computed=True)
        elif masked == "fill":
            x = P("where", Var("mask", lambda n: n.dtype.kind == "b"),
                  Var("ninf", lambda n: _const_value(n) == -math.inf), s, computed=True)
        X = Var("x")
        mx = P("max", X, where=_last_axis, computed=True)
        if detached:
            mx = P("detach", mx, computed=True)
        e = P("exp", P("sub", X, P("expand", mx, computed=True), computed=True), computed=True)
        soft = P("div", e, P("expand", P("sum", e, where=_last_axis, computed=True), computed=True), computed=True)
        out.append((P("matmul", soft, v), x, scaled, masked))
    return out


_PATTERNS = _patterns()


def _recognize(g: Graph):
    users = {}
    for n in g.nodes:
        for s in n.srcs:
            users.setdefault(id(s), set()).add(id(n))
    targets = {id(t) for t in g.targets}

    def private(root, leaves) -> bool:
        """Every node strictly between `root` and `leaves` is read only inside, and is no target."""
        inside, stack = {id(root)}, [root.srcs[0]]
        nodes = []
        while stack:
            n = stack.pop()
            if id(n) in inside or id(n) in leaves:
                continue
            inside.add(id(n))
            nodes.append(n)
            stack.extend(n.srcs)
        return all(id(n) not in targets and users.get(id(n), set()) <= inside for n in nodes)

    def rewrite(old, new, memo):
        if old.op != "matmul" or g.is_input(old):
            return new
        for pattern, x, scaled, masked in _PATTERNS:
            bound = {}
            if not match(pattern, old, g, bound):
                continue
            inner = {}
            if not match(x, bound["x"], g, inner):
                continue
            leaves = {id(inner[k]) for k in ("q", "kt", "scale", "mask", "ninf") if k in inner} | {id(bound["v"])}
            q, kt = inner["q"], inner["kt"]
            if not worth_streaming(q.shape[:-2], q.shape[-2], kt.shape[-1], q.dtype.itemsize) or \
                    not private(old, leaves):
                continue
            return _fused(new, {k: memo[id(n)] for k, n in inner.items()}, scaled, masked)
        return new
    return rewrite


def _fused(new, inner, scaled, masked):
    """slice(attention(q, k, v[, mask]), [..., :Ev]) in place of the matmul `new`; `inner`: the pattern's
    bound nodes, in the new graph."""
    q, kt, v = inner["q"], inner["kt"], new.srcs[1]
    k = remake("permute", (kt,), tuple(range(kt.ndim - 2)) + (kt.ndim - 1, kt.ndim - 2))
    c = 1.0 if scaled is None else float(_const_value(inner["scale"]))
    scale = 1.0 / c if scaled == "div" else c
    mask = _negated(inner["mask"]) if masked == "fill" else inner.get("mask")
    srcs = (q, k, v) + ((mask,) if masked else ())
    packed = remake("attention", srcs, (scale, False, BLOCK))
    return remake("slice", (packed,), tuple((0, d, 1) for d in new.shape))


def _negated(mask):
    """not mask, computed under its free views (a (T, T) mask broadcast over batch and heads is negated
    once at (T, T), then broadcast again)."""
    chain = []
    while mask.op in GROUPS.views and mask.srcs:
        chain.append(mask)
        mask = mask.srcs[0]
    out = remake("cmpeq", (mask, remake("const", (), (False, mask.shape, mask.dtype))), None)
    for view in reversed(chain):
        out = remake(view.op, (out,), view.arg)
    return out


# ---------------------------------------------------------------- OFF: expand

class _Expander:
    """The naive form of each attention op (hash-consing shares the probabilities between an `attention`
    and its `attention_grad`, which recompute them from the same q, k, v)."""

    def __init__(self, g: Graph):
        self.g, self.ops = g, {}  # id(old attention node) -> it with the new graph's sources, unexpanded

    def node(self, old, new, memo):
        if old.op in _SCALED:
            self.ops[id(old)] = new
            return self.packed(new)
        if old.op == "slice" and id(old.srcs[0]) in self.ops:
            part = self.part(self.ops[id(old.srcs[0])], old.arg)
            if part is not None:
                return part
        return new

    def part(self, a, arg):
        """The naive value that the slice `arg` of `a`'s packed result selects, when it is one whole part."""
        if any(r != (0, d, 1) for r, d in zip(arg[:-1], a.shape[:-1])) or arg[-1][2] != 1:
            return None
        lo, hi, _ = arg[-1]
        if a.op == "attention":
            return self.forward(a)[0] if (lo, hi) == (0, a.shape[-1] - 1) else None
        at = 0
        for part in self.backward(a):
            size = part.shape[-2] * part.shape[-1]
            if (lo, hi) == (at, at + size):
                return remake("reshape", (part,), tuple(hi - lo for lo, hi, _ in arg))
            at += size
        return None

    def forward(self, a):
        """(out (*B, L, Ev), p (*B, L, S), lse (*B, L, 1)) of attention node `a`, composed."""
        return _composed(*a.srcs[:3], a.srcs[3] if len(a.srcs) == 4 else None, *a.arg[:2])

    def backward(self, a):
        """(dq, dk, dv) of attention_grad node `a`, composed: dS = P * (dP - rowsum(P * dP))."""
        q, k, v, _, gp = a.srcs[:5]
        scale, causal, _ = a.arg
        out, p, _ = _composed(q, k, v, a.srcs[5] if len(a.srcs) == 6 else None, scale, causal)
        g = remake("slice", (gp,), tuple((0, d, 1) for d in out.shape))
        dv = remake("matmul", (_t(p), g), None)
        dp = remake("matmul", (g, _t(v)), None)
        d = remake("sum", (remake("mul", (p, dp), None),), (p.ndim - 1,))
        ds = remake("mul", (p, remake("sub", (dp, remake("expand", (d,), dp.shape)), None)), None)
        ds = remake("mul", (ds, _const(scale, ds)), None)
        return remake("matmul", (ds, k), None), remake("matmul", (_t(ds), q), None), dv

    def packed(self, a):
        """The packed result of `a` for readers other than the slices `part` maps: parts laid side by side
        along the last axis with `pad` and added."""
        if a.op == "attention":
            out, _, lse = self.forward(a)
            parts = (out, lse)
        else:
            parts = tuple(remake("reshape", (t,), t.shape[:-2] + (t.shape[-2] * t.shape[-1],))
                          for t in self.backward(a))
        total, at, acc = a.shape[-1], 0, None
        for t in parts:
            w = t.shape[-1]
            pads = ((0, 0),) * (t.ndim - 1) + ((at, total - at - w),)
            t = remake("pad", (t,), (pads, 0.0))
            acc = t if acc is None else remake("add", (acc, t), None)
            at += w
        return acc


def _composed(q, k, v, mask, scale, causal):
    """softmax(q kᵀ · scale + mask) v as the frontend composes it: (out, p, lse)."""
    mm = remake("matmul", (q, _t(k)), None)
    x = remake("mul", (mm, _const(scale, mm)), None)
    if causal:
        L, S = x.shape[-2:]
        tril = remake("constarr", (), ConstArray(np.tril(np.ones((L, S), bool))))
        mask = remake("expand", (remake("reshape", (tril,), (1,) * (x.ndim - 2) + (L, S)),), x.shape)
    if mask is not None and mask.dtype.kind == "b":
        x = remake("where", (mask, x, _const(-math.inf, x)), None)
    elif mask is not None:
        x = remake("add", (x, mask), None)
    last = (x.ndim - 1,)
    mx = remake("max", (x,), last)
    e = remake("exp", (remake("sub", (x, remake("expand", (mx,), x.shape)), None),), None)
    z = remake("sum", (e,), last)
    p = remake("div", (e, remake("expand", (z,), x.shape)), None)
    lse = remake("add", (remake("log", (z,), None), mx), None)
    return remake("matmul", (p, v), None), p, lse


def _t(x):
    """x with its last two axes swapped (a free view)."""
    return remake("permute", (x,), tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


def _const(value, like):
    return remake("const", (), (float(value), like.shape, like.dtype))
