"""The reduce stage: a sum or max with its elementwise producers and the ops after it, in one loop nest.

Kept dims outside, reduced dims inside, one accumulator (a stack slot SROA turns into a register); the
ops after the reduction are evaluated once per output element, the reduced value standing in for the
reduction. Where kept dims follow the reduced ones, as in a bias gradient or a pooling window, a row of
accumulators over those trailing kept dims instead, each reduced index adding a whole row into it, so the
innermost loop runs over kept, unit-stride elements. Where reduced dims lie on both sides of the kept ones
(BatchNorm's statistics over N, H and W), the input is walked in memory order into a vector of accumulators
over the kept dims (`_reduce_in_order`).
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
from .values import POINTWISE_OPS

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
        inner = [d for d in red if d > max(kept, default=len(in_shape))]
        if inner and min(red) < max(kept) and math.prod(in_shape[d] for d in kept) <= MAX_ROW_ACC:
            self._reduce_in_order(core, in_shape, kept, inner, combine, strides)
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
        """Adjacent axes of `dims` along which operand `r` is one run in memory, looped as one: the loop
        shape (each run's extent on its last axis, 1 on the others) and the axes left to loop. A fused value
        is one run where every array its elementwise ops read at its index is (sum((x - mean) ** 2) over
        (N, H, W) loops H and W as one)."""
        views = self._source_views(r, tuple(shape), set())
        if views is None:
            return shape, dims
        return merge_runs(views, shape, dims)

    def _source_views(self, r, shape, seen):
        """The Views of the arrays operand `r` reads, through this kernel's pointwise ops of `shape` that
        compute it at its own index; None where a read has no View."""
        if self.mem.is_embedded(r):
            return []
        if r.kind != "t" or r.chain:
            view = self.mem.view(r)
            return None if view is None else [view]
        if r.index in seen:
            return []
        seen.add(r.index)
        o = self.k.ops[r.index]
        if o.info.op not in POINTWISE_OPS or o.info.shape != shape:
            return None
        views = []
        for s in o.srcs:
            more = self._source_views(s, shape, seen)
            if more is None:
                return None
            views += more
        return views

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

    def _reduce_in_order(self, core, in_shape, kept, inner, combine, strides):
        """A reduction over axes on both sides of the kept ones (BatchNorm's statistics: (N, C, H, W) over
        N, H and W): the input is walked in memory order, each run of the reduced axes after the kept ones
        summed into its kept index's accumulator, so a thread streams through memory instead of walking it
        with a stride once per output element. The first kept axis is the parallel one: per index of the
        axes before it, a thread reads its whole share of the rest as one block."""
        st, b, dtype = self.st, self.b, core.info.dtype
        loop_shape, inner = self._merge_runs(core.srcs[0], in_shape, inner)
        vec = self.fn.entry.alloca(scalar.reg_type(dtype), size=ir.Constant(M.I64, math.prod(in_shape[d] for d in kept)),
                                   name="acc_kept")
        kstrides = contiguous_strides([in_shape[d] for d in kept])
        first = kept[0]

        def slot(env):
            return b.gep(vec, [self.mem.i64(self.mem.affine([env[d] for d in kept], kstrides))])

        def over(dims, body, env=None):
            """Loops over `dims` in order, the first kept axis over the function's [start, stop)."""
            env = env or {}
            if not dims:
                with self.values.scope():
                    body(env)
                return
            d, rest = dims[0], dims[1:]
            lo, hi = ((self.fn.start, self.fn.stop) if d == first
                      else (ir.Constant(M.I64, 0), ir.Constant(M.I64, loop_shape[d])))
            self.loops.loop(lo, hi, lambda v: over(rest, body, {**env, d: v}))

        over(kept, lambda e: b.store(identity(core.info.op, dtype), slot(e)))
        outer = [d for d in range(len(in_shape)) if loop_shape[d] != 1 and d not in inner]

        def add_run(env):
            p = slot(env)

            def add(env2):
                e = {**env, **env2}
                full = [e.get(d, 0) for d in range(len(in_shape))]
                b.store(combine(b.load(p), self.values.ref(core.srcs[0], full)), p)
            self.loops.nest(inner, loop_shape, add)
        over(outer, add_run)

        def store(env):
            with self.values.reduced(st.core, b.load(slot(env))):
                self.store_value(st.root, [env.get(d, 0) for d in range(len(core.info.shape))], strides)
        over(kept, store)
        st.extent = in_shape[first]
        st.work = math.prod(in_shape)
