"""RAdam (Adam with a rectified adaptive rate), step for step as torch.optim.RAdam.

Whether a step is rectified (rho_t > 5, true from the 6th step on for the default betas) depends on the
step, so it is a 0-d bool computed in the graph and the update selects with `where`: one Program for the
early unrectified steps and the later ones.
"""
from __future__ import annotations

from ..elementwise import pow as tt_pow, where
from .checks import betas_in_range, non_negative
from .counted import CountedOptimizer, zeros_state
from .adam_moments import decay_and_moments
from .update_math import Update, assign

_RHO_RECTIFY = 5.0  # the variance of the adaptive rate is tractable above this rho_t (Liu et al., as PyTorch)


class RAdam(CountedOptimizer):
    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, maximize: bool = False):
        non_negative("RAdam", lr=lr, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas_in_range("RAdam", betas), eps=eps,
                                      weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _new_state(self, p, group):
        return {"exp_avg": zeros_state(p), "exp_avg_sq": zeros_state(p)}

    def _advance(self, group, state, lr):
        beta1, beta2 = self._hyper(group, "beta1"), group["betas"][1]
        step, t = self._next_step(state)
        bias2 = 1 - tt_pow(beta2, t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * tt_pow(beta2, t) / bias2
        rectified = rho_t > _RHO_RECTIFY
        ratio = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        rect = where(rectified, ratio, 1.0).sqrt()  # unrectified steps take the other branch: no sqrt(< 0)
        return [step], (1 - tt_pow(beta1, t), lr, bias2.sqrt(), rect, rectified)

    def _update(self, p, grad, group, state, lr, bias1, lr_cast, bias2_sqrt, rect, rectified):
        u = Update(p)
        param, _, m, v = decay_and_moments(u, p, grad, group, state, lr, self._hyper(group, "beta1"))
        step = u.mul(u.div(m, bias1), lr_cast)
        adaptive = u.div(bias2_sqrt, u.add(u.sqrt(v), group["eps"]))
        step = u.where(rectified, u.mul(u.mul(step, adaptive), rect), step)
        assign(p, u.sub(param, step))
        return [m, v, p]
