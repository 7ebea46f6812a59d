"""The first half of NAdam's and RAdam's update: maximize, L2 or decoupled weight decay, and the two moments.

Both follow torch's order: decoupled decay shrinks the parameter by 1 - lr * weight_decay first, L2 decay
adds weight_decay * p to the gradient, m is a lerp toward the gradient and v is v * beta2 + ((1 - beta2) * g) * g.
(Adam keeps its own copy of this: its Program is held equal to its Tensor formula by test_step_overhead.)
"""
from __future__ import annotations

from .update_math import Update, assign


def decay_and_moments(u: Update, p, grad, group: dict, state: dict, lr, beta1) -> tuple:
    """Returns (the parameter after decoupled decay, the gradient after L2 decay, m, v), m and v assigned."""
    beta2, wd = group["betas"][1], group["weight_decay"]
    grad = u.neg(grad) if group["maximize"] else u.node(grad)
    param = p
    if wd and group["decoupled_weight_decay"]:
        param = u.mul(p, (1 - lr * wd).to(p.dtype))
    elif wd:
        grad = u.add(grad, u.mul(p, wd))
    m, v = state["exp_avg"], state["exp_avg_sq"]
    assign(m, u.lerp(m, grad, 1 - beta1))
    assign(v, u.add(u.mul(v, beta2), u.mul(u.mul(grad, 1 - beta2), grad)))
    return param, grad, m, v
