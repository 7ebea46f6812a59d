"""Pooling over (N, C, H, W): max and average windows (with ceil_mode), max indices, unpooling, adaptive pools.

- `max_pool2d` / `avg_pool2d`: the input padded (with -inf for max, 0 for average; ceil_mode adds the extra
  rows and columns its last window needs at the bottom and right), `unfold` into windows, then `amax` or `sum`
  over the window axes. The average's divisor is a constant table with PyTorch's rule for every window:
  the window clipped to the padded input (count_include_pad) or to the input itself.
- `return_indices`: among the positions equal to the window's max, the least flat index into the input's
  H*W plane (PyTorch's first maximum): `where(window == max, index table, big).amin`.
- `max_unpool2d`: `scatter_add` of the values at those flat indices into a zero (N, C, H*W) plane.
- `adaptive_avg_pool2d`: separable, so a matmul by an averaging matrix along H and another along W.
- `adaptive_max_pool2d`: a gather of every window's rows, then of its columns, each padded to the largest window
  by repeating its last index (which cannot change a max), then `amax`.
"""
from __future__ import annotations

import numpy as np

from ..creation import zeros
from ..elementwise import where
from ..movement import pad as _pad, unfold_windows
from ..tensor import Tensor
from .constants import adaptive_bounds, const_tensor, take_along
from .convolution import _batched, _pair


def _pool_size(size, k, s, p, d, ceil_mode):
    """Output length of one dim, as PyTorch: with ceil_mode the last window must start inside the input or its
    left padding."""
    # BEGIN EXERCISE m09.pool_size
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out
    # END EXERCISE m09.pool_size


def _windows(x, op, kernel_size, stride, padding, dilation, ceil_mode, value):
    """(N, C, kh, kw, oh, ow) windows of `x` padded with `value` (plus the ceil_mode overhang), and the
    normalized kernel, stride, padding and dilation pairs."""
    kernel = _pair(kernel_size, "kernel_size", op, x.shape)
    stride = kernel if stride is None or stride == [] else _pair(stride, "stride", op, x.shape)
    pad, dilation = _pair(padding, "padding", op, x.shape), _pair(dilation, "dilation", op, x.shape)
    if 2 * pad[0] > kernel[0] or 2 * pad[1] > kernel[1]:
        raise ValueError(f"{op}: padding {pad} should be at most half the kernel size {kernel} (input {x.shape})")
    H, W = x.shape[-2:]
    outs = [_pool_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip((H, W), kernel, stride, pad, dilation)]
    if min(outs) < 1:
        raise ValueError(f"{op}: a {kernel[0]}x{kernel[1]} window (dilation {dilation}, padding {pad}) does not "
                         f"fit the input {x.shape}; use a smaller kernel or more padding")
    extra = [max(0, (o - 1) * s + d * (k - 1) + 1 - n - 2 * p)
             for o, s, d, k, n, p in zip(outs, stride, dilation, kernel, (H, W), pad)]
    if any(pad) or any(extra):
        x = _pad(x, (pad[1], pad[1] + extra[1], pad[0], pad[0] + extra[0]), value)
    cols = unfold_windows(x, kernel, stride, dilation)
    return cols[..., :outs[0], :outs[1]], kernel, stride, pad, dilation


def _lowest(x: Tensor):
    return float("-inf") if x.dtype.kind == "f" else int(np.iinfo(x.dtype).min)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    x, unbatched = _batched(input, "max_pool2d")
    args = ("max_pool2d", kernel_size, stride, padding, dilation, ceil_mode)
    cols = _windows(x, *args, _lowest(x))[0]
    out = cols.amax((2, 3))
    if return_indices:
        H, W = x.shape[-2:]
        plane = const_tensor(np.arange(H * W, dtype=np.int64).reshape(1, 1, H, W))
        table = _windows(plane, *args, H * W)[0]  # each window's flat input indices; padding reads H*W
        hit = cols == out.reshape(out.shape[:2] + (1, 1) + out.shape[2:])
        indices = where(hit, table, H * W).amin((2, 3))
        return (out.squeeze(0), indices.squeeze(0)) if unbatched else (out, indices)
    return out.squeeze(0) if unbatched else out


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    x, unbatched = _batched(input, "avg_pool2d")
    if divisor_override is not None and (isinstance(divisor_override, bool) or divisor_override == 0):
        raise ValueError(f"avg_pool2d: divisor_override must be a nonzero number, got {divisor_override!r}")
    cols, kernel, stride, pad, _ = _windows(x, "avg_pool2d", kernel_size, stride, padding, 1, ceil_mode, 0)
    summed = cols.sum((2, 3))
    if divisor_override:
        out = summed * (1.0 / divisor_override)
    else:
        counts = [_window_counts(n, o, k, s, p, count_include_pad)
                  for n, o, k, s, p in zip(x.shape[-2:], summed.shape[-2:], kernel, stride, pad)]
        divisor = np.outer(*counts)
        out = summed * (1.0 / float(divisor.flat[0])) if (divisor == divisor.flat[0]).all() else \
            summed * const_tensor(1.0 / divisor, x.dtype)
    return out.squeeze(0) if unbatched else out


