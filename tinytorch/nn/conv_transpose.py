"""conv_transpose2d: the gradient of conv2d with respect to its input, built the same way conv2d's VJP is.

Every input pixel scatters a (C_out, kh, kw) patch, its channels times the weight: one matmul of the input,
(N*H*W, C_in) per group, against the weight viewed as (C_in, C_out*kh*kw), gives the patches laid out as
unfold's windows (N, C_out, kh, kw, H, W); `fold` adds them into the full image of size
(H - 1) * stride + dilation * (k - 1) + 1; `output_padding` extends it at the bottom and right and `padding`
crops both sides (one `pad` with negative amounts). No Python loop over pixels; the gradient is `unfold`
and matmuls.
"""
from __future__ import annotations

from ..movement import pad as _pad
from ..tensor import Tensor
from ..tensor_base import op_result
from .convolution import _batched, _pair
from ..amp.autocast import autocast_op


@autocast_op("conv_transpose2d")
def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """PyTorch's argument order: weight (in_channels, out_channels/groups, kh, kw)."""
    op = "conv_transpose2d"
    x, unbatched = _batched(input, op)
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must be (in_channels, out_channels/groups, kh, kw), got {weight.shape}")
    Cin, Og, kh, kw = weight.shape
    N, Cx, H, W = x.shape
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or Cx != Cin or Cin % groups:
        raise ValueError(f"{op}: input {input.shape} has {Cx} channels but weight {weight.shape} expects "
                         f"{Cin} (weight dim 0), divisible by groups={groups}")
    stride, dilation = _pair(stride, "stride", op, input.shape), _pair(dilation, "dilation", op, input.shape)
    pad, extra = _pair(padding, "padding", op, input.shape), _pair(output_padding, "output_padding", op)
    if any(e < 0 or (e >= s and e >= d) for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(f"{op}: output_padding {extra} must be smaller than either stride {stride} or "
                         f"dilation {dilation} (input {input.shape})")
    full = tuple((n - 1) * s + d * (k - 1) + 1 for n, s, d, k in zip((H, W), stride, dilation, (kh, kw)))
    out_size = tuple(f + e - 2 * p for f, e, p in zip(full, extra, pad))
    if min(out_size) < 1:
        raise ValueError(f"{op}: padding {pad} leaves no output for input {input.shape} and a {kh}x{kw} kernel "
                         f"(output would be {out_size}); use less padding")
    G, Cg = groups, Cin // groups
    rows = x.reshape(N, G, Cg, H * W).permute(1, 0, 3, 2).reshape(G, N * H * W, Cg)
    w = weight.reshape(G, Cg, Og * kh * kw)
    patches = (rows[0] @ w[0] if G == 1 else rows @ w).reshape(G, N, H, W, Og, kh, kw)
    patches = patches.permute(1, 0, 4, 5, 6, 2, 3).reshape(N, G * Og, kh, kw, H, W)
    image = op_result("fold", (patches,), arg=((kh, kw), stride, dilation, full))
    out = _pad(image, (-pad[1], extra[1] - pad[1], -pad[0], extra[0] - pad[0]))
    if bias is not None:
        out = out + bias.reshape(1, G * Og, 1, 1)
    return out.squeeze(0) if unbatched else out
