"""The activations torch.nn adds beyond ReLU/GELU/SiLU: functional forms and their modules.

Each is a composition of tensor ops (where, exp, log, arithmetic, reductions), so autograd and every pass handle
it with no special case. The gradient at a kink is the one PyTorch defines there: a piecewise function is a
`where` whose branches are each differentiable everywhere they are picked (never `abs`, whose derivative is 0
at 0, nor `maximum`, which splits a tie). Nothing here imports `functional.py`, which re-exports these names.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..elementwise import as_tensor, exp, log, sigmoid, tanh, where
from ..reduce import amax, softmax
from .module import Module
from .parameter import Parameter, set_data

SELU_ALPHA = 1.6732632423543772848170429916717  # from "Self-Normalizing Neural Networks", as torch.nn.SELU
SELU_SCALE = 1.0507009873554804934193349852946
HARD_BOUND = 3.0  # hardsigmoid / hardswish are linear on (-3, 3)
RELU6_CAP = 6.0
SOFTPLUS_THRESHOLD = 20.0
NORMALIZE_EPS = 1e-12


def _float(x):
    x = as_tensor(x)
    return x if x.dtype.kind == "f" else x.to(dtypes.DEFAULT_FLOAT)


def _value_with_grad(value, surrogate):
    """`value`, differentiated as `surrogate` (whose value it equals up to rounding): the accurate forms below
    are exact in value, but their own derivative amplifies rounding error near 0."""
    return value.detach() + (surrogate - surrogate.detach())


def _log1p(e):
    """log(1 + e) for e >= 0, accurate where 1 + e rounds (Goldberg: log(u) * e / (u - 1), u = 1 + e); the
    division's denominator is never 0, so an unpicked branch cannot make a NaN."""
    u = e + 1.0
    exact = u == 1.0
    accurate = where(exact, e, log(u) * (e / where(exact, 1.0, u - 1.0)))
    return _value_with_grad(accurate, log(u))


def _expm1(x):
    """exp(x) - 1 for x <= 0, accurate near 0 (Kahan: (u - 1) * x / log(u), u = exp(x))."""
    u = exp(x)
    exact, under = u == 1.0, u == 0.0
    safe = where(exact | under, 0.5, u)
    accurate = where(exact, x, where(under, -1.0, (safe - 1.0) * (x / log(safe))))
    return _value_with_grad(accurate, u)


def _neg_abs(x):
    """-|x| with derivative -1 above 0 and +1 at and below 0 (the side each formula below picks at 0)."""
    return where(x > 0, -x, x)


def softplus(input, beta: float = 1.0, threshold: float = SOFTPLUS_THRESHOLD):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold, as torch.

    Computed as max(z, 0) + log1p(exp(-|z|)): exp never overflows, and its gradient is sigmoid(z) exactly."""
    x = _float(input)
    z = x * beta
    stable = where(z > 0, z, 0.0) + _log1p(exp(_neg_abs(z)))
    return where(z > threshold, x, stable * (1.0 / beta))


def logsigmoid(input):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): finite for every finite x."""
    x = _float(input)
    return where(x > 0, 0.0, x) - _log1p(exp(_neg_abs(x)))


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """x clipped to [min_val, max_val]; gradient 1 strictly inside, 0 at and beyond the bounds (as torch)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not be greater than max_val ({max_val})")
    x = as_tensor(input)
    return where(x <= min_val, float(min_val), where(x >= max_val, float(max_val), x))


def relu6(input, inplace: bool = False):
    return hardtanh(input, 0.0, RELU6_CAP)


def hardsigmoid(input, inplace: bool = False):
    """relu6(x + 3) / 6: 0 at and below -3, 1 at and above 3."""
    x = _float(input)
    return where(x <= -HARD_BOUND, 0.0, where(x >= HARD_BOUND, 1.0, x * (1 / RELU6_CAP) + 0.5))


def hardswish(input, inplace: bool = False):
    """x * relu6(x + 3) / 6; torch's gradient is x/3 + 1/2 strictly inside (-3, 3), 0 at -3 and 1 at 3."""
    x = _float(input)
    return where(x <= -HARD_BOUND, 0.0, where(x >= HARD_BOUND, x, x * (x + HARD_BOUND) * (1 / RELU6_CAP)))


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """x above 0, alpha (exp(x) - 1) at and below (the derivative at 0 is alpha, as torch's)."""
    x = _float(input)
    return where(x > 0, x, _expm1(where(x > 0, 0.0, x)) * alpha)


