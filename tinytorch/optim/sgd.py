"""SGD with momentum, dampening, Nesterov and weight decay, step for step as torch.optim.SGD."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, state_buffer
from .update_math import Update, assign


class SGD(Optimizer):
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr ({lr}), momentum ({momentum}) and weight_decay ({weight_decay}) must be >= 0")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _update(self, p, grad, group, state, lr):
        u = Update(p)
        d_p = u.neg(grad) if group["maximize"] else u.node(grad)
        if group["weight_decay"]:
            d_p = u.add(d_p, u.mul(p, group["weight_decay"]))
        out = []
        if group["momentum"]:
            m = self._hyper(group, "momentum", p.dtype)
            buf = state.get("momentum_buffer")
            if buf is None:  # first step: the buffer starts as the gradient itself (no dampening), as PyTorch
                buf = state["momentum_buffer"] = state_buffer(np.zeros(p.shape, p.dtype))
                assign(buf, d_p)
            else:
                assign(buf, u.add(u.mul(buf, m), u.mul(d_p, 1 - group["dampening"])))
            out.append(buf)
            d_p = u.add(d_p, u.mul(buf, m)) if group["nesterov"] else buf
        assign(p, u.sub(p, u.mul(d_p, lr.to(p.dtype))))
        return out + [p]
