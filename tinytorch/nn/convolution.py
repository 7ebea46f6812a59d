"""Convolution over (N, C, H, W), and the window helpers pooling shares.

A convolution (groups=1) is one `conv2d` op (compiler/ops/conv.py), computed tile by tile so no im2col
matrix is ever materialized or kept for the backward; its gradients are the ops `conv2d_dx` and
`conv2d_dw`. A depthwise convolution (groups = in_channels) is a product of the input's sliding windows
and the weight summed over the window axes (`depthwise.py`); another grouped convolution uses `unfold` (a
view primitive: the padded input's sliding windows, (N, C, kh, kw, oh, ow)) and a batched matmul. Pools are
in `pooling.py`. No Python loops over pixels: the gradient of `unfold` is `fold`.
"""
from __future__ import annotations

from ..movement import pad as _pad, unfold_windows
from ..tensor import Tensor
from ..tensor_base import op_result
from .. import dtypes
from .depthwise import depthwise_conv2d
from ..amp.autocast import autocast_op


# The least value each window argument takes, and what to do instead of a smaller one. Checked when the op is
# built: a stride of 0 would otherwise divide by zero deep in the compiler, and a negative padding or a
# dilation of 0 would silently give a wrong output shape.
_LEAST = {"kernel_size": (1, "a window needs at least one pixel"),
          "stride": (1, "stride 1 moves the window one pixel at a time"),
          "dilation": (1, "dilation 1 means no gaps inside the window"),
          "padding": (0, "to crop, slice the input before the op")}


def _pair(v, name, op, shape=None):
    """(v, v) for an int, `v` for a pair of ints; errors name `op`, `name` and, given, the input `shape`."""
    return window_ints(v, 2, name, op, shape)


def window_ints(v, n: int, name, op, shape=None):
    """`n` copies of an int, or `v` if it is `n` ints (`_pair` for n=2, conv3d's triples for n=3), checked
    against `_LEAST`; errors name `op`, `name` and, given, the input `shape`."""
    if isinstance(v, int) and not isinstance(v, bool):
        v = (v,) * n
    elif isinstance(v, str) or not hasattr(v, "__len__") or len(v) != n or \
            not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        raise ValueError(f"{op}: {name} must be an int or {'a pair' if n == 2 else f'a {n}-tuple'} of ints, "
                         f"got {v!r}")
    v = tuple(v)
    if name in _LEAST and min(v) < _LEAST[name][0]:
        least, hint = _LEAST[name]
        where = f" (input {tuple(shape)})" if shape is not None else ""
        raise ValueError(f"{op}: {name} must be >= {least}, got {v}{where}; {hint}")
    return v


def _batched(input: Tensor, op: str, dims: int = 2):
    """(N, C, *spatial) `input` with `dims` spatial dims, and whether it came without its batch dim."""
    if input.ndim == dims + 1:
        return input.unsqueeze(0), True
    if input.ndim != dims + 2:
        spatial = ", ".join("DHW"[3 - dims:])
        raise ValueError(f"{op}: expects a (N, C, {spatial}) or (C, {spatial}) input, got {input.shape}")
    return input, False


def _padding(padding, kernel, dilation, stride, op, shape=None):
    """((top, bottom), (left, right)) for an int, a pair, 'valid' or 'same' (stride 1 only, as PyTorch)."""
    if isinstance(padding, str) and padding not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be an int, a pair of ints, 'valid' or 'same', got {padding!r}")
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "same":
        if stride != (1, 1):
            raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
        tot = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple((t // 2, t - t // 2) for t in tot)
    ph, pw = _pair(padding, "padding", op, shape)
    return ((ph, ph), (pw, pw))


def _window_args(shape, kernel_size, dilation, padding, stride, op):
    """(kernel, stride, dilation, (pt, pb, pl, pr)) checked against the input `shape`: the window must fit
    the padded input. `op` is the caller's name, so a bad argument is reported as the op the user called."""
    kernel, stride, dilation = (_pair(kernel_size, "kernel_size", op, shape),
                                _pair(stride, "stride", op, shape), _pair(dilation, "dilation", op, shape))
    (pt, pb), (pl, pr) = _padding(padding, kernel, dilation, stride, op, shape)
    H, W = shape[-2] + pt + pb, shape[-1] + pl + pr
    need = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    if need[0] > H or need[1] > W:
        raise ValueError(f"{op}: a {kernel[0]}x{kernel[1]} window (dilation {dilation}) does not fit the padded input "
                         f"of size {H}x{W}; use a smaller kernel or more padding")
    return kernel, stride, dilation, (pt, pb, pl, pr)


def unfold_patches(input: Tensor, kernel_size, dilation=1, padding=0, stride=1, value=0.0,
                   op: str = "unfold") -> Tensor:
    """(N, C, H, W) -> (N, C, kh, kw, oh, ow) windows of the input padded with `value` (a view)."""
    kernel, stride, dilation, (pt, pb, pl, pr) = _window_args(input.shape, kernel_size, dilation, padding, stride, op)
    if pt or pb or pl or pr:
        input = _pad(input, (pl, pr, pt, pb), value)
    return unfold_windows(input, kernel, stride, dilation)


@autocast_op("conv2d")
def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-d cross-correlation as PyTorch's: weight (out_channels, in_channels/groups, kh, kw)."""
    x, unbatched = _batched(input, "conv2d")
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be (out_channels, in_channels/groups, kh, kw), got {weight.shape}")
    O, Cg, kh, kw = weight.shape
    N, Cin = x.shape[:2]
    if groups < 1 or Cin % groups or O % groups or Cin // groups != Cg:
        raise ValueError(f"conv2d: input {input.shape} has {Cin} channels but weight {weight.shape} with groups="
                         f"{groups} expects {Cg * groups}; in and out channels must divide by groups")
    if groups == 1:  # one op, computed tile by tile (compiler/ops/conv.py): no im2col matrix is kept
        _, stride, dilation, pads = _window_args(x.shape, (kh, kw), dilation, padding, stride, "conv2d")
        d = dtypes.join(x.dtype, weight.dtype)
        d = dtypes.int64 if d.kind == "b" else d
        out = op_result("conv2d", (x.to(d), weight.to(d)), arg=(pads, stride, dilation))
    elif groups == Cin:
        out = depthwise_conv2d(unfold_patches(x, (kh, kw), dilation, padding, stride, op="conv2d"), weight)
    else:
        cols = unfold_patches(x, (kh, kw), dilation, padding, stride, op="conv2d")
        oh, ow = cols.shape[-2:]
        K = Cg * kh * kw
        G, Og = groups, O // groups
        rows = cols.reshape(N, G, Cg, kh, kw, oh, ow).permute(1, 0, 5, 6, 2, 3, 4).reshape(G, N * oh * ow, K)
        w = weight.reshape(G, Og, K).permute(0, 2, 1)
        out = (rows @ w).reshape(G, N, oh, ow, Og).permute(1, 0, 4, 2, 3).reshape(N, O, oh, ow)
    if bias is not None:
        out = out + bias.reshape(1, O, 1, 1)
    return out.squeeze(0) if unbatched else out
