"""Adam and AdamW (optionally AMSGrad), step for step as torch.optim.Adam / AdamW.

The bias corrections 1 - beta**step are computed in the graph from the step counter (`counted.py`), so
one Program serves every step.
"""
from __future__ import annotations

from ..elementwise import pow as tt_pow
from .counted import CountedOptimizer, zeros_state
from .update_math import Update, assign


class Adam(CountedOptimizer):
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

    def _new_state(self, p, group):
        state = {"exp_avg": zeros_state(p), "exp_avg_sq": zeros_state(p)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_state(p)
        return state

    def _advance(self, group, state, lr):
        beta1, beta2 = self._hyper(group, "beta1"), group["betas"][1]
        step, t = self._next_step(state)
        bias1 = 1 - tt_pow(beta1, t)
        bias2_sqrt = (1 - tt_pow(beta2, t)).sqrt()
        return [step], (lr / bias1, bias2_sqrt)

    def _update(self, p, grad, group, state, lr, step_size, bias2_sqrt):
        beta1, beta2 = self._hyper(group, "beta1"), group["betas"][1]
        wd, eps = group["weight_decay"], group["eps"]
        u = Update(p)
        grad = u.node(grad)
        if group["maximize"]:
            grad = u.neg(grad)
        param = p
        if wd and self._decoupled:
            param = u.mul(p, (1 - lr * wd).to(p.dtype))
        elif wd:
            grad = u.add(grad, u.mul(p, wd))
        # BEGIN EXERCISE m06.adam_update
        m, v = state["exp_avg"], state["exp_avg_sq"]
        assign(m, u.lerp(m, grad, 1 - beta1))
        assign(v, u.add(u.mul(v, beta2), u.mul(u.mul(grad, grad), 1 - beta2)))
        second, out = v, [m, v]
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]
            assign(vmax, u.maximum(vmax, v))
            second = vmax
            out.append(vmax)
        denom = u.add(u.div(u.sqrt(second), bias2_sqrt), eps)
        assign(p, u.sub(param, u.div(u.mul(step_size, m), denom)))  # (lr/bc1 * m) / denom, as torch.addcdiv
        return out + [p]
        # END EXERCISE m06.adam_update


class AdamW(Adam):
    """Adam with decoupled weight decay: the parameter shrinks by lr * weight_decay before the Adam step."""
    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
