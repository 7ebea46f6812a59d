"""The accumulate stage: scatter_add and fold, which add each source element at a computed output index.

It zeroes the output, then runs one serial read-modify-write loop (two source elements may land on the
same output element, so the loop is never split across threads; only a fold's leading axis is, each
index owning its own output row). A scatter_add's index is checked: out of range, the stage returns
INDEX_ERROR. A fold walks its source in memory order, its writes landing in a small output.
"""
from __future__ import annotations

import math

from llvmlite import ir

from .. import ops
from ..kernel import contiguous_strides
from . import mathfns as M
from . import scalar
from .emitter import StageEmitter
from .stage import NotLowerable


class AccumulateStage(StageEmitter):
    def emit_body(self) -> None:
        op = self.k.ops[self.st.root].info.op
        if op == "scatter_add":
            self._scatter_add()
        elif op == "fold":
            self._fold()
        else:
            raise NotLowerable(f"accumulate stage for {op!r}")

    def _scatter_add(self) -> None:
        o = self.k.ops[self.st.root]
        (axis, size), (ix, src) = o.info.arg, o.srcs
        shape = self.mem.final_shape(src)
        ostr = contiguous_strides(o.info.shape)
        n_out = math.prod(o.info.shape)
        self.loops.parallel([], (), lambda _: self._zero(0, n_out))

        def body(env):
            idx = [env.get(d, 0) for d in range(len(shape))]
            tgt = list(idx)
            tgt[axis] = self.values.index(ix, idx, size)
            self._add_at(self.mem.affine(tgt, ostr), self.values.ref(src, idx))
        self.loops.nest([d for d, n in enumerate(shape) if n != 1], shape, body)
        self.st.extent, self.st.work = 1, math.prod(shape) + n_out

    def _fold(self) -> None:
        """Windows [..., kh, kw, oh, ow] added back into the image: per image (the parallel loop where there
        is a leading axis) zero its output, then add every window element at its pixel."""
        o, mem = self.k.ops[self.st.root], self.mem
        (_, _), (sh, sw), (dh, dw), _ = o.info.arg
        (x,) = o.srcs
        shape = mem.final_shape(x)
        ostr = contiguous_strides(o.info.shape)
        lead = len(shape) - 4
        per_image = math.prod(o.info.shape[1:]) if lead else math.prod(o.info.shape)

        def image(env):
            self._zero(mem.mul(env.get(0, 0), ostr[0]) if lead else 0, per_image)

            def body(env2):
                idx = [env2.get(d, env.get(d, 0)) for d in range(len(shape))]
                i, j, oh, ow = idx[-4:]
                tgt = idx[:-4] + [mem.add(mem.mul(oh, sh), mem.mul(i, dh)), mem.add(mem.mul(ow, sw), mem.mul(j, dw))]
                self._add_at(mem.affine(tgt, ostr), self.values.ref(x, idx))
            inner = [d for d in range(1 if lead else 0, len(shape)) if shape[d] != 1]
            self.loops.nest(self._memory_order(x, inner), shape, body)
        outer_dims = [0] if lead and shape[0] != 1 else []
        self.st.extent = self.loops.parallel(outer_dims, shape, image)
        self.st.work = math.prod(shape) + math.prod(o.info.shape)

    def _zero(self, base, n: int) -> None:
        """The output's elements [base, base + n) = 0, in one loop."""
        zero = scalar.constant(0, self.k.ops[self.st.root].info.dtype)
        self.loops.loop(ir.Constant(M.I64, 0), self.fn.extent(n),
                        lambda i: self.mem.store(self.st.dst, self.mem.add(base, i), zero))

    def _add_at(self, offset, value) -> None:
        """The output's element at `offset` += value."""
        dtype = self.k.ops[self.st.root].info.dtype
        old = self.mem.load(self.st.dst, offset)
        self.mem.store(self.st.dst, offset, ops.OPS["add"].llvm(self.b, [old, value], dtype, dtype))

    def _memory_order(self, r, dims):
        """`dims` ordered as operand `r` lies in memory (largest stride first), where its chain is a View:
        the reads of a fold then run through its source in order, the writes landing in a small output."""
        view = self.mem.view(r)
        return dims if view is None else sorted(dims, key=lambda d: -abs(view.strides[d]))
