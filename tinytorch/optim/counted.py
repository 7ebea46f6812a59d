"""CountedOptimizer: the base of the optimizers whose update depends on the step count (Adam and its kin).

PyTorch keeps a 0-d float32 'step' per parameter and computes the step-dependent factors (bias corrections,
decayed rates) from it in Python floats. Here the counter is a state buffer incremented with `assign`, and
those factors are computed from it inside the graph in float64: data, so one Program serves every step.
Parameters of a group that always step together share one counter (and any other 0-d state that advances
with it, `_shared`), so the counter and the factors are built once per group rather than once per
parameter; `state_dict()` still lists them per parameter, as PyTorch's does.

A subclass gives `_new_state` (its per-element buffers), `_advance` (the counter's update and the 0-d
float64 factors of this step) and `_update(p, grad, group, state, lr, *factors)`, the factors cast to
the parameter's dtype once per dtype (a bool factor, a step-dependent switch, stays bool).
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from .optimizer import Optimizer, state_buffer


def zeros_state(p):
    """A zero state buffer shaped and typed like the parameter p."""
    return state_buffer(np.zeros(p.shape, p.dtype))


class CountedOptimizer(Optimizer):
    _shared = ("step",)  # 0-d state advanced once per counter, shared by the parameters that step together

    def _new_shared(self, group) -> dict:
        return {"step": state_buffer(np.zeros((), np.float32))}

    def _new_state(self, p, group) -> dict:
        raise NotImplementedError

    def _advance(self, group, state, lr) -> tuple:
        """Build the counter's update; return (tensors assigned, float64 0-d factors for `_update`)."""
        raise NotImplementedError

    def _next_step(self, state):
        """Assign step + 1 and return the new count as a float64 0-d tensor."""
        step = state["step"]
        step.assign(step + 1)
        return step, step.to(dtypes.float64)

    def _update_group(self, group, items, lr):
        self._share_counters(group, items)
        out, factors = [], {}  # per counter: its factors in float64, then cast once per parameter dtype
        for p, grad, state in items:
            key = id(state["step"])
            if key not in factors:
                assigned, values = self._advance(group, state, lr)
                out += assigned
                factors[key] = (values, {})
            values, per_dtype = factors[key]
            if p.dtype not in per_dtype:
                per_dtype[p.dtype] = tuple(v if v.dtype == dtypes.bool else v.to(p.dtype) for v in values)
            out += self._update(p, grad, group, state, lr, *per_dtype[p.dtype])
        return out

    def _share_counters(self, group, items) -> None:
        """New state shares one counter per step; a counter shared with a parameter that has no gradient now
        is split off for that parameter, whose count must not advance."""
        fresh = None
        for p, _, state in items:
            if not state:
                if fresh is None:
                    fresh = self._new_shared(group)
                state.update(fresh)
                state.update(self._new_state(p, group))
        if len(items) < len(group["params"]):
            stepping = {id(s["step"]) for _, _, s in items}
            active = {id(p) for p, _, _ in items}
            for p in group["params"]:
                state = self.state.get(p)
                if id(p) not in active and state and id(state.get("step")) in stepping:
                    for k in self._shared:
                        state[k] = state_buffer(state[k].numpy())

    def load_state_dict(self, state_dict: dict) -> None:
        """As Optimizer's; then parameters of a group whose loaded counters agree share them again."""
        super().load_state_dict(state_dict)
        for g in self.param_groups:
            shared = {}
            for p in g["params"]:
                state = self.state.get(p)
                if not state or not all(hasattr(state.get(k), "numpy") and state[k].ndim == 0
                                        for k in self._shared):
                    continue
                values = tuple(float(state[k].numpy()) for k in self._shared)
                state.update(shared.setdefault(values, {k: state[k] for k in self._shared}))
