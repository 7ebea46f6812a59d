"""How the NumPy backend runs one kernel: which ops write the output directly, and whether it runs in blocks.

Blocks: a kernel whose ops make big intermediates runs its ops in blocks of
rows of axis 0, so each intermediate is a small scratch array that stays in
cache. In a kernel with a reduction, the blocks cover the reduction and what
it reads (the "loop"); the ops after it work on the reduced shape and run
once, after the blocks. A row kernel (passes/rowfuse.py) runs ALL its ops
per block: its reductions (over trailing axes, keepdims) and the ops that
read them back. A kernel whose blocks would hold one op runs on whole
arrays: it passes over its operands once either way, and blocks would only
add calls.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .kernel import Kernel
from .ops import GROUPS, OPS

CHUNK_ELEMENTS = 1 << 16  # elements per block of each intermediate: a few blocks fit in L2 together

UFUNCS = {name: d.ufunc for name, d in OPS.items() if d.ufunc is not None}  # called with out=
OUT_CAPABLE = frozenset(UFUNCS) | GROUPS.reduce | GROUPS.matmul
ROW_WISE = GROUPS.elementwise | GROUPS.assign  # one row of the output reads one row of each operand


@dataclass(frozen=True)
class Blocks:
    rows: int  # rows of axis 0 per block
    n0: int  # rows in all
    loop: frozenset  # op indices that run per block; the others run once, after the blocks
    ranges: tuple  # (r0, r1) of each block


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


def assigned_in_place(k: Kernel) -> int:
    """In a kernel ending in an assign: the op whose value is assigned, where it may write straight into the
    target (a ufunc, and every read of the target is at the output's own index: it reads each element before
    writing it), else -1. Every other op feeds that op, so none reads the target after it."""
    root = k.ops[-1]
    if root.info.op != "assign":
        return -1
    target, value = root.srcs
    if value.kind != "t" or value.chain or target.kind != "in":
        return -1
    info = k.ops[value.index].info
    if info.op not in UFUNCS or info.shape != root.info.shape or info.dtype != root.info.dtype:
        return -1
    if any(r.kind == "in" and r.index == target.index and r.chain for o in k.ops for r in o.srcs):
        return -1
    return value.index


def products(k: Kernel, small: int) -> dict:
    """Sums of a product over more than `small` elements each: {sum op index: mul op index}. Such a sum is one
    einsum call, which multiplies and adds in one pass without the product array."""
    uses = [0] * len(k.ops)
    for o in k.ops:
        for r in o.srcs:
            if r.kind == "t":
                uses[r.index] += 1
    out = {}
    for i, o in enumerate(k.ops):
        if o.info.op != "sum" or o.info.dtype.kind != "f" or o.srcs[0].kind != "t" or o.srcs[0].chain:
            continue
        m = k.ops[o.srcs[0].index].info
        if m.op == "mul" and uses[o.srcs[0].index] == 1 and m.dtype == o.info.dtype and \
                math.prod(m.shape[ax] for ax in o.info.arg) > small:
            out[i] = o.srcs[0].index
    return out


def _ancestors(k: Kernel, i: int) -> set:
    seen, todo = {i}, [i]
    while todo:
        for r in k.ops[todo.pop()].srcs:
            if r.kind == "t" and r.index not in seen:
                seen.add(r.index)
                todo.append(r.index)
    return seen


def row_preserving(chain, n0: int) -> bool:
    """Whether a chain of views maps rows r0:r1 of its source to rows r0:r1 of its result (so it can be applied
    to one block)."""
    for info in chain:
        op, arg = info.op, info.arg
        if not info.shape or info.shape[0] != n0:
            return False
        if op == "permute" and arg[0] != 0 or op == "slice" and tuple(arg[0]) != (0, n0, 1):
            return False
        if op not in GROUPS.views & GROUPS.movement:  # a window (unfold) mixes rows
            return False
    return True


def plan_blocks(k: Kernel, elided=frozenset()) -> "Blocks | None":
    """The blocks `k` runs in, or None where it runs on whole arrays. `elided`: ops computed inside another
    (see `products`)."""
    ops = k.ops
    if k.root.op == "copy" or not k.root.shape or any(OPS.get(o.info.op) is None for o in ops):
        return None
    cores = [i for i, o in enumerate(ops) if o.info.op in GROUPS.reduce]
    if len(cores) > 1 and not k.row_axes:
        return None
    every = not cores or k.row_axes  # a row kernel: every op per block, a block's rows are whole rows
    loop = (set(range(len(ops))) if every else _ancestors(k, cores[0])) - set(elided)
    if len(loop) < 2:
        return None  # one pass over the big arrays whatever the order
    if max(math.prod(ops[i].info.shape) for i in loop) <= CHUNK_ELEMENTS:
        return None
    n0 = ops[min(loop)].info.shape[0] if ops[min(loop)].info.shape else 0
    target = ops[-1].srcs[0].index if k.root.op == "assign" else -1
    for i in loop:
        info = ops[i].info
        if not info.shape or info.shape[0] != n0:
            return None
        if info.op not in ROW_WISE and not (info.op in GROUPS.reduce and 0 not in info.arg):
            return None
        for r in ops[i].srcs:
            if r.kind == "t" and r.chain and not row_preserving(r.chain, n0):
                return None
    for o in ops:  # a buffer written by blocks must not be read through a view (other rows, already written)
        for r in o.srcs:
            if r.kind == "in" and r.chain and r.index in (target, k.inplace_of):
                return None
    width = max(math.prod(ops[i].info.shape[1:]) for i in loop)
    rows = max(1, CHUNK_ELEMENTS // max(1, width))
    if rows >= n0:
        return None
    return Blocks(rows, n0, frozenset(loop), tuple((r0, min(n0, r0 + rows)) for r0 in range(0, n0, rows)))
