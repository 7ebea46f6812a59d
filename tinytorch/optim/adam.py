"""Adam and AdamW (optionally AMSGrad), step for step as torch.optim.Adam / AdamW.

The step count is a 0-d float32 buffer incremented with `assign`, and the bias corrections 1 - beta**step
are computed from it inside the graph (in float64, as PyTorch computes them in Python floats): data, so one
Program serves every step. Parameters of a group that always step together share one counter, so the
counter and the bias corrections are built once per group rather than once per parameter; `state_dict()`
still lists a 'step' per parameter, as PyTorch's does.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..elementwise import pow as tt_pow
from .optimizer import Optimizer, state_buffer
from .update_math import Update, assign


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

    def _update_group(self, group, items, lr):
        beta1, beta2 = group["betas"]
        self._share_counters(group, items)
        out, scalars = [], {}  # per counter: its assign, then (step_size, bias2_sqrt) per parameter dtype
        for p, grad, state in items:
            step = state["step"]
            if id(step) not in scalars:
                step.assign(step + 1)
                out.append(step)
                scalars[id(step)] = {}
            per_dtype = scalars[id(step)]
            if p.dtype not in per_dtype:
                t = step.to(dtypes.float64)
                bias1 = 1 - tt_pow(beta1, t)
                bias2_sqrt = (1 - tt_pow(beta2, t)).sqrt()
                per_dtype[p.dtype] = ((lr / bias1).to(p.dtype), bias2_sqrt.to(p.dtype))
            out += self._update(p, grad, group, state, lr, *per_dtype[p.dtype])
        return out

    def _share_counters(self, group, items) -> None:
        """New state shares one counter per step; a counter shared with a parameter that has no gradient now
        is split off for that parameter, whose count must not advance."""
        fresh = None
        for p, _, state in items:
            if not state:
                if fresh is None:
                    fresh = state_buffer(np.zeros((), np.float32))
                state["step"] = fresh
                state["exp_avg"] = state_buffer(np.zeros(p.shape, p.dtype))
                state["exp_avg_sq"] = state_buffer(np.zeros(p.shape, p.dtype))
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = state_buffer(np.zeros(p.shape, p.dtype))
        if len(items) < len(group["params"]):
            stepping = {id(s["step"]) for _, _, s in items}
            active = {id(p) for p, _, _ in items}
            for p in group["params"]:
                state = self.state.get(p)
                if id(p) not in active and state and id(state.get("step")) in stepping:
                    state["step"] = state_buffer(state["step"].numpy())

    def _update(self, p, grad, group, state, lr, step_size, bias2_sqrt):
        beta1, beta2 = group["betas"]
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
        m, v = state["exp_avg"], state["exp_avg_sq"]
        assign(m, u.add(m, u.mul(u.sub(grad, m), 1 - beta1)))  # torch's lerp for weights below 0.5
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

    def load_state_dict(self, state_dict: dict) -> None:
        """As Optimizer's; then parameters of a group whose loaded step counts agree share one counter again."""
        super().load_state_dict(state_dict)
        for g in self.param_groups:
            shared = {}
            for p in g["params"]:
                state = self.state.get(p)
                step = state.get("step") if state else None
                if step is not None and hasattr(step, "numpy") and step.ndim == 0:
                    state["step"] = shared.setdefault(float(step.numpy()), step)


class AdamW(Adam):
    """Adam with decoupled weight decay: the parameter shrinks by lr * weight_decay before the Adam step."""
    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
