"""The row stage: a row kernel (passes/rowfuse.py), such as softmax or layernorm, in one pass per row.

Per index of the kept dims: one loop over the reduced dims per reduction, each reduced value a scalar
once its loop ends (the values of the row's shape that later loops need are computed once per row), then
one loop storing the root over the row. A costly op that a reduction's loop computes and the output loop
needs again (softmax's exp) is stored into the output row by the first loop and read back by the later
ones instead of being recomputed.
"""
from __future__ import annotations

import math

from ..kernel import contiguous_strides
from .. import ops
from . import scalar
from .emitter import StageEmitter
from .reduction import combiner, identity



class RowStage(StageEmitter):
    def emit_body(self) -> None:
        k, st, b = self.k, self.st, self.b
        reds = [j for j, o in enumerate(k.ops) if o.info.op in ops.GROUPS.reduce]
        axes = k.ops[reds[0]].info.arg
        full = self.mem.final_shape(k.ops[reds[0]].srcs[0])
        part = k.ops[reds[0]].info.shape
        kept = [d for d, n in enumerate(full) if n != 1 and d not in axes]
        red = [d for d in axes if full[d] != 1]
        scalars = [j for j, o in enumerate(k.ops) if o.info.shape == part and j not in reds]
        keep = self._row_kept(reds, full)
        strides = contiguous_strides(full)

        def per_row(env):
            at = [env.get(d, 0) for d in range(len(full))]
            done = 0
            for j in reds + [len(k.ops)]:
                for s in scalars:  # the reduced values ready before this loop: computed once per row
                    if done <= s < j:
                        self.values.value(s, at)
                done = j
                if j == len(k.ops):
                    break
                core = k.ops[j]
                dtype = core.info.dtype
                slot = self.fn.entry.alloca(scalar.reg_type(dtype), name="acc")
                combine = combiner(b, core.info.op, dtype)
                b.store(identity(core.info.op, dtype), slot)

                first = keep is not None and keep not in st.materialized and keep in self._row_deps(j)

                def per_in(env2, core=core, slot=slot, combine=combine, first=first):
                    idx = [env2.get(d, env.get(d, 0)) for d in range(len(full))]
                    b.store(combine(b.load(slot), self.values.ref(core.srcs[0], idx)), slot)
                    if first:
                        self.store_value(keep, idx, strides)
                self.loops.nest(red, full, per_in)
                self.values.remember(j, at, b.load(slot))
                if first:
                    st.materialized[keep] = st.dst
            if k.ops[st.root].info.shape == part:
                self.store_value(st.root, at, contiguous_strides(part))
                return

            def per_out(env2):
                idx = [env2.get(d, env.get(d, 0)) for d in range(len(full))]
                self.store_value(st.root, idx, strides)
            self.loops.nest(red, full, per_out)
        st.extent = self.loops.parallel(kept, full, per_row, inner_loop=False)
        st.work = math.prod(full) * (len(reds) + 1)

    def _row_deps(self, j) -> set:
        """Ops of the input's shape that op j reads within one loop over a row (not through a reduction)."""
        seen, todo = set(), [j]
        while todo:
            for r in self.k.ops[todo.pop()].srcs:
                if r.kind == "t" and r.index not in seen and self.k.ops[r.index].info.op not in ops.GROUPS.reduce:
                    seen.add(r.index)
                    todo.append(r.index)
        return seen

    def _row_kept(self, reds, full):
        """The costly op (exp of softmax) that a reduction's loop computes and the output loop needs again:
        stored into the output row by the first loop, read back (from cache) by the later ones. Or None."""
        root = self.k.ops[self.st.root].info
        if root.shape != full:
            return None
        early = set().union(*(self._row_deps(j) for j in reds))
        late = self._row_deps(self.st.root)
        both = [j for j in early & late if self.k.ops[j].info.op in ops.GROUPS.costly
                and self.k.ops[j].info.shape == full and self.k.ops[j].info.dtype == root.dtype]
        return max(both) if both else None
