"""Conv3d and AvgPool3d modules over F.conv3d and F.avg_pool3d (a file of their own: conv3d.py is imported by
functional, so the modules, which need conv.py's `ConvNd` and so functional, cannot live there)."""
from __future__ import annotations

from . import functional as F
from .conv import ConvNd
from .conv3d import triple
from .module import Module


class Conv3d(ConvNd):
    """Weight (out, in/groups, kd, kh, kw), initialized as Conv2d's (PyTorch's default for every conv)."""
    dims, conv = 3, staticmethod(F.conv3d)


class AvgPool3d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
        for name in ("kernel_size", "stride", "padding"):  # checked here, so the error points at this line
            triple(getattr(self, name), name, "AvgPool3d")

    def forward(self, input):
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
