"""F.pad: 'constant' (the `pad` primitive) and 'reflect', 'replicate', 'circular' as one gather per padded dim.

Each non-constant mode maps every output position j of a dim to a source position q = j - before, folded back
into [0, size): mirrored without repeating the edge (reflect), clamped (replicate) or wrapped (circular). The
map is a constant index table (a negative amount crops; for 'circular' the crop comes first, as PyTorch), so
the pad is a `gather` (`take_along`) and its gradient is `scatter_add`, which sums the copies of a pixel back into it.
Pad amounts run last dim first, as in PyTorch.
"""
from __future__ import annotations

import numpy as np

from ..movement import pad as _constant_pad
from ..tensor import Tensor
from .constants import take_along

MODES = ("constant", "reflect", "replicate", "circular")


def _source(mode: str, lo: int, hi: int, size: int) -> np.ndarray:
    """The source index of each output position of one dim padded by (lo, hi)."""
    q = np.arange(size + lo + hi) - lo
    if mode == "replicate":
        return np.clip(q, 0, size - 1)
    if mode == "circular":  # as PyTorch: a negative amount crops first, then the rest wraps in what is left
        start, stop = max(0, -lo), size - max(0, -hi)
        return start + (q - start) % (stop - start)
    period = 2 * (size - 1)  # reflect: ... 2 1 [0 1 2 3] 2 1 0 ...
    if period == 0:
        return np.zeros_like(q)
    r = q % period
    return np.where(r < size, r, period - r)


def _check(input: Tensor, pads, mode: str, value):
    if mode not in MODES:
        raise ValueError(f"pad: unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if len(pads) % 2 or not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pads):
        raise ValueError(f"pad: pad must be an even-length sequence of ints (last dim first), got {pads!r}")
    if mode == "constant":
        return
    if value:
        raise ValueError(f"pad: mode {mode!r} takes no value (got {value!r}); use mode='constant' to pad with it")
    dims = len(pads) // 2
    if dims not in (1, 2, 3) or input.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"pad: mode {mode!r} with {len(pads)} pad values pads the last {dims} dims of a "
                         f"{dims + 1}-d or {dims + 2}-d input, got input {input.shape}; add or remove a "
                         f"batch dim, or use mode='constant'")
    for i in range(dims):
        d = input.ndim - 1 - i
        lo, hi, size = pads[2 * i], pads[2 * i + 1], input.shape[d]
        if mode == "reflect" and max(lo, hi) >= size:
            raise ValueError(f"pad: reflect padding {(lo, hi)} of dim {d} must be less than its size {size} "
                             f"(input {input.shape}); use mode='replicate' or 'circular', or pad less")
        if mode == "circular" and max(lo, hi) > size:
            raise ValueError(f"pad: circular padding {(lo, hi)} of dim {d} would wrap around more than once: "
                             f"it must be at most the size {size} (input {input.shape})")
        if mode == "replicate" and size == 0:
            raise ValueError(f"pad: replicate padding needs a non-empty dim {d}, got input {input.shape}")


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """torch.nn.functional.pad: `pad` = (last_before, last_after, prev_before, prev_after, ...)."""
    pads = tuple(pad)
    _check(input, pads, mode, value)
    if mode == "constant":
        return _constant_pad(input, pads, 0.0 if value is None else value)
    out = input
    for i in range(len(pads) // 2):
        d = input.ndim - 1 - i
        lo, hi, size = pads[2 * i], pads[2 * i + 1], input.shape[d]
        if lo == 0 and hi == 0:
            continue
        out = take_along(out, d, _source(mode, lo, hi, size))
    return out
