"""Loop nests: the counted loop every stage is made of, nests of them over a shape's axes, and which axes
can be looped as one.

The counted loop `for i in [lo, hi): body(i)` is a guarded do-while (test once before entering, then at
the bottom), the shape LLVM's loop vectorizer and unroller recognise best. A stage's outermost loop runs
over [start, stop) of its function, so parallel.py can split it across threads; one too short to share
evenly is merged with the next. Innermost loops stay unit-stride where they can: adjacent axes that every
operand reads as one run in memory are looped as one (`merge_runs`).
"""
from __future__ import annotations

import math

from llvmlite import ir

from ..symbolic import Sym
from . import mathfns as M

MIN_OUTER_EXTENT = 16  # a shorter outermost loop is merged with the next, so threads get even shares


def counted_loop(b: ir.IRBuilder, fn: ir.Function, lo, hi, body) -> None:
    # BEGIN EXERCISE m14.counted_loop
    pre = b.block
    header = fn.append_basic_block("loop")
    exit_ = fn.append_basic_block("loop_exit")
    b.cbranch(b.icmp_signed("<", lo, hi), header, exit_)
    b.position_at_end(header)
    i = b.phi(M.I64, name="i")
    i.add_incoming(lo, pre)
    body(i)
    nxt = b.add(i, ir.Constant(M.I64, 1))
    i.add_incoming(nxt, b.block)
    b.cbranch(b.icmp_signed("<", nxt, hi), header, exit_)
    b.position_at_end(exit_)
    # END EXERCISE m14.counted_loop


def merge_runs(views, shape, dims):
    """Adjacent axes of `dims` along which every view is one run in memory, looped as one: the loop shape
    (each run's extent on its last axis, 1 on the others) and the axes left to loop."""
    if not dims:
        return tuple(shape), dims
    loop, runs = list(shape), [dims[0]]
    for d in dims[1:]:
        prev = runs[-1]
        if d == prev + 1 and all(v.strides[prev] == v.strides[d] * loop[d] for v in views):
            loop[d] *= loop[prev]
            loop[prev] = 1
            runs[-1] = d
        else:
            runs.append(d)
    return tuple(loop), runs


class LoopNest:
    """Loops over axes of a shape inside one stage function. `scope()` wraps each innermost body: the
    values it computes are forgotten after it (values.Values.scope)."""

    def __init__(self, fn, scope):
        self.fn, self.b, self.scope = fn, fn.b, scope

    def loop(self, lo, hi, body) -> None:
        counted_loop(self.b, self.fn.function, lo, hi, body)

    def nest(self, dims, shape, body) -> None:
        """Loops over the axes `dims` of `shape`, each over its whole extent; body(env) gets a dict axis ->
        index value."""
        self._loops(dims, shape, body, outer=False)

    def parallel(self, dims, shape, body, inner_loop=True) -> int:
        """`nest`, the first loop over the function's [start, stop): returns that loop's extent. With no
        axes, the body runs once where start < stop. A short outer loop is merged with the next ones, all of
        them unless `inner_loop` (the body loops no further itself)."""
        if not dims:
            b = self.b
            run = self.fn.block("once")
            done = self.fn.block("done")
            b.cbranch(b.icmp_signed("<", self.fn.start, self.fn.stop), run, done)
            b.position_at_end(run)
            self._loops(dims, shape, body, outer=True)
            b.branch(done)
            b.position_at_end(done)
            return 1
        if len(dims) > 1 and not isinstance(shape[dims[0]], Sym) and shape[dims[0]] < MIN_OUTER_EXTENT:
            return self._merged_outer(dims, shape, body, len(dims) - 1 if inner_loop else len(dims))
        self._loops(dims, shape, body, outer=True)
        return shape[dims[0]]

    def _loops(self, dims, shape, body, outer):
        # BEGIN EXERCISE m14.loop_nest
        def rec(i, env):
            if i == len(dims):
                with self.scope():
                    body(env)
                return
            d = dims[i]
            lo, hi = ((self.fn.start, self.fn.stop) if outer and i == 0
                      else (ir.Constant(M.I64, 0), self.fn.extent(shape[d])))
            self.loop(lo, hi, lambda v: rec(i + 1, {**env, d: v}))
        rec(0, {})
        # END EXERCISE m14.loop_nest

    def _merged_outer(self, dims, shape, body, most):
        """A parallel loop too short to split evenly over threads: one loop over up to `most` leading dims
        together, each index recovered by division."""
        m = 1
        while m < most and math.prod(shape[d] for d in dims[:m]) < MIN_OUTER_EXTENT:
            m += 1
        lead, rest = dims[:m], dims[m:]
        extent = math.prod(shape[d] for d in lead)

        def outer(i):
            env, q = {}, i
            for d in reversed(lead):
                n = self.fn.extent(shape[d])
                env[d] = q if d == lead[0] else self.b.urem(q, n)
                if d != lead[0]:
                    q = self.b.udiv(q, n)
            self.nest(rest, shape, lambda e: body({**env, **e}))
        with self.scope():
            self.loop(self.fn.start, self.fn.stop, outer)
        return extent
