"""Depthwise convolution (groups == in_channels): each channel's windows times its own kernels, summed.

The windows (N, C, kh, kw, oh, ow) are a free view of the input; multiplied by the weight broadcast as
(1, C, M, kh, kw, 1, 1) (M = out_channels / in_channels) and summed over the window axes, they fuse into one
reduction kernel that reads the input in place: no window is materialized, and no batched matmul with a
K of kh*kw and one output column per group (the general grouped path) is run. Its gradient is the same
expression's VJP: a `fold` of grad * weight, and a sum of grad * windows.
"""
from __future__ import annotations

from ..tensor import Tensor


def depthwise_conv2d(cols: Tensor, weight: Tensor) -> Tensor:
    """cols (N, C, kh, kw, oh, ow) windows, weight (C*M, 1, kh, kw) -> (N, C*M, oh, ow)."""
    N, C, kh, kw, oh, ow = cols.shape
    M = weight.shape[0] // C
    if M == 1:
        return (cols * weight.reshape(1, C, kh, kw, 1, 1)).sum((2, 3))
    out = (cols.unsqueeze(2) * weight.reshape(1, C, M, kh, kw, 1, 1)).sum((3, 4))
    return out.reshape(N, C * M, oh, ow)
