"""Adamax (Adam with an infinity-norm second moment), step for step as torch.optim.Adamax."""
from __future__ import annotations

from ..elementwise import pow as tt_pow
from .checks import betas_in_range, non_negative
from .counted import CountedOptimizer, zeros_state
from .update_math import Update, assign


class Adamax(CountedOptimizer):
    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 maximize: bool = False):
        non_negative("Adamax", lr=lr, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas_in_range("Adamax", betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize))

    def _new_state(self, p, group):
        return {"exp_avg": zeros_state(p), "exp_inf": zeros_state(p)}

    def _advance(self, group, state, lr):
        step, t = self._next_step(state)
        return [step], (lr / (1 - tt_pow(self._hyper(group, "beta1"), t)),)

    def _update(self, p, grad, group, state, lr, clr):
        beta1, beta2 = self._hyper(group, "beta1"), group["betas"][1]
        u = Update(p)
        grad = u.neg(grad) if group["maximize"] else u.node(grad)
        if group["weight_decay"]:
            grad = u.add(grad, u.mul(p, group["weight_decay"]))
        m, n = state["exp_avg"], state["exp_inf"]
        assign(m, u.lerp(m, grad, 1 - beta1))
        assign(n, u.maximum(u.mul(n, beta2), u.add(u.abs(grad), group["eps"])))
        assign(p, u.sub(p, u.div(u.mul(m, clr), n)))
        return [m, n, p]
