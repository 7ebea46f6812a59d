"""Module 4's figure: where a real model's parameters and its arithmetic live. LeNet-5 (MNIST, 32x32): the fully
connected layers hold almost all the parameter bytes, the convolutions do most of the multiply-adds, and
time follows the arithmetic, not the bytes."""
from __future__ import annotations

import numpy as np

import tinytorch as tt
from tinytorch import nn

from ...milestones.lenet import lenet5
from .common import median_ms

BATCH = 256
SIDE = 32  # LeNet-5 reads MNIST's 28x28 digits centred in 32x32


def _macs(layer, x_shape, y_shape) -> int:
    """Multiply-adds of one sample through `layer`: each output element of a conv or a linear is a dot product."""
    if isinstance(layer, nn.Conv2d):
        return int(np.prod(y_shape[1:])) * layer.in_channels * int(np.prod(layer.kernel_size))
    if isinstance(layer, nn.Linear):
        return layer.in_features * layer.out_features
    return 0


def figure():
    model = lenet5(1, SIDE)
    x = tt.tensor(np.random.default_rng(0).standard_normal((BATCH, 1, SIDE, SIDE), dtype=np.float32))
    rows, total = [], [0, 0, 0]
    with tt.no_grad():
        for i, layer in enumerate(model):
            y = layer(x)
            params = sum(p.numel() for p in layer.parameters())
            if params:
                ms = median_ms(lambda: layer(tt.tensor(x.numpy())).numpy())
                row = (f"{i}: {type(layer).__name__}", params, params * 4, _macs(layer, x.shape, y.shape), ms)
                rows.append(row)
                total = [t + v for t, v in zip(total, row[1:4])]
            x = y.detach()
            x.numpy()
    print(f"LeNet-5 on {SIDE}x{SIDE} digits, float32, forward of a batch of {BATCH} per layer:")
    print(f"{'layer':<14}{'params':>9}{'bytes':>10}{'share':>7}{'MACs/sample':>13}{'share':>7}{'ms/batch':>10}")
    for name, params, nbytes, macs, ms in rows:
        print(f"{name:<14}{params:>9,}{nbytes:>10,}{nbytes / total[1]:>7.0%}{macs:>13,}{macs / total[2]:>7.0%}"
              f"{ms:>10.2f}")
    print(f"{'total':<14}{total[0]:>9,}{total[1]:>10,}{'':>7}{total[2]:>13,}")
