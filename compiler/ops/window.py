"""Sliding windows over the last two dims, for convolution and pooling: `unfold` views every kh x kw window
(a free strided view, im2col without the copy), `fold` adds windows back into an image (unfold's VJP)."""
from __future__ import annotations

import numpy as np

from .table import build, declare


def window_out(size, k, stride, dilation):
    return (size - dilation * (k - 1) - 1) // stride + 1


def _unfold_rule(srcs, arg):
    (x,) = srcs
    (kh, kw), (sh, sw), (dh, dw) = arg
    if x.ndim < 2:
        raise ValueError(f"unfold: needs at least 2 dims, got {x.shape}")
    H, W = x.shape[-2:]
    oh, ow = window_out(H, kh, sh, dh), window_out(W, kw, sw, dw)
    if oh < 1 or ow < 1:
        raise ValueError(f"unfold: a {kh}x{kw} window (dilation {dh},{dw}) does not fit in {H}x{W} of {x.shape}")
    return x.shape[:-2] + (kh, kw, oh, ow), x.dtype


def _unfold_np(n, x):
    (kh, kw), (sh, sw), (dh, dw) = n.arg
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x, n.shape, s[:-2] + (s[-2] * dh, s[-1] * dw, s[-2] * sh, s[-1] * sw), writeable=False)


def _fold_rule(srcs, arg):
    (x,) = srcs
    (kh, kw), (sh, sw), (dh, dw), (H, W) = arg
    if x.ndim < 4 or x.shape[-4:-2] != (kh, kw) or x.shape[-2:] != (window_out(H, kh, sh, dh),
                                                                     window_out(W, kw, sw, dw)):
        raise ValueError(f"fold: {x.shape} is not the unfold of a {H}x{W} input with a {kh}x{kw} window")
    return x.shape[:-4] + (H, W), x.dtype


def _fold_np(n, x):
    (kh, kw), (sh, sw), (dh, dw), (H, W) = n.arg
    oh, ow = x.shape[-2:]
    out = np.zeros(n.shape, n.dtype)
    for i in range(kh):
        for j in range(kw):
            out[..., i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw] += x[..., i, j, :, :]
    return out


declare("unfold", "window", _unfold_rule, _unfold_np,
        lambda n, g: (build("fold", g, arg=n.arg + (n.srcs[0].shape[-2:],)),), view=True)
declare("fold", "window", _fold_rule, _fold_np, lambda n, g: (build("unfold", g, arg=n.arg[:3]),), accumulates=True,
        flops=lambda n: n.srcs[0].size)  # one add per window element
