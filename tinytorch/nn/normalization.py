"""BatchNorm1d/2d and LayerNorm.

BatchNorm's running statistics are buffers updated with `Tensor.assign`
inside the training step's graph, so they are data that the same compiled
Program updates every step (not Python floats, not new constants).
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..lazy import realize
from . import functional as F
from .module import Module
from .parameter import Parameter
from .running_stats import register_running_stats


class _BatchNorm(Module):
    _dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=None):
        super().__init__()
        d = np.dtype(dtype or np.float32)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, d))
            self.bias = Parameter(np.zeros(num_features, d))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        register_running_stats(self, num_features, d, track_running_stats)

    def _check(self, input):
        if input.ndim not in self._dims:
            raise ValueError(f"{type(self).__name__}: expected a {' or '.join(f'{d}-d' for d in self._dims)} input "
                             f"(N, C{', ...' if max(self._dims) > 2 else ''}), got {input.shape}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): input {input.shape} has "
                             f"{input.shape[1]} channels in dim 1")

    def forward(self, input):
        self._check(input)
        use_batch = self.training or not self.track_running_stats
        momentum = self.momentum
        if self.training and self.track_running_stats:
            pending = [b for b in self._buffers.values() if b is not None and not b.is_realized]
            if pending:  # last step's statistics, when no optimizer step realized them: one Program for all
                realize(*pending)
            nbt = self.num_batches_tracked
            nbt.assign(nbt + 1)
            if momentum is None:  # cumulative moving average: 1/num_batches as data
                momentum = (1.0 / nbt.to(dtypes.float64)).to(input.dtype)
        track = self.training and self.track_running_stats
        return F.batch_norm(input, self.running_mean if track or not use_batch else None,
                            self.running_var if track or not use_batch else None, self.weight, self.bias,
                            use_batch, 0.0 if momentum is None else momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    _dims = (4,)


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        d = np.dtype(dtype or np.float32)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = Parameter(np.ones(shape, d)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, d)) if elementwise_affine and bias else None
        if self.weight is None:
            self.register_parameter("weight", None)
        if self.bias is None:
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
