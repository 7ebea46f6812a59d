"""The reduce stage: a sum or max with its elementwise producers and the ops after it, in one loop nest.

Kept dims outside, reduced dims inside, one accumulator (a stack slot SROA turns into a register); the
ops after the reduction are evaluated once per output element, the reduced value standing in for the
reduction. Where kept dims follow the reduced ones, as in a bias gradient or a pooling window, a row of
accumulators over those trailing kept dims instead, each reduced index adding a whole row into it, so the
innermost loop runs over kept, unit-stride elements.
"""
from __future__ import annotations

import math

from llvmlite import ir

from ..kernel import contiguous_strides
from . import mathfns as M
from . import scalar
from .emitter import StageEmitter
from .loops import merge_runs
from .reduction import combiner, identity

MIN_ROW_WIDTH = 8  # a reduction over outer axes loops rows at least this long, else one output at a time
MAX_ROW_ACC = 1 << 13  # accumulators on the stack (64 KB of float64) of a reduction over outer axes


class ReduceStage(StageEmitter):
    def emit_body(self) -> None:
        k, st, b = self.k, self.st, self.b
        core = k.ops[st.core]
        axes = core.info.arg
        in_shape = self.mem.final_shape(core.srcs[0])
        out_shape = core.info.shape
        dtype = core.info.dtype
        kept = [d for d, n in enumerate(in_shape) if n != 1 and d not in axes]
        red = [d for d in axes if in_shape[d] != 1]
        combine = combiner(b, core.info.op, dtype)
        strides = contiguous_strides(k.ops[st.root].info.shape)
        trailing = [d for d in kept if not red or d > max(red)]
        if trailing and math.prod(in_shape[d] for d in trailing) <= MAX_ROW_ACC:
            loop_shape, rows = self._flat_rows(core, in_shape, trailing)
            if loop_shape[rows[-1]] >= MIN_ROW_WIDTH:
                self._reduce_rows(core, loop_shape, [d for d in kept if d not in trailing], red, rows, combine,
                                  strides)
                return
        slot = self.fn.entry.alloca(scalar.reg_type(dtype), name="acc")
        red_shape, red = self._merge_runs(core.srcs[0], in_shape, red)

        def per_out(env):
            b.store(identity(core.info.op, dtype), slot)

            def per_in(env2):
                full = [env2.get(d, env.get(d, 0)) for d in range(len(in_shape))]
                b.store(combine(b.load(slot), self.values.ref(core.srcs[0], full)), slot)
            self.loops.nest(red, red_shape, per_in)
            with self.values.reduced(st.core, b.load(slot)):
                idx = [env.get(d, 0) for d in range(len(out_shape))]
                self.store_value(st.root, idx, strides)
        st.extent = self.loops.parallel(kept, in_shape, per_out, inner_loop=False)
        st.work = math.prod(in_shape)

    def _flat_rows(self, core, in_shape, trailing):
        """The loop shape and axes of a row reduction: with no epilogue and a strided source, trailing axes
        that lie in memory as one run are looped as one (the earlier axes' index 0, the last's the whole
        offset), so a 14 x 14 window is one loop of 196."""
        if self.st.root != self.st.core:
            return in_shape, trailing
        return self._merge_runs(core.srcs[0], in_shape, trailing)

    def _merge_runs(self, r, shape, dims):
        """Adjacent axes of `dims` along which operand `r` (a View) is one run in memory, looped as one: the
        loop shape (each run's extent on its last axis, 1 on the others) and the axes left to loop."""
        view = self.mem.view(r)
        if view is None:
            return shape, dims
        return merge_runs([view], shape, dims)

    def _reduce_rows(self, core, in_shape, lead, red, trailing, combine, strides):
        """A reduction over axes outside some kept ones: per index of the leading kept axes, a vector of
        accumulators over the trailing kept axes, each reduced index adding a whole contiguous row into it."""
        st, b, dtype = self.st, self.b, core.info.dtype
        width = math.prod(in_shape[d] for d in trailing)
        vec = self.fn.entry.alloca(scalar.reg_type(dtype), size=ir.Constant(M.I64, width), name="acc_row")
        tstrides = dict(zip(trailing, contiguous_strides([in_shape[d] for d in trailing])))

        def slot(env):
            return b.gep(vec, [self.mem.i64(self.mem.affine([env[d] for d in trailing],
                                                            [tstrides[d] for d in trailing]))])

        def per_lead(env):
            self.loops.nest(trailing, in_shape, lambda e: b.store(identity(core.info.op, dtype), slot(e)))

            def per_red(env2):
                def add_row(env3):
                    e = {**env, **env2, **env3}
                    full = [e.get(d, 0) for d in range(len(in_shape))]
                    p = slot(e)
                    b.store(combine(b.load(p), self.values.ref(core.srcs[0], full)), p)
                self.loops.nest(trailing, in_shape, add_row)
            self.loops.nest(red, in_shape, per_red)

            def store(env2):
                e = {**env, **env2}
                with self.values.reduced(st.core, b.load(slot(e))):
                    idx = [e.get(d, 0) for d in range(len(core.info.shape))]
                    self.store_value(st.root, idx, strides)
            self.loops.nest(trailing, in_shape, store)
        st.extent = self.loops.parallel(lead, in_shape, per_lead, inner_loop=False)
        st.work = math.prod(in_shape)
