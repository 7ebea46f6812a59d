"""The pointwise stage: one loop nest over the stored value's shape, storing the root at each index.

It serves elementwise chains, copies and assigns, pad, gather, arange, and a kernel's epilogue after a
materialized reduction or matmul. Adjacent axes along which every operand is one run in memory are looped
as one (a [16, 64, 10, 10] copy loops rows of 100, not of 10), so the vectorizer sees long loops.
"""
from __future__ import annotations

import math

from ..kernel import contiguous_strides
from .emitter import StageEmitter
from .loops import merge_runs
from .values import POINTWISE_OPS


class PointwiseStage(StageEmitter):
    def emit_body(self) -> None:
        shape = self.k.ops[self.st.root].info.shape
        dims = [d for d, n in enumerate(shape) if n != 1]
        strides = contiguous_strides(shape)
        loop_shape, dims = self._merge_elementwise(shape, dims)

        def body(env):
            idx = [env.get(d, 0) for d in range(len(shape))]
            self.store_value(self.st.root, idx, strides)
        self.st.extent = self.loops.parallel(dims, loop_shape, body)
        self.st.work = math.prod(shape)

    def _merge_elementwise(self, shape, dims):
        """Adjacent axes along which every operand of a purely elementwise stage is one run in memory,
        looped as one. The loop shape and axes."""
        views = []
        for j in self._stage_ops():
            o = self.k.ops[j]
            if j in self.st.materialized:
                continue
            if o.info.op not in POINTWISE_OPS or o.info.shape != tuple(shape):
                return shape, dims
            for r in o.srcs:
                if r.kind == "t" and not r.chain:
                    continue
                if self.mem.is_embedded(r):
                    continue
                v = self.mem.view(r)
                if v is None:
                    return shape, dims
                views.append(v)
        return merge_runs(views, shape, dims)

    def _stage_ops(self):
        """Indices of the kernel's ops this stage evaluates: the root and what it reads, up to materialized
        values."""
        seen, todo = set(), [self.st.root]
        while todo:
            j = todo.pop()
            if j in seen:
                continue
            seen.add(j)
            if j in self.st.materialized:
                continue
            todo += [r.index for r in self.k.ops[j].srcs if r.kind == "t"]
        return sorted(seen)
