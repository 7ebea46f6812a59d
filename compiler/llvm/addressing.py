"""Operand addressing: where an element of a kernel's operand lives, as index arithmetic, loads and stores.

An operand (kernel.Ref) is an input, an embedded constant or an earlier op of the same kernel, seen
through a chain of movement ops. Operands are read where they live: for an array in the table, the
longest prefix of the chain that is a strided View (kernel.View: stride 0 for a broadcast, permuted
strides, slice offsets, unfold windows) is one affine offset, and the rest of the chain is undone op by op
(`unmove`): a reshape no View expresses is linearized and split again by division by constants. Index
arithmetic folds Python ints, so what is known at compile time costs no instructions.

With TINYTORCH_CHECK_BOUNDS=1 every address is compared with its array's element count, and the stage
returns 1 + the array's table index where one falls outside.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir

from ..kernel import View, chain_view, contiguous_strides
from . import mathfns as M
from . import scalar
from .stage import NotLowerable


def is_int(v) -> bool:
    """An index known at compile time (a Python int), not an LLVM value."""
    return isinstance(v, (int, np.integer))


class Addressing:
    def __init__(self, fn, k, place, check: bool):
        self.fn, self.b, self.k, self.place, self.check = fn, fn.b, k, place, check

    # ---- index arithmetic (Python ints fold)

    def add(self, a, c):
        if is_int(a) and is_int(c):
            return int(a) + int(c)
        if is_int(c) and c == 0:
            return a
        if is_int(a) and a == 0:
            return c
        return self.b.add(self.i64(a), self.i64(c))

    def mul(self, a, c: int):
        if is_int(a):
            return int(a) * c
        return a if c == 1 else 0 if c == 0 else self.b.mul(a, self.fn.extent(c))

    def i64(self, v):
        return self.fn.extent(v) if is_int(v) else v

    def affine(self, idx, strides, offset=0):
        acc = offset
        for i, s in zip(idx, strides):
            acc = self.add(acc, self.mul(i, s))
        return acc

    # ---- operands

    def operand(self, r):
        """What operand `r` names (an op's Info, an input's base Info or a constant array): shape, dtype."""
        if r.kind == "t":
            return self.k.ops[r.index].info
        if r.kind == "in":
            return self.k.inputs[r.index].base
        return self.k.consts[r.index]

    def shape_of(self, r):
        return self.operand(r).shape

    def dtype_of(self, r):
        return self.operand(r).dtype

    def final_shape(self, r):
        """The shape operand `r` is read at: after its chain."""
        return r.chain[-1].shape if r.chain else self.shape_of(r)

    def is_embedded(self, r) -> bool:
        """A constant every element of which is one value: code, not memory."""
        return r.kind == "c" and self.place.consts[r.index] is None

    def view(self, r):
        """Operand `r` as a strided View of the array it reads, or None (a fused value, an embedded scalar,
        a chain with a movement no View expresses)."""
        if r.kind == "t" or self.is_embedded(r):
            return None
        return chain_view(self.shape_of(r), r.chain)

    def view_prefix(self, r):
        """The View of the array `r` reads after the longest prefix of its chain that has one, and that
        prefix's length."""
        view, n = View.contiguous(self.shape_of(r)), 0
        for c in r.chain:
            nxt = view.apply(c)
            if nxt is None:
                break
            view, n = nxt, n + 1
        return view, n

    def read(self, r, idx):
        """Input or constant `r` at index `idx` (over its shape after the chain)."""
        if self.is_embedded(r):
            c = self.k.consts[r.index]
            return scalar.constant(c.reshape(-1)[0] if c.size else 0, c.dtype)
        view, n = self.view_prefix(r)
        idx = self.source_index(r, idx, n)
        t = self.place.inputs[r.index] if r.kind == "in" else self.place.consts[r.index]
        return self.load(t, self.affine(idx, view.strides, view.offset))

    def source_index(self, r, idx, start=0):
        """An index into the operand `r.chain[start]` moves, from an index into r's final value: the chain's
        ops from its end back to `start` undone."""
        shapes = [tuple(self.shape_of(r))] + [tuple(c.shape) for c in r.chain]
        for c, src in zip(reversed(r.chain[start:]), reversed(shapes[start:-1])):
            idx = self.unmove(c, src, idx)
        return idx

    def unmove(self, info, src, idx):
        """Index into a movement op's source, from an index into its result."""
        op, arg = info.op, info.arg
        if op == "detach":
            return idx
        if op == "permute":
            out = [0] * len(idx)
            for k, a in enumerate(arg):
                out[a] = idx[k]
            return out
        if op == "expand":
            return [0 if s == 1 else i for s, i in zip(src, idx)]
        if op == "slice":
            return [self.add(self.mul(i, step), start) for i, (start, _, step) in zip(idx, arg)]
        if op == "unfold":
            (_, _), (sh, sw), (dh, dw) = arg
            lead = list(idx[:-4])
            i, j, oh, ow = idx[-4:]
            return lead + [self.add(self.mul(oh, sh), self.mul(i, dh)), self.add(self.mul(ow, sw), self.mul(j, dw))]
        if op == "reshape":
            lin = self.affine(idx, contiguous_strides(info.shape))
            out = []
            for d, (n, st) in enumerate(zip(src, contiguous_strides(src))):
                if n == 1:
                    out.append(0)
                    continue
                q = lin // st if is_int(lin) else (lin if st == 1 else self.b.udiv(lin, self.fn.extent(st)))
                if d > 0:
                    q = q % n if is_int(q) else self.b.urem(q, self.fn.extent(n))
                out.append(q)
            return out
        raise NotLowerable(f"movement op {op!r} in an operand chain")

    # ---- memory

    def address(self, t, offset):
        """A pointer to element `offset` of table entry t (checked against its size with bounds checks on)."""
        off = self.i64(offset)
        if self.check:
            self.fn.check_below(off, self.fn.size(t), t + 1, "in_bounds")
        return self.b.gep(self.fn.pointer(t), [off])

    def load(self, t, offset):
        dtype = self.place.dtypes[t]
        return scalar.load_convert(self.b, self.b.load(self.address(t, offset)), dtype)

    def store(self, t, offset, value):
        dtype = self.place.dtypes[t]
        self.b.store(scalar.store_convert(self.b, value, dtype), self.address(t, offset))
