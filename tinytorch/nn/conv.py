"""Conv1d, Conv2d, ConvTranspose2d, MaxPool2d and AvgPool2d modules over their functional forms."""
from __future__ import annotations

import numpy as np

from . import functional as F
from . import init
from .conv1d import single
from .convolution import _pair, window_ints
from .module import Module
from .parameter import Parameter


class _Conv(Module):
    """What every conv module shares: the channel checks and the weight and bias, initialized as PyTorch's
    (Kaiming-uniform(a=sqrt(5)) weights, bias U(+-1/sqrt(fan_in)))."""

    def _parameters_for(self, op: str, in_channels: int, out_channels: int, groups: int, padding_mode: str,
                        weight_shape: tuple, bias: bool, dtype) -> None:
        if padding_mode != "zeros":
            raise NotImplementedError(f"{op}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{op}: in_channels {in_channels} and out_channels {out_channels} must both divide "
                             f"by groups {groups}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        d = np.dtype(dtype or np.float32)
        self.weight = Parameter(np.zeros(weight_shape, d))
        self.bias = Parameter(np.zeros(out_channels, d)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _window_fields(self, op: str, n: int, kernel_size, stride, padding, dilation) -> None:
        """kernel_size, stride, dilation and padding as n-tuples (padding may be 'valid' or 'same'), checked."""
        self.kernel_size = window_ints(kernel_size, n, "kernel_size", op)
        self.stride, self.dilation = window_ints(stride, n, "stride", op), window_ints(dilation, n, "dilation", op)
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise ValueError(f"{op}: padding must be an int, {'a pair' if n == 2 else f'a {n}-tuple'} of ints, "
                             f"'valid' or 'same', got {padding!r}")
        self.padding = padding if isinstance(padding, str) else window_ints(padding, n, "padding", op)

    def reset_parameters(self) -> None:
        init.default_reset_(self.weight, self.bias)

    def extra_repr(self):
        """PyTorch's: the fields that differ from their defaults; a string padding unquoted."""
        n = len(self.kernel_size)
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + (", bias=False" if self.bias is None else "")


class ConvNd(_Conv):
    """An n-d convolution module (n = `dims`) over the functional form `conv` (a staticmethod), as PyTorch's:
    weight (out, in/groups, *kernel_size) Kaiming-uniform(a=sqrt(5)), bias U(+-1/sqrt(fan_in))."""
    dims: int
    conv = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", dtype=None):
        super().__init__()
        op = type(self).__name__
        self._window_fields(op, self.dims, kernel_size, stride, padding, dilation)
        self._parameters_for(op, in_channels, out_channels, groups, padding_mode,
                             (out_channels, in_channels // groups) + self.kernel_size, bias, dtype)

    def forward(self, input):
        return self.conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2d(ConvNd):
    """Weight (out, in/groups, kh, kw) Kaiming-uniform(a=sqrt(5)), bias U(+-1/sqrt(fan_in)), as PyTorch."""
    dims, conv = 2, staticmethod(F.conv2d)


class Conv1d(_Conv):
    """Weight (out, in/groups, k), initialized as Conv2d's (PyTorch's default for every conv)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", dtype=None):
        super().__init__()
        self.kernel_size = (single(kernel_size, "kernel_size", "Conv1d"),)
        self.stride = (single(stride, "stride", "Conv1d"),)
        self.dilation = (single(dilation, "dilation", "Conv1d"),)
        padding = single(padding, "padding", "Conv1d")
        self.padding = padding if isinstance(padding, str) else (padding,)
        self._parameters_for("Conv1d", in_channels, out_channels, groups, padding_mode,
                             (out_channels, in_channels // groups) + self.kernel_size, bias, dtype)

    def forward(self, input):
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(input, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0,), "valid"):
            s += f", padding={self.padding}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + (", bias=False" if self.bias is None else "")


class ConvTranspose2d(_Conv):
    """Weight (in, out/groups, kh, kw), initialized as PyTorch's (Kaiming-uniform over fan_in = out/groups*kh*kw)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", dtype=None):
        super().__init__()
        op = "ConvTranspose2d"
        self.kernel_size, self.stride = _pair(kernel_size, "kernel_size", op), _pair(stride, "stride", op)
        self.padding, self.dilation = _pair(padding, "padding", op), _pair(dilation, "dilation", op)
        self.output_padding = _pair(output_padding, "output_padding", op)
        self._parameters_for(op, in_channels, out_channels, groups, padding_mode,
                             (in_channels, out_channels // groups) + self.kernel_size, bias, dtype)

    def forward(self, input, output_size=None):
        extra = self.output_padding
        if output_size is not None:  # the output_padding that gives this size, as PyTorch
            size = tuple(output_size)[-2:]
            default = [(n - 1) * s - 2 * p + dl * (k - 1) + 1 for n, s, p, dl, k in
                       zip(input.shape[-2:], self.stride, self.padding, self.dilation, self.kernel_size)]
            extra = tuple(o - d for o, d in zip(size, default))
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, extra, self.groups,
                                  self.dilation)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        for name, zero in (("padding", (0, 0)), ("output_padding", (0, 0)), ("dilation", (1, 1))):
            if getattr(self, name) != zero:
                s += f", {name}={getattr(self, name)}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + (", bias=False" if self.bias is None else "")


def _check_window_args(op, **args):
    """Check a pool's arguments when the module is made, so the error points at the constructor's line."""
    for name, v in args.items():
        _pair(v, name, op)


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode
        self.return_indices = return_indices
        _check_window_args("MaxPool2d", kernel_size=kernel_size, stride=self.stride, padding=padding,
                           dilation=dilation)

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    pool = staticmethod(F.avg_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
        self._check_args()

    def _check_args(self):  # here, so the error points at the module's line
        _check_window_args("AvgPool2d", kernel_size=self.kernel_size, stride=self.stride, padding=self.padding)

    def forward(self, input):
        return self.pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                         self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
