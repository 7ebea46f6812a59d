"""F.unfold / F.fold in PyTorch's layout: (N, C*kh*kw, L), with L the windows in row-major order.

`unfold` is the windows view of the padded input, (N, C, kh, kw, oh, ow), reshaped; `fold` is the `fold`
primitive (unfold's VJP: it adds every window back into the padded image) followed by a crop of the
padding. Each is the other's gradient.
"""
from __future__ import annotations

import math

from ..movement import pad as _pad
from ..tensor import Tensor
from ..tensor_base import op_result
from ..compiler.ops.window import window_out
from .convolution import _pair, unfold_patches


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """(N, C, H, W) or (C, H, W) -> (N, C*kh*kw, L) or (C*kh*kw, L)."""
    if input.ndim not in (3, 4):
        raise ValueError(f"unfold: expects a (N, C, H, W) or (C, H, W) input, got {input.shape}")
    if isinstance(padding, str):
        raise ValueError(f"unfold: padding must be an int or a pair of ints, got {padding!r}")
    cols = unfold_patches(input, kernel_size, dilation, padding, stride, op="unfold")
    lead, (kh, kw, oh, ow) = cols.shape[:-4], cols.shape[-4:]
    return cols.reshape(lead[:-1] + (lead[-1] * kh * kw, oh * ow))


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """(N, C*kh*kw, L) or (C*kh*kw, L) -> (N, C, H, W) or (C, H, W): overlapping values are summed."""
    op = "fold"
    size = _pair(output_size, "output_size", op, input.shape)
    kernel, dilation = _pair(kernel_size, "kernel_size", op, input.shape), _pair(dilation, "dilation", op)
    pad, stride = _pair(padding, "padding", op, input.shape), _pair(stride, "stride", op, input.shape)
    if input.ndim not in (2, 3):
        raise ValueError(f"fold: expects a (N, C*kh*kw, L) or (C*kh*kw, L) input, got {input.shape}")
    padded = tuple(n + 2 * p for n, p in zip(size, pad))
    blocks = tuple(window_out(n, k, s, d) for n, k, s, d in zip(padded, kernel, stride, dilation))
    K, L = input.shape[-2:]
    if K % math.prod(kernel) or min(blocks) < 1 or L != math.prod(blocks):
        raise ValueError(f"fold: input {input.shape} must be (N, C*{kernel[0]}*{kernel[1]}, L) with L = "
                         f"{max(0, blocks[0])}*{max(0, blocks[1])} windows of output_size {size} (padding {pad}, "
                         f"stride {stride}, dilation {dilation})")
    cols = input.reshape(input.shape[:-2] + (K // math.prod(kernel),) + kernel + blocks)
    image = op_result("fold", (cols,), arg=(kernel, stride, dilation, padded))
    return _pad(image, (-pad[1], -pad[1], -pad[0], -pad[0])) if any(pad) else image
