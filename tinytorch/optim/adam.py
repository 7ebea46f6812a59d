"""Adam and AdamW (optionally AMSGrad), step for step as torch.optim.Adam / AdamW.

The step count is a per-parameter 0-d buffer incremented with `assign`, and
the bias corrections 1 - beta**step are computed from it inside the graph
(in float64, as PyTorch computes them in Python floats): data, so one Program
serves every step.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..elementwise import maximum, pow as tt_pow
from .optimizer import Optimizer, state_buffer


class Adam(Optimizer):
    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, maximize: bool = False):
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(f"{type(self).__name__}: lr ({lr}), eps ({eps}) and weight_decay ({weight_decay}) "
                             f"must be >= 0")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"{type(self).__name__}: betas must be in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _init_state(self, p, state, amsgrad):
        state["step"] = state_buffer(np.zeros((), np.float32))
        state["exp_avg"] = state_buffer(np.zeros(p.shape, p.dtype))
        state["exp_avg_sq"] = state_buffer(np.zeros(p.shape, p.dtype))
        if amsgrad:
            state["max_exp_avg_sq"] = state_buffer(np.zeros(p.shape, p.dtype))

    def _update(self, p, grad, group, state, lr):
        beta1, beta2 = group["betas"]
        wd, eps, amsgrad = group["weight_decay"], group["eps"], group["amsgrad"]
        if not state:
            self._init_state(p, state, amsgrad)
        if group["maximize"]:
            grad = -grad
        param = p
        if wd and self._decoupled:
            param = p * (1 - lr * wd).to(p.dtype)
        elif wd:
            grad = grad + p * wd
        step, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        step.assign(step + 1)
        m.assign(m + (grad - m) * (1 - beta1))  # torch's lerp for weights below 0.5
        v.assign(v * beta2 + grad * grad * (1 - beta2))
        t = step.to(dtypes.float64)
        bias1 = 1 - tt_pow(beta1, t)
        bias2_sqrt = (1 - tt_pow(beta2, t)).sqrt()
        step_size = (lr / bias1).to(p.dtype)
        second = v
        out = [step, m, v]
        if amsgrad:
            vmax = state["max_exp_avg_sq"]
            vmax.assign(maximum(vmax, v))
            second = vmax
            out.append(vmax)
        denom = second.sqrt() / bias2_sqrt.to(p.dtype) + eps
        p.assign(param - step_size * m / denom)  # (lr/bc1 * m) / denom, in the order torch.addcdiv uses
        return out + [p]


class AdamW(Adam):
    """Adam with decoupled weight decay: the parameter shrinks by lr * weight_decay before the Adam step."""
    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
