"""Conv3d and AvgPool3d modules over F.conv3d and F.avg_pool3d (a file of their own: conv3d.py is imported by
functional, so the modules, which need conv.py's `_Conv` and so functional, cannot live there)."""
from __future__ import annotations

from . import functional as F
from .conv import _Conv
from .conv3d import triple
from .module import Module


class Conv3d(_Conv):
    """Weight (out, in/groups, kd, kh, kw), initialized as Conv2d's (PyTorch's default for every conv)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", dtype=None):
        super().__init__()
        self.kernel_size = triple(kernel_size, "kernel_size", "Conv3d")
        self.stride, self.dilation = triple(stride, "stride", "Conv3d"), triple(dilation, "dilation", "Conv3d")
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise ValueError(f"Conv3d: padding must be an int, a 3-tuple of ints, 'valid' or 'same', got "
                             f"{padding!r}")
        self.padding = padding if isinstance(padding, str) else triple(padding, "padding", "Conv3d")
        self._parameters_for("Conv3d", in_channels, out_channels, groups, padding_mode,
                             (out_channels, in_channels // groups) + self.kernel_size, bias, dtype)

    def forward(self, input):
        return F.conv3d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0, 0, 0), "valid"):
            s += f", padding={self.padding}"  # unquoted, as PyTorch prints it
        if self.dilation != (1, 1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + (", bias=False" if self.bias is None else "")


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
