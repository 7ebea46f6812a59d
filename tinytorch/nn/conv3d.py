"""conv3d: conv2d's over the depth slices of the input, with depth folded into the batch; no new op.

For each depth offset kd of the kernel, the (depth-padded) input's strided depth slice (N, C, oD, H, W) is seen
as a batch of N*oD images (N*oD, C, H, W). The kD slices are stacked as channels and convolved by the weight
with its depth moved into its channels, (O, kD*C/groups, kh, kw): one `conv2d` op (tiled implicit GEMM, its
own gradients) with kD times the reduction length. Against a sum of kD conv2d's by w[:, :, kd] (forward +
backward, 2 threads) it is about twice as fast for groups 1 < g < C (one grouped matmul instead of kD) and
even within noise for groups=1. A depthwise conv3d (groups == C) keeps the sum, since each term is conv2d's
fused depthwise kernel, which the stacked grouped matmul was slower than (~50 vs ~38 ms). (N*oD, O, oH, oW) is read back as
(N, O, oD, oH, oW). Stride, padding and dilation on H and W go to conv2d; on depth they pick the slices.
"""
from __future__ import annotations

from ..movement import pad as _pad, stack
from ..tensor import Tensor
from .convolution import _batched, conv2d, window_ints


def triple(v, name: str, op: str, shape=None) -> tuple:
    """(v, v, v) for an int, `v` for a 3-tuple of ints; errors name `op`, `name` and, given, the input `shape`."""
    return window_ints(v, 3, name, op, shape)


def batched3d(input: Tensor, op: str):
    """(N, C, D, H, W) `input` and whether it came without its batch dim."""
    return _batched(input, op, 3)


def depth_slices(x: Tensor, k: int, stride: int, dilation: int, out: int):
    """For each of the k window offsets, the (N, C, out, ...) depth slice of `x` the windows read there."""
    return [x[:, :, i * dilation: i * dilation + (out - 1) * stride + 1: stride] for i in range(k)]


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """3-d cross-correlation as PyTorch's: input (N, C, D, H, W) or (C, D, H, W), weight
    (out_channels, in_channels/groups, kd, kh, kw)."""
    x, unbatched = batched3d(input, "conv3d")
    if weight.ndim != 5:
        raise ValueError(f"conv3d: weight must be (out_channels, in_channels/groups, kd, kh, kw), got "
                         f"{weight.shape}")
    O, Cg, kD = weight.shape[:3]
    N, C, D = x.shape[:3]
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or C % groups or O % groups or \
            C // groups != Cg:
        raise ValueError(f"conv3d: input {input.shape} has {C} channels but weight {weight.shape} with groups="
                         f"{groups} expects {Cg * groups}; in and out channels must divide by groups")
    stride, dilation = triple(stride, "stride", "conv3d", input.shape), triple(dilation, "dilation", "conv3d",
                                                                                input.shape)
    kernel = weight.shape[2:]
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"conv3d: padding must be an int, a 3-tuple of ints, 'same' or 'valid', got "
                             f"{padding!r}")
        if padding == "same" and stride != (1, 1, 1):
            raise ValueError(f"conv3d: padding='same' needs stride 1, got stride {stride} (input {input.shape})")
        totals = tuple(d * (k - 1) for d, k in zip(dilation, kernel)) if padding == "same" else (0, 0, 0)
        plane = padding
    else:
        pd, ph, pw = triple(padding, "padding", "conv3d", input.shape)
        totals, plane = (2 * pd, 2 * ph, 2 * pw), (ph, pw)
    front, back = totals[0] // 2, totals[0] - totals[0] // 2  # 'same' puts the odd pixel at the back
    padded = tuple(n + t for n, t in zip(x.shape[2:], totals))
    if any(d * (k - 1) + 1 > n for d, k, n in zip(dilation, kernel, padded)):
        raise ValueError(f"conv3d: a {'x'.join(map(str, kernel))} kernel (dilation {dilation}) does not fit the "
                         f"padded input of size {'x'.join(map(str, padded))} (input {input.shape}); use a smaller "
                         f"kernel or more padding")
    span = padded[0] - dilation[0] * (kD - 1)
    if front or back:
        x = _pad(x, (0, 0, 0, 0, front, back))
    oD = (span - 1) // stride[0] + 1
    parts = depth_slices(x, kD, stride[0], dilation[0], oD)
    hw = (stride[1:], plane, dilation[1:], groups)
    if groups == C:  # depthwise: conv2d's fused window product per offset beats a grouped matmul of kD channels
        out = None
        for kd, part in enumerate(parts):
            y = conv2d(part.permute(0, 2, 1, 3, 4).reshape((N * oD, C) + part.shape[3:]), weight[:, :, kd], None, *hw)
            out = y if out is None else out + y
    else:  # the kD slices as channels, (group, kd, channel) so each group keeps its own: one conv2d, K kD times
        images = stack(parts, 0).reshape((kD, N, groups, Cg, oD) + x.shape[3:]).permute(1, 4, 2, 0, 3, 5, 6)
        flat = weight.permute(0, 2, 1, 3, 4).reshape((O, kD * Cg) + weight.shape[3:])
        out = conv2d(images.reshape((N * oD, groups * kD * Cg) + x.shape[3:]), flat, None, *hw)
    out = out.reshape((N, oD) + out.shape[1:]).permute(0, 2, 1, 3, 4)
    if bias is not None:
        out = out + bias.reshape(1, O, 1, 1, 1)
    return out.squeeze(0) if unbatched else out
