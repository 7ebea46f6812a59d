"""avg_pool3d over (N, C, D, H, W), composed from avg_pool2d; no new op.

The window sums over H and W are avg_pool2d's (divisor 1) with depth folded into the channels; the sums over
depth add the k strided depth slices of the padded result (conv3d's `depth_slices`). Then one division by
PyTorch's divisor: the product of the per-dim window counts (each window clipped to the padded input, or to
the input itself when count_include_pad is False), or divisor_override.
"""
from __future__ import annotations

import numpy as np

from ..movement import pad as _pad
from ..tensor import Tensor
from .constants import const_tensor
from .conv3d import batched3d, depth_slices, triple
from .pooling import _pool_size, _window_counts, avg_pool2d


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    op = "avg_pool3d"
    x, unbatched = batched3d(input, op)
    if divisor_override is not None and (isinstance(divisor_override, bool) or divisor_override == 0):
        raise ValueError(f"{op}: divisor_override must be a nonzero number, got {divisor_override!r}")
    kernel = triple(kernel_size, "kernel_size", op, input.shape)
    stride = kernel if stride is None or stride == [] else triple(stride, "stride", op, input.shape)
    pad = triple(padding, "padding", op, input.shape)
    if any(2 * p > k for p, k in zip(pad, kernel)):
        raise ValueError(f"{op}: padding {pad} should be at most half the kernel size {kernel} "
                         f"(input {input.shape})")
    sizes = x.shape[2:]
    outs = [_pool_size(n, k, s, p, 1, ceil_mode) for n, k, s, p in zip(sizes, kernel, stride, pad)]
    if min(outs) < 1:
        raise ValueError(f"{op}: a {'x'.join(map(str, kernel))} window (padding {pad}) does not fit the input "
                         f"{input.shape}; use a smaller kernel or more padding")
    N, C, D = x.shape[:3]
    planes = avg_pool2d(x.reshape((N, C * D) + sizes[1:]), kernel[1:], stride[1:], pad[1:], ceil_mode,
                        divisor_override=1)
    planes = planes.reshape((N, C, D) + planes.shape[2:])
    extra = max(0, (outs[0] - 1) * stride[0] + kernel[0] - D - 2 * pad[0])
    if pad[0] or extra:
        planes = _pad(planes, (0, 0, 0, 0, pad[0], pad[0] + extra))
    summed = None
    for part in depth_slices(planes, kernel[0], stride[0], 1, outs[0]):
        summed = part if summed is None else summed + part
    if divisor_override:
        out = summed * (1.0 / divisor_override)
    else:
        counts = [_window_counts(n, o, k, s, p, count_include_pad)
                  for n, o, k, s, p in zip(sizes, outs, kernel, stride, pad)]
        divisor = np.multiply.outer(np.multiply.outer(counts[0], counts[1]), counts[2])
        out = summed * (1.0 / float(divisor.flat[0])) if (divisor == divisor.flat[0]).all() else \
            summed * const_tensor(1.0 / divisor, x.dtype)
    return out.squeeze(0) if unbatched else out
