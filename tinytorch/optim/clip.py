"""Gradient clipping as torch.nn.utils: clip_grad_norm_ (returns the total norm) and clip_grad_value_.

Both are lazy: the norm and the scaled gradients are graph nodes, so clipping
fuses into the training step's Program; read the returned norm with `.item()`
after `optimizer.step()` to avoid computing the backward pass twice.
"""
from __future__ import annotations

import math

from ..creation import tensor
from ..elementwise import minimum
from ..tensor import Tensor


def _grads(parameters):
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale all gradients together so their joint norm is at most max_norm; returns the norm before clipping."""
    params = _grads(parameters)
    if not params:
        return tensor(0.0)
    norm_type = float(norm_type)
    if norm_type == math.inf:
        norms = [p.grad.abs().amax() for p in params]
        total = norms[0]
        for n in norms[1:]:
            total = total.maximum(n)
    else:
        per = [(p.grad.abs() ** norm_type).sum() ** (1.0 / norm_type) if norm_type != 2.0
               else (p.grad * p.grad).sum().sqrt() for p in params]
        acc = None
        for n in per:
            term = n * n if norm_type == 2.0 else n ** norm_type
            acc = term if acc is None else acc + term
        total = acc.sqrt() if norm_type == 2.0 else acc ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is non-finite "
                           f"({total.item()}); pass error_if_nonfinite=False to clip anyway")
    coef = minimum(max_norm / (total + 1e-6), 1.0)
    for p in params:
        p.grad = p.grad * coef.to(p.grad.dtype)
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    for p in _grads(parameters):
        p.grad = p.grad.clamp(-clip_value, clip_value)
