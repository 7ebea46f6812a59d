"""Dropout: zero each element with probability p, scale the rest by 1/(1-p) (its own file so attention,
which drops attention weights, and functional can both import it)."""
from __future__ import annotations

from .. import dtypes
from ..creation import rand
from ..elementwise import where
from ..tensor import Tensor


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p); identity when not training.

    The mask comes from `tinytorch.rand`, whose seed is a fresh input buffer each call: every step draws a new
    mask with the same compiled Program.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = rand(input.shape, dtype=input.dtype if input.dtype.kind == "f" else dtypes.float32) >= p
    return where(keep, input * (1.0 / (1.0 - p)), 0.0)