def _window_counts(size, out, k, s, p, include_pad):
    """How many pixels each window of one dim divides by, as PyTorch: the window clipped to the padded input
    (count_include_pad) or to the input itself."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if not include_pad:
        start, end = np.maximum(start, 0), np.minimum(end, size)
    return end - start


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The inverse of max_pool2d(return_indices=True): each value written at its flat index into a zero
    H*W plane (PyTorch's layout); every other position is 0. An index that repeats (overlapping windows,
    stride < kernel, sharing a maximum) adds its values up, where PyTorch keeps one of them."""
    x, unbatched = _batched(input, "max_unpool2d")
    idx = indices.unsqueeze(0) if unbatched and indices.ndim == 3 else indices
    if idx.shape != x.shape:
        raise ValueError(f"max_unpool2d: indices {indices.shape} must have the shape of the input "
                         f"{input.shape}; pass the indices max_pool2d(return_indices=True) gave with it")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"max_unpool2d: indices must be an integer tensor, got {idx.dtype.name}")
    kernel = _pair(kernel_size, "kernel_size", "max_unpool2d", input.shape)
    stride = kernel if stride is None or stride == [] else _pair(stride, "stride", "max_unpool2d", input.shape)
    pad = _pair(padding, "padding", "max_unpool2d", input.shape)
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(x.shape[-2:], stride, pad, kernel))
    size = default if output_size is None else tuple(output_size)[-2:]
    if len(size) != 2 or any(o < 1 for o in size) or any(abs(o - d) >= s for o, d, s in zip(size, default, stride)):
        raise ValueError(f"max_unpool2d: output_size {output_size} must end with 2 sizes within a stride "
                         f"{stride} of the default {default} (input {input.shape})")
    N, C = x.shape[:2]
    flat = idx.reshape(N, C, -1)
    out = zeros(N, C, size[0] * size[1], dtype=x.dtype).scatter_add(2, flat, x.reshape(N, C, -1)).reshape((N, C) + size)
    return out.squeeze(0) if unbatched else out


def _adaptive_size(x: Tensor, output_size, op):
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(size) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    size = tuple(n if o is None else o for o, n in zip(size, x.shape[-2:]))  # None keeps the input's size
    if any(not isinstance(o, (int, np.integer)) or o < 1 for o in size):
        raise ValueError(f"{op}: output_size must be positive ints (or None), got {output_size!r} "
                         f"for input {x.shape}")
    return size


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """out = A_h @ x @ A_w^T, where row i of A averages PyTorch's window i of that dim."""
    x, unbatched = _batched(input, "adaptive_avg_pool2d")
    size = _adaptive_size(x, output_size, "adaptive_avg_pool2d")
    if x.dtype.kind != "f":
        raise TypeError(f"adaptive_avg_pool2d: expects a floating-point input, got {x.dtype.name}")
    mats = []
    for n, o in zip(x.shape[-2:], size):
        start, end = adaptive_bounds(n, o)
        cols = np.arange(n)
        mats.append(((cols >= start[:, None]) & (cols < end[:, None])) / (end - start)[:, None])
    a_h, a_w = (const_tensor(m, x.dtype) for m in mats)
    out = a_h @ x @ a_w.T if size != x.shape[-2:] else x
    return out.squeeze(0) if unbatched else out


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    x, unbatched = _batched(input, "adaptive_max_pool2d")
    if return_indices:
        raise NotImplementedError("adaptive_max_pool2d: return_indices is not supported; use max_pool2d with "
                                  "return_indices when the output size divides the input")
    size = _adaptive_size(x, output_size, "adaptive_max_pool2d")
    picked = x
    for axis, n, o in zip((2, -1), x.shape[-2:], size):  # rows, then columns (W stays the last dim)
        start, end = adaptive_bounds(n, o)
        k = int((end - start).max())
        table = np.minimum(start[:, None] + np.arange(k), end[:, None] - 1).reshape(-1)  # (o * k)
        picked = take_along(picked, picked.ndim - 1 if axis == -1 else axis, table).unflatten(axis, (o, k))
    out = picked.amax((3, 5))  # (N, C, oh, kh, ow, kw)
    return out.squeeze(0) if unbatched else out