def celu(input, alpha: float = 1.0, inplace: bool = False):
    """x above 0, alpha (exp(x / alpha) - 1) at and below."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides the input)")
    x = _float(input)
    return where(x > 0, x, _expm1(where(x > 0, 0.0, x) * (1.0 / alpha)) * alpha)


def selu(input, inplace: bool = False):
    return elu(input, SELU_ALPHA) * SELU_SCALE


def mish(input, inplace: bool = False):
    """x tanh(softplus(x)), softplus without a threshold (torch's mish uses the exact log1p(exp(x)))."""
    x = _float(input)
    return x * tanh(softplus(x, 1.0, float("inf")))


def softsign(input):
    x = _float(input)
    return x / (x.abs() + 1.0)


def _legacy_softmax_dim(ndim: int) -> int:
    return 0 if ndim in (0, 1, 3) else 1  # torch's choice when dim is omitted (it warns and picks this)


def softmin(input, dim: int | None = None, _stacklevel: int = 3, dtype=None):
    x = as_tensor(input)
    if dtype is not None:
        x = x.to(dtype)
    return softmax(-x, _legacy_softmax_dim(x.ndim) if dim is None else dim)


def glu(input, dim: int = -1):
    """a * sigmoid(b), where a and b are the two halves of `input` along `dim`."""
    x = as_tensor(input)
    if x.ndim == 0:
        raise ValueError("glu: does not support scalars (0-d tensors); give it a tensor with an even-sized dim")
    d = dim % x.ndim if -x.ndim <= dim < x.ndim else dim
    if not 0 <= d < x.ndim:
        raise IndexError(f"glu: dim {dim} is out of range for input of shape {x.shape}")
    if x.shape[d] % 2:
        raise ValueError(f"glu: halving dimension must be even, but dim {dim} of input {x.shape} has size "
                         f"{x.shape[d]}; pad it or choose another dim")
    a, b = x.chunk(2, d)
    return a * sigmoid(b)


def prelu(input, weight):
    """x above 0, weight * x at and below; weight has 1 element or one per channel (dim 1 of input)."""
    x, w = as_tensor(input), as_tensor(weight)
    if w.ndim > 1:
        raise ValueError(f"prelu: weight must be 1-d (num_parameters,), got shape {w.shape}")
    n = w.numel()
    channels = x.shape[1] if x.ndim >= 2 else 1
    if n != 1 and n != channels:
        raise ValueError(f"prelu: weight {w.shape} has {n} parameters but input {x.shape} has {channels} "
                         f"channels (dim 1); use num_parameters=1 or num_parameters={channels}")
    if n == 1 or x.ndim < 2:
        w = w.reshape(())
    else:
        w = w.reshape((n,) + (1,) * (x.ndim - 2))
    return where(x > 0, x, x * w)


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = NORMALIZE_EPS, out=None):
    """input / max(||input||_p along dim, eps). The norm of an all-zero slice has gradient 0, not NaN."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported; use the returned tensor")
    x = _float(input)
    if p == float("inf"):
        norm = amax(x.abs(), dim, keepdim=True)
    elif p == 1:
        norm = x.abs().sum(dim, keepdim=True)
    elif p > 0:
        powered = (x * x).sum(dim, keepdim=True) if p == 2 else (x.abs() ** p).sum(dim, keepdim=True)
        zero = powered == 0
        norm = where(zero, 0.0, where(zero, 1.0, powered) ** (1.0 / p))
    else:
        raise ValueError(f"normalize: p must be positive or inf, got {p}")
    return x / where(norm < eps, eps, norm)


# ------------------------------------------------------------------ modules

class _Elementwise(Module):
    """A module whose forward is `fn(input)`; `inplace` is accepted for torch's signature and has no effect."""
    fn = None

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self).fn(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Hardsigmoid(_Elementwise):
    fn = staticmethod(hardsigmoid)


class Hardswish(_Elementwise):
    fn = staticmethod(hardswish)


class SELU(_Elementwise):
    fn = staticmethod(selu)


class Mish(_Elementwise):
    fn = staticmethod(mish)


class Softsign(Module):
    def forward(self, input):
        return softsign(input)


class LogSigmoid(Module):
    def forward(self, input):
        return logsigmoid(input)


class Hardtanh(Module):
    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not be greater than max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    def __init__(self, inplace: bool = False):
        super().__init__(0.0, RELU6_CAP, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ELU(Module):
    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    fn = staticmethod(elu)

    def forward(self, input):
        return type(self).fn(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    fn = staticmethod(celu)


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = SOFTPLUS_THRESHOLD):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmin(Module):
    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return softmin(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class GLU(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class PReLU(Module):
    """x above 0, a * x below, with `num_parameters` learned slopes (1, or one per channel) starting at `init`."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype=None):
        super().__init__()
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, int) or num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be an int >= 1, got {num_parameters!r}")
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(np.full(num_parameters, init, np.dtype(dtype or np.float32)))

    def reset_parameters(self) -> None:
        set_data(self.weight, np.full(self.num_parameters, self.init))

    def forward(self, input):
        return prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"
