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
        """scatter_add / fold: zero the output, then add each source element at its computed index."""
        o = self.k.ops[self.st.root]
        info, b, mem = o.info, self.b, self.mem
        out_shape, dtype, dst = info.shape, info.dtype, self.st.dst
        ostr = contiguous_strides(out_shape)
        zero = scalar.constant(0, dtype)
        n_out = math.prod(out_shape)

        def zero_all(_):
            self.loops.loop(ir.Constant(M.I64, 0), ir.Constant(M.I64, n_out), lambda i: mem.store(dst, i, zero))

        def add_at(offset, v):
            old = mem.load(dst, offset)
            mem.store(dst, offset, ops.OPS["add"].llvm(b, [old, v], dtype, dtype))

        if info.op == "scatter_add":
            axis, size = info.arg
            ix, src = o.srcs
            shape = mem.final_shape(src)
            self.loops.parallel([], (), zero_all)

            def body(env):
                idx = [env.get(d, 0) for d in range(len(shape))]
                tgt = list(idx)
                tgt[axis] = self.values.index(ix, idx, size)
                add_at(mem.affine(tgt, ostr), self.values.ref(src, idx))
            self.loops.nest([d for d, n in enumerate(shape) if n != 1], shape, body)
            self.st.extent, self.st.work = 1, math.prod(shape) + n_out
            return
        if info.op != "fold":
            raise NotLowerable(f"accumulate stage for {info.op!r}")
        (kh, kw), (sh, sw), (dh, dw), _ = info.arg
        (x,) = o.srcs
        shape = mem.final_shape(x)
        lead = len(shape) - 4
        per_row = math.prod(out_shape[1:]) if lead else n_out

        def block(env):
            base = mem.mul(env.get(0, 0), ostr[0]) if lead else 0
            self.loops.loop(ir.Constant(M.I64, 0), ir.Constant(M.I64, per_row),
                            lambda i: mem.store(dst, mem.add(base, i), zero))

            def body(env2):
                idx = [env2.get(d, env.get(d, 0)) for d in range(len(shape))]
                i, j, oh, ow = idx[-4:]
                tgt = idx[:-4] + [mem.add(mem.mul(oh, sh), mem.mul(i, dh)), mem.add(mem.mul(ow, sw), mem.mul(j, dw))]
                add_at(mem.affine(tgt, ostr), self.values.ref(x, idx))
            inner = [d for d in range(1 if lead else 0, len(shape)) if shape[d] != 1]
            self.loops.nest(self._memory_order(x, inner), shape, body)
        outer_dims = [0] if lead and shape[0] != 1 else []
        self.st.extent = self.loops.parallel(outer_dims, shape, block)
        self.st.work = math.prod(shape) + n_out

    def _memory_order(self, r, dims):
        """`dims` ordered as operand `r` lies in memory (largest stride first), where its chain is a View:
        the reads of a fold then run through its source in order, the writes landing in a small output."""
        view = self.mem.view(r)
        return dims if view is None else sorted(dims, key=lambda d: -abs(view.strides[d]))
