"""Dropout2d: zero whole channels (dim 1 of (N, C, H, W); dim 0 of an unbatched (C, H, W)) with probability p
and scale the kept ones by 1/(1-p). The mask is a `rand` of shape (N, C, 1, 1) whose seed is a fresh input
each call, so every step draws a new mask with the same compiled Program."""
from __future__ import annotations

from .. import dtypes
from ..creation import rand
from ..elementwise import where
from ..tensor import Tensor
from .module import Module


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: p must be in [0, 1], got {p}")
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got {input.shape}")
    if not training or p == 0.0:
        return input
    batched = input if input.ndim == 4 else input.unsqueeze(0)
    if p == 1.0:
        return input * 0.0
    mask_dtype = input.dtype if input.dtype.kind == "f" else dtypes.float32
    keep = rand(batched.shape[:2] + (1, 1), dtype=mask_dtype) >= p
    out = where(keep, batched * (1.0 / (1.0 - p)), 0.0)
    return out if input.ndim == 4 else out.squeeze(0)


class Dropout2d(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d: p must be in [0, 1], got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return dropout2d(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
