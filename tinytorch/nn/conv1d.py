"""conv1d: a conv2d over a height of 1. The (N, C, L) input is seen as (N, C, 1, L) and the (O, C/groups, k)
weight as (O, C/groups, 1, k); stride, padding ('same' / 'valid' included) and dilation act on the width only."""
from __future__ import annotations

from ..tensor import Tensor
from .convolution import conv2d
from ..amp.autocast import autocast_op


def single(v, name: str, op: str = "conv1d"):
    """The int in `v` (an int or a 1-tuple); padding may also be 'same' or 'valid'."""
    if isinstance(v, (tuple, list)) and len(v) == 1:
        v = v[0]
    if name == "padding" and v in ("same", "valid"):
        return v
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{op}: {name} must be an int or a 1-tuple" + (", 'same' or 'valid'" if name == "padding"
                                                                          else "") + f", got {v!r}")
    return v


@autocast_op("conv1d")
def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-d cross-correlation as PyTorch's: input (N, C, L) or (C, L), weight (out_channels, in_channels/groups, k)."""
    if input.ndim not in (2, 3):
        raise ValueError(f"conv1d: expects a (N, C, L) or (C, L) input, got {input.shape}")
    if weight.ndim != 3:
        raise ValueError(f"conv1d: weight must be (out_channels, in_channels/groups, k), got {weight.shape}")
    channels = input.shape[-2]
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or channels % groups or \
            weight.shape[0] % groups or channels // groups != weight.shape[1]:
        raise ValueError(f"conv1d: input {input.shape} has {channels} channels but weight {weight.shape} with "
                         f"groups={groups} expects {weight.shape[1] * groups}; in and out channels must divide "
                         f"by groups")
    padding, stride = single(padding, "padding"), single(stride, "stride")
    if padding == "same" and stride != 1:
        raise ValueError(f"conv1d: padding='same' needs stride 1, got stride {stride} (input {input.shape})")
    pair = (0, padding) if not isinstance(padding, str) else padding
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, stride), pair,
                 (1, single(dilation, "dilation")), groups)
    return out.squeeze(-2)
