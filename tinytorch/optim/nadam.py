"""NAdam (Adam with Nesterov momentum and momentum decay), step for step as torch.optim.NAdam.

The momentum schedule mu_t = beta1 * (1 - 0.96 ** (t * momentum_decay) / 2) and the running product of the
mu's are step-dependent: the product is 0-d float32 state ('mu_product', as PyTorch's) advanced with the
step counter and shared like it, and the two step sizes are computed from both in the graph in float64.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..elementwise import pow as tt_pow
from .checks import betas_in_range, non_negative
from .counted import CountedOptimizer, zeros_state
from .optimizer import state_buffer
from .adam_moments import decay_and_moments
from .update_math import Update, assign

_MU_BASE = 0.96  # the base of the momentum decay schedule (Dozat's NAdam paper, as PyTorch)


class NAdam(CountedOptimizer):
    _shared = ("step", "mu_product")

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, maximize: bool = False):
        non_negative("NAdam", lr=lr, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay)
        super().__init__(params, dict(lr=lr, betas=betas_in_range("NAdam", betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _new_shared(self, group):
        return dict(super()._new_shared(group), mu_product=state_buffer(np.ones((), np.float32)))

    def _new_state(self, p, group):
        return {"exp_avg": zeros_state(p), "exp_avg_sq": zeros_state(p)}

    def _advance(self, group, state, lr):
        beta1, beta2 = self._hyper(group, "beta1"), group["betas"][1]
        step, t = self._next_step(state)
        mu = beta1 * (1.0 - 0.5 * tt_pow(_MU_BASE, t * group["momentum_decay"]))
        mu_next = beta1 * (1.0 - 0.5 * tt_pow(_MU_BASE, (t + 1) * group["momentum_decay"]))
        prod = state["mu_product"]
        prod.assign(prod * mu.to(prod.dtype))  # in float32, as PyTorch's `mu_product *= mu`
        prod64 = prod.to(dtypes.float64)
        grad_size = lr * (1.0 - mu) / (1.0 - prod64)
        avg_size = lr * mu_next / (1.0 - prod64 * mu_next)
        return [step, prod], (grad_size, avg_size, 1 - tt_pow(beta2, t))

    def _update(self, p, grad, group, state, lr, grad_size, avg_size, bias2):
        u = Update(p)
        param, grad, m, v = decay_and_moments(u, p, grad, group, state, lr, self._hyper(group, "beta1"))
        denom = u.add(u.sqrt(u.div(v, bias2)), group["eps"])
        param = u.sub(param, u.div(u.mul(grad, grad_size), denom))
        assign(p, u.sub(param, u.div(u.mul(m, avg_size), denom)))
        return [m, v, p]
