"""F.interpolate: resizing the spatial dims of (N, C, L) or (N, C, H, W) inputs, one dim at a time.

'nearest' / 'nearest-exact' pick a source row per output row: a `gather` with a constant table.
'linear' / 'bilinear' are separable: each dim is multiplied by a constant (out, in) matrix whose row i holds
the two weights (1 - t, t) of PyTorch's source position for output i, so a 4-d bilinear resize is
out = A_h @ x @ A_w^T (two matmuls, differentiable for free, no gathers). Source positions follow PyTorch:
with align_corners the corners map to the corners, src = i * (in - 1) / (out - 1); without it
src = max((i + 0.5) * scale - 0.5, 0), where scale is in / out, or 1 / scale_factor when a scale_factor was
given (and recompute_scale_factor is not set), as PyTorch's kernels use it.
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .constants import const_tensor, take_along

_MODES = {"nearest": 1, "nearest-exact": 1, "linear": 1, "bilinear": 2}  # mode -> spatial dims it takes (or any)
_NEAREST = ("nearest", "nearest-exact")


def _sizes(input: Tensor, size, scale_factor, recompute, op="interpolate"):
    """Output sizes of the spatial dims and the scale (in per out) each dim's source positions use."""
    dims = input.ndim - 2
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor, got size={size!r} and "
                         f"scale_factor={scale_factor!r} (input {input.shape})")
    spatial = input.shape[2:]
    if size is not None:
        out = (size,) * dims if isinstance(size, int) else tuple(size)
        if len(out) != dims or any(not isinstance(o, (int, np.integer)) or o < 1 for o in out):
            raise ValueError(f"{op}: size must be {dims} positive int(s) for input {input.shape}, got {size!r}")
        return out, tuple(n / o for n, o in zip(spatial, out))
    scales = (scale_factor,) * dims if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
    if len(scales) != dims or any(not s > 0 for s in scales):
        raise ValueError(f"{op}: scale_factor must be {dims} positive number(s) for input {input.shape}, "
                         f"got {scale_factor!r}")
    out = tuple(int(math.floor(n * float(s))) for n, s in zip(spatial, scales))
    if min(out) < 1:
        raise ValueError(f"{op}: scale_factor {scale_factor!r} shrinks input {input.shape} to {out}")
    return out, tuple(n / o if recompute else 1.0 / float(s) for n, o, s in zip(spatial, out, scales))


def _nearest_table(n, o, scale, exact):
    i = np.arange(o, dtype=np.float64)
    src = np.floor((i + 0.5) * scale if exact else i * scale).astype(np.int64)
    return np.minimum(src, n - 1)


def _linear_matrix(n, o, scale, align_corners):
    i = np.arange(o, dtype=np.float64)
    if align_corners:
        src = i * ((n - 1) / (o - 1)) if o > 1 else np.zeros(o)
    else:
        src = np.maximum((i + 0.5) * scale - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), n - 1)
    hi = np.minimum(lo + 1, n - 1)
    t = src - lo
    m = np.zeros((o, n))
    np.add.at(m, (np.arange(o), lo), 1 - t)
    np.add.at(m, (np.arange(o), hi), t)
    return m


def _check(input, mode, align_corners):
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode {mode!r} is not supported; use one of {', '.join(_MODES)}")
    dims = input.ndim - 2
    if input.ndim not in (3, 4) or (mode in ("linear", "bilinear") and dims != _MODES[mode]):
        want = {"linear": "a 3-d (N, C, L)", "bilinear": "a 4-d (N, C, H, W)"}.get(mode,
                                                                                   "a 3-d or 4-d (N, C, ...)")
        raise ValueError(f"interpolate: mode {mode!r} expects {want} input, got {input.shape}")
    if mode in _NEAREST and align_corners is not None:
        raise ValueError(f"interpolate: align_corners can only be set with mode 'linear' or 'bilinear', "
                         f"not {mode!r}")


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False) -> Tensor:
    _check(input, mode, align_corners)
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    out_sizes, scales = _sizes(input, size, scale_factor, recompute_scale_factor)
    out = input
    for axis, n, o, scale in zip(range(2, input.ndim), input.shape[2:], out_sizes, scales):
        if mode in _NEAREST:
            if n != o or scale != 1.0:
                out = take_along(out, axis, _nearest_table(n, o, scale, mode == "nearest-exact"))
            continue
        if input.dtype.kind != "f":
            raise TypeError(f"interpolate: mode {mode!r} expects a floating-point input, got {input.dtype.name}")
        m = const_tensor(_linear_matrix(n, o, scale, bool(align_corners)), input.dtype)
        out = out @ m.T if axis == input.ndim - 1 else (out.transpose(axis, -1) @ m.T).transpose(axis, -1)
    return out

