"""Adagrad (with lr_decay), step for step as torch.optim.Adagrad (dense gradients).

As PyTorch, the state (the squared-gradient sum, starting at initial_accumulator_value, and the step) is
made when the optimizer is built, so `state_dict()` and `state_bytes()` show it before the first step.
"""
from __future__ import annotations

import numpy as np

from .checks import non_negative
from .counted import CountedOptimizer
from .optimizer import state_buffer
from .update_math import Update, assign


class Adagrad(CountedOptimizer):
    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, maximize: bool = False):
        non_negative("Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                     initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize))
        for g in self.param_groups:
            self._share_counters(g, [(p, None, self.state.setdefault(p, {})) for p in g["params"]])

    def _new_state(self, p, group):
        return {"sum": state_buffer(np.full(p.shape, group["initial_accumulator_value"], p.dtype))}

    def _advance(self, group, state, lr):
        step, t = self._next_step(state)
        return [step], (lr / (1 + (t - 1) * group["lr_decay"]),)

    def _update(self, p, grad, group, state, lr, clr):
        u = Update(p)
        grad = u.neg(grad) if group["maximize"] else u.node(grad)
        if group["weight_decay"]:
            grad = u.add(grad, u.mul(p, group["weight_decay"]))
        s = state["sum"]
        assign(s, u.add(s, u.mul(grad, grad)))
        std = u.add(u.sqrt(s), group["eps"])
        assign(p, u.sub(p, u.div(u.mul(grad, clr), std)))
        return [s, p]
