"""Lower a Kernel to a Python callable over NumPy: `fn(out, *inputs) -> out`.

One kernel is still several NumPy calls, but its intermediates never reach the
arena: an elementwise kernel (or a reduction over inner axes with its
producers and consumers) runs in blocks of rows of axis 0, each block's
intermediates in small scratch arrays allocated once, so a fused chain reads
its inputs and writes its output once, from cache. Ops on the "spine" (the
chain of single-use values ending at the root: a matmul and its epilogue, a
reduction and the ops after it) write straight into the output with `out=`.
Operands are NumPy views (transpose, broadcast, slice, window views), copied
only where a reshape of a non-contiguous view needs it.
"""
from __future__ import annotations

import math

import numpy as np

from .kernel import Kernel, Ref
from .ops import OPS

CHUNK_ELEMENTS = 1 << 15  # elements per block of a chunked kernel: a few blocks of scratch fit in L2

UFUNCS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "maximum": np.maximum,
          "pow": np.power, "floordiv": np.floor_divide, "mod": np.remainder, "cmplt": np.less,
          "cmpeq": np.equal, "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
          "recip": np.reciprocal, "sin": np.sin, "cos": np.cos, "tanh": np.tanh, "abs": np.abs,
          "sign": np.sign, "floor": np.floor}
OUT_CAPABLE = frozenset(UFUNCS) | {"sum", "max", "matmul"}
ROW_WISE = frozenset({"unary", "binary", "ternary", "cast", "assign"})


def chunk_rows(k: Kernel) -> int:
    """Rows of axis 0 per block, or 0 where the kernel must run on whole arrays."""
    root = k.root
    if root.op == "copy" or not root.shape or math.prod(root.shape) <= CHUNK_ELEMENTS:
        return 0
    n0 = root.shape[0]
    for o in k.ops:
        kind = OPS[o.info.op].kind
        if not o.info.shape or o.info.shape[0] != n0:
            return 0
        if kind not in ROW_WISE and not (kind == "reduce" and 0 not in o.info.arg):
            return 0
        if any(r.kind == "t" and r.chain for r in o.srcs):
            return 0
        if root.op == "assign" and any(r.kind == "in" and r.index == _target_input(k) and r.chain for r in o.srcs):
            return 0
    if k.inplace_of >= 0 and any(r.kind == "in" and r.index == k.inplace_of and r.chain
                                 for o in k.ops for r in o.srcs):
        return 0
    return max(1, CHUNK_ELEMENTS // max(1, math.prod(root.shape[1:])))


def _target_input(k: Kernel) -> int:
    return k.ops[-1].srcs[0].index


def spine(k: Kernel) -> frozenset:
    """Ops that may write their value straight into the output (a chain of single-use values into the root)."""
    if k.out_kind == "target" or k.inplace_of >= 0 or k.root.op == "copy":
        return frozenset()
    uses = [0] * len(k.ops)
    for o in k.ops:
        for r in o.srcs:
            if r.kind == "t":
                uses[r.index] += 1
    out, cur = set(), len(k.ops) - 1
    while True:
        nxt = None
        for r in k.ops[cur].srcs:
            if r.kind == "t" and not r.chain and uses[r.index] == 1:
                info = k.ops[r.index].info
                if info.op in OUT_CAPABLE and info.shape == k.root.shape and info.dtype == k.root.dtype:
                    nxt = r.index
                    break
        if nxt is None or k.ops[cur].info.op == "matmul":  # matmul's out must not alias an operand
            return frozenset(out)
        out.add(nxt)
        cur = nxt


def _apply(a, chain):
    for info in chain:
        a = OPS[info.op].numpy(info, a)
    return a


def _emit(info, args, dst):
    name = info.op
    if name == "copy":
        np.copyto(dst, args[0])
        return dst
    if name == "assign":
        np.copyto(dst, args[1])
        return dst
    if dst is None:
        return OPS[name].numpy(info, *args)
    uf = UFUNCS.get(name)
    if uf is not None:
        uf(*args, out=dst)
    elif name == "sum":
        np.sum(args[0], axis=info.arg, keepdims=True, dtype=info.dtype, out=dst)
    elif name == "max":
        np.max(args[0], axis=info.arg, keepdims=True, out=dst)
    elif name == "matmul":
        np.matmul(args[0], args[1], out=dst)
    elif name == "cast":
        np.copyto(dst, args[0], casting="unsafe")
    else:
        np.copyto(dst, OPS[name].numpy(info, *args))
    return dst


def lower(k: Kernel) -> None:
    """Decide blocking and the spine, then set `k.fn` and `k.code`."""
    k.chunk_rows = chunk_rows(k)
    k.spine = spine(k)
    rows = k.chunk_rows
    last = len(k.ops) - 1
    writes_out = set(k.spine) | {last}
    ext = sorted({r for o in k.ops for r in o.srcs if r.kind != "t"}, key=lambda r: (r.kind, r.index, len(r.chain)))
    consts = k.consts
    ops = [(o.info, o.srcs) for o in k.ops]
    scratch_shapes = {i: ((rows,) + o.info.shape[1:], o.info.dtype) for i, o in enumerate(k.ops)
                      if rows and i not in writes_out}
    k.scratch_bytes = sum(math.prod(s) * d.itemsize for s, d in scratch_shapes.values()) if rows else \
        sum(math.prod(o.info.shape) * o.info.dtype.itemsize for i, o in enumerate(k.ops) if i not in writes_out)
    scratch = {}

    def body(views, out, m):
        vals = [None] * len(ops)
        for i, (info, refs) in enumerate(ops):
            args = [views[r] if r.kind != "t" else (_apply(vals[r.index], r.chain) if r.chain else vals[r.index])
                    for r in refs]
            if i in writes_out:
                dst = out
            elif m is not None:
                dst = scratch[i][:m]
            else:
                dst = None
            vals[i] = _emit(info, args, dst)

    def fn(out, *inputs):
        views = {r: _apply(inputs[r.index] if r.kind == "in" else consts[r.index], r.chain) for r in ext}
        if not rows:
            body(views, out, None)
            return out
        if not scratch:
            for i, (shape, dtype) in scratch_shapes.items():
                scratch[i] = np.empty(shape, dtype)
        n = out.shape[0]
        for r0 in range(0, n, rows):
            r1 = min(n, r0 + rows)
            body({r: v[r0:r1] for r, v in views.items()}, out[r0:r1], r1 - r0)
        return out

    k.fn = fn
    k.code = _code(k, writes_out)


def _name(r: Ref) -> str:
    base = {"in": "in", "c": "const", "t": "t"}[r.kind] + str(r.index)
    for info in r.chain:
        base = f"{info.op}({base}, {info.arg!r})"
    return base


def _code(k: Kernel, writes_out) -> list:
    head = f"kernel k{k.index}: " + (f"for rows in blocks of {k.chunk_rows} of axis 0:" if k.chunk_rows else
                                     "whole arrays:")
    lines = [head]
    for i, o in enumerate(k.ops):
        dst = "out" if i in writes_out else (f"scratch{i}" if k.chunk_rows else f"t{i}")
        args = ", ".join(_name(r) for r in o.srcs)
        arg = "" if o.info.arg is None or o.info.op in ("assign",) else f" arg={o.info.arg!r}"
        lines.append(f"  t{i} = {dst} <- np.{o.info.op}({args}){arg}  # {o.info.dtype}{list(o.info.shape)}")
    return lines
