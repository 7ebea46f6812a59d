"""GroupNorm and InstanceNorm2d, with their functional forms group_norm and instance_norm.

Both normalize per sample over a group of channels and the spatial dims (a group of one channel is instance
norm), composed from mean and reshape, so they fuse and differentiate like any graph. InstanceNorm's running
statistics, when tracked, are buffers updated with `Tensor.assign` inside the step's graph, as BatchNorm's are.
"""
from __future__ import annotations

import numpy as np

from ..lazy import realize
from ..tensor import Tensor
from .module import Module
from .running_stats import register_running_stats
from .parameter import Parameter
from ..amp.autocast import autocast_op

NORM_EPS = 1e-5
RUNNING_MOMENTUM = 0.1


def _normalize(x: Tensor, dims: tuple, eps: float):
    """(x - mean) / sqrt(var + eps) over dims (biased var), with the mean and biased var it used."""
    mean = x.mean(dims, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(dims, keepdim=True)
    return centered * (var + eps).rsqrt(), mean, var


def _affine(out: Tensor, weight, bias):
    shape = (1, out.shape[1]) + (1,) * (out.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


@autocast_op("group_norm")
def group_norm(input: Tensor, num_groups: int, weight=None, bias=None, eps: float = NORM_EPS) -> Tensor:
    """Normalize (N, C, *) per sample over each group of C // num_groups channels and all of `*`."""
    if input.ndim < 2:
        raise ValueError(f"group_norm: expected an input of shape (N, C, *), got {input.shape}")
    n, c = input.shape[:2]
    if num_groups < 1 or c % num_groups:
        raise ValueError(f"group_norm: input {input.shape} has {c} channels (dim 1), which num_groups="
                         f"{num_groups} does not divide; use a num_groups that divides the channel count")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"group_norm: {name} has shape {t.shape} but input {input.shape} has {c} channels; "
                             f"it must have shape ({c},)")
    grouped = input.reshape(n, num_groups, -1)
    out, _, _ = _normalize(grouped, (2,), eps)
    return _affine(out.reshape(input.shape), weight, bias)


@autocast_op("instance_norm")
def instance_norm(input: Tensor, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = RUNNING_MOMENTUM, eps: float = NORM_EPS) -> Tensor:
    """Normalize (N, C, *) per sample and channel over `*`. With use_input_stats and running buffers, the
    buffers move towards the batch average of the instance means and unbiased variances (as torch)."""
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected an input of shape (N, C, *spatial), got {input.shape}")
    dims = tuple(range(2, input.ndim))
    if use_input_stats:
        out, mean, var = _normalize(input, dims, eps)
        if running_mean is not None:
            count = int(np.prod(input.shape[2:]))
            if count <= 1:
                raise ValueError(f"instance_norm: expected more than 1 spatial element per channel when "
                                 f"training, got input {input.shape}")
            c = input.shape[1]
            batch_mean = mean.detach().reshape(input.shape[0], c).mean(0)
            batch_var = var.detach().reshape(input.shape[0], c).mean(0) * (count / (count - 1))
            running_mean.assign(running_mean * (1 - momentum) + batch_mean * momentum)
            running_var.assign(running_var * (1 - momentum) + batch_var * momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and running_var")
        shape = (1, input.shape[1]) + (1,) * len(dims)
        out = (input - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
    return _affine(out, weight, bias)


def _affine_parameters(module: Module, channels: int, dtype, affine: bool, bias: bool) -> None:
    """weight (ones) and bias (zeros) per channel, each registered as None where absent (as torch)."""
    module.register_parameter("weight", Parameter(np.ones(channels, dtype)) if affine else None)
    module.register_parameter("bias", Parameter(np.zeros(channels, dtype)) if affine and bias else None)


class GroupNorm(Module):
    def __init__(self, num_groups: int, num_channels: int, eps: float = NORM_EPS, affine: bool = True,
                 dtype=None, *, bias: bool = True):
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        d = np.dtype(dtype or np.float32)
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        _affine_parameters(self, num_channels, d, affine, bias)

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm({self.num_groups}, {self.num_channels}): expected an input (N, "
                             f"{self.num_channels}, *), got {input.shape}")
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class InstanceNorm2d(Module):
    """Instance norm of (N, C, H, W) or unbatched (C, H, W); no affine and no running stats by default."""

    def __init__(self, num_features: int, eps: float = NORM_EPS, momentum: float | None = RUNNING_MOMENTUM,
                 affine: bool = False, track_running_stats: bool = False, dtype=None, *, bias: bool = True):
        super().__init__()
        d = np.dtype(dtype or np.float32)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_parameters(self, num_features, d, affine, bias)
        register_running_stats(self, num_features, d, track_running_stats)

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"InstanceNorm2d: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got "
                             f"{input.shape}")
        channels = input.shape[input.ndim - 3]
        if channels != self.num_features and self.affine:
            raise ValueError(f"InstanceNorm2d({self.num_features}): input {input.shape} has {channels} channels "
                             f"in dim {input.ndim - 3}; it must match num_features")
        batched = input if input.ndim == 4 else input.unsqueeze(0)
        if self.training and self.track_running_stats:
            pending = [b for b in self._buffers.values() if b is not None and not b.is_realized]
            if pending:  # last step's statistics, when nothing realized them: keeps each step's graph flat
                realize(*pending)
        out = instance_norm(batched, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            0.0 if self.momentum is None else self.momentum, self.eps)
        return out if input.ndim == 4 else out.squeeze(0)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")
