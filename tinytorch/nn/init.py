"""Weight initialisation, as torch.nn.init, drawn on the host from the tinytorch RNG.

Each function computes the values once on the host (eager mode or plain NumPy: no compile, no cached
Program) and makes the tensor a fresh buffer holding them, so a model's parameters are realized leaves from
the start and `tinytorch.manual_seed` makes initialisation reproducible. The gains and fans are torch's, so a
layer initialised here has the distribution it has in PyTorch (the draws themselves differ).
"""
from __future__ import annotations

import math

import numpy as np

from ..creation import RNG, rand, randn
from ..lazy import eager
from ..tensor import Tensor
from .parameter import set_data

LINEAR_GAIN_NAMES = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                     "conv_transpose3d", "sigmoid")
TANH_GAIN = 5.0 / 3
SELU_GAIN = 3.0 / 4  # torch's choice for SELU's self-normalizing init
LEAKY_RELU_SLOPE = 0.01
NORMAL_PROPOSAL_MIN_MASS = 0.25  # trunc_normal_ draws normals and rejects outside [a, b] while that keeps >= 1/4


def _fill(t: Tensor, make) -> Tensor:
    with eager():
        value = make().numpy()
    set_data(t, value)
    return t


def _empty(t: Tensor) -> bool:
    return t.numel() == 0  # torch warns "Initializing zero-element tensors is a no-op" and returns it unchanged


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    return _fill(tensor, lambda: rand(tensor.shape, dtype=tensor.dtype) * (b - a) + a)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    return _fill(tensor, lambda: randn(tensor.shape, dtype=tensor.dtype) * std + mean)


def constant_(tensor: Tensor, val: float) -> Tensor:
    set_data(tensor, np.full(tensor.shape, val, dtype=tensor.dtype))
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def _calculate_fan_in_and_fan_out(tensor: Tensor):
    """(fan_in, fan_out) = (dim 1, dim 0) times the receptive field (the product of the dims after 2)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out can not be computed for a tensor with fewer than 2 dims, got shape "
                         f"{tuple(tensor.shape)}; initialise 1-d tensors (biases) with uniform_ or constant_")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for `nonlinearity` (torch's table; param is leaky_relu's negative slope)."""
    if nonlinearity in LINEAR_GAIN_NAMES:
        return 1.0
    if nonlinearity == "tanh":
        return TANH_GAIN
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = LEAKY_RELU_SLOPE
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return SELU_GAIN
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of "
                     f"{', '.join(LINEAR_GAIN_NAMES)}, tanh, relu, leaky_relu, selu")


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} is not supported; use 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    if _empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    if _empty(tensor):
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode)))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """A (semi-)orthogonal matrix over (dim 0, the rest flattened): Q of the QR of a normal draw, signs fixed
    by R's diagonal so the result is uniform over orthogonal matrices (as torch)."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dims are supported, got shape "
                         f"{tuple(tensor.shape)}")
    if _empty(tensor):
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    with eager():
        flat = randn(rows, cols, dtype=np.float64).numpy()
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    set_data(tensor, q * gain)
    return tensor


def _phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def _truncated_standard_normal(n: int, lo: float, hi: float) -> np.ndarray:
    """n exact draws of N(0, 1) conditioned on [lo, hi], by rejection from tinytorch's RNG. The proposal: N(0, 1)
    itself while at least NORMAL_PROPOSAL_MIN_MASS of it lies inside; else a uniform on a narrow [lo, hi]
    (accepted with the density over its peak); else, for a tail, lo plus an exponential (Robert, 1995)."""
    if hi <= 0:  # the left tail is the mirror of the right
        return -_truncated_standard_normal(n, -hi, -lo)
    gen, out, todo = RNG.gen, np.empty(n), np.arange(n)
    if _phi(hi) - _phi(lo) >= NORMAL_PROPOSAL_MIN_MASS:
        kind = "normal"
    else:
        kind = "uniform" if lo <= 0 or (hi - lo) * lo <= 1 else "tail"
    peak = max(lo, 0.0)
    rate = (lo + math.sqrt(lo * lo + 4)) / 2
    while todo.size:
        if kind == "normal":
            z = gen.standard_normal(todo.size)
            ok = (z >= lo) & (z <= hi)
        elif kind == "uniform":
            z = gen.uniform(lo, hi, todo.size)
            ok = gen.random(todo.size) < np.exp((peak * peak - z * z) / 2)
        else:
            z = lo + gen.exponential(1 / rate, todo.size)
            ok = (z <= hi) & (gen.random(todo.size) < np.exp(-(z - rate) ** 2 / 2))
        out[todo[ok]] = z[ok]
        todo = todo[~ok]
    return out


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0):
    """N(mean, std^2) conditioned on [a, b] (a and b are values, not multiples of std, as torch)."""
    if not a < b:
        raise ValueError(f"trunc_normal_: needs a < b, got a={a}, b={b}")
    if std <= 0:
        raise ValueError(f"trunc_normal_: std must be positive, got {std}")
    z = _truncated_standard_normal(tensor.numel(), (a - mean) / std, (b - mean) / std)
    set_data(tensor, np.clip(z * std + mean, a, b).reshape(tensor.shape))
    return tensor


def default_reset_(weight, bias=None) -> None:
    """PyTorch's default for Linear and Conv: Kaiming-uniform (a=sqrt(5)) weights, biases uniform in
    +-1/sqrt(fan_in)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
