"""Making tensors: from data, constants, ranges and seeded random numbers.

`tensor()` and `from_numpy()` hold data now (a buffer leaf); `zeros`, `ones`,
`full`, `arange` and `eye` are graph constants the compiler can fold; random
tensors are `rand` nodes whose seed is a small input buffer, so the same
program serves every draw and eager and lazy runs agree bit for bit.
"""
from __future__ import annotations

import math

import numpy as np

from . import compiler as C
from . import dtypes
from .runtime import Buffer
from .devices import check_device
from .tensor import Tensor
from .tensor_base import wrap


SEED_HIGH = 2**62  # rand seeds are drawn from [0, SEED_HIGH)


class RNG:
    """The generator that rand seeds, randperm and unseeded DataLoaders draw from (`manual_seed` replaces it)."""
    gen = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Seed every random op built from now on (rand, randn, randint, dropout, initialisation)."""
    RNG.gen = np.random.default_rng(seed)


def get_rng_state() -> np.ndarray:
    """The generator's state as a uint64 array (checkpoints store it)."""
    s = RNG.gen.bit_generator.state
    return np.array([s["state"]["state"], s["state"]["inc"], s["has_uint32"], s["uinteger"]], dtype=object) \
        .astype(str).astype("U40")


def set_rng_state(state) -> None:
    s = RNG.gen.bit_generator.state
    vals = [int(v) for v in np.asarray(state).tolist()]
    s["state"]["state"], s["state"]["inc"], s["has_uint32"], s["uinteger"] = vals
    RNG.gen.bit_generator.state = s


def next_seed(generator=None) -> Tensor:
    """A fresh rand seed from `generator` (a tinytorch.Generator) or the global stream."""
    gen = RNG.gen if generator is None else generator.gen
    return wrap(C.leaf(Buffer(np.array(gen.integers(0, SEED_HIGH), dtype=np.int64))))


def _size(size, op: str = "tensor") -> tuple:
    """The shape from `f(2, 3)` or `f((2, 3))`; a negative size is refused here, naming `op`, rather than by
    NumPy's "negative dimensions" error at realize."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    size = tuple(int(s) for s in size)
    if any(s < 0 for s in size):
        raise ValueError(f"{op}: sizes must be non-negative, got {size}")
    return size


def _finish(node, requires_grad) -> Tensor:
    t = wrap(node)
    if requires_grad:
        t = t.realize()
        t.requires_grad = True
    return t


def tensor(data, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    check_device(device)
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data, dtype=None) -> Tensor:
    return data.to(dtype) if isinstance(data, Tensor) and dtype is not None else \
        data if isinstance(data, Tensor) else Tensor(data, dtype=dtype)


def from_numpy(arr: np.ndarray) -> Tensor:
    return Tensor(arr, dtype=arr.dtype)


def full(size, fill_value, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    check_device(device)
    size = _size((size,), "full")
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.result_type(fill_value)
    return _finish(C.const(fill_value, size, d), requires_grad)


def zeros(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    check_device(device)
    return full(_size(size, "zeros"), 0, dtype or dtypes.DEFAULT_FLOAT, requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    check_device(device)
    return full(_size(size, "ones"), 1, dtype or dtypes.DEFAULT_FLOAT, requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    check_device(device)
    _size(size, "empty")
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    check_device(device)
    return full(t.shape, 0, dtype or t.dtype, requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    check_device(device)
    return full(t.shape, 1, dtype or t.dtype, requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    check_device(device)
    return full(t.shape, fill_value, dtype or t.dtype, requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    check_device(device)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    n = max(0, math.ceil((end - start) / step))
    if dtype is None:
        dtype = dtypes.int64 if all(isinstance(v, (int, np.integer)) for v in (start, end, step)) \
            else dtypes.DEFAULT_FLOAT
    dtype = dtypes.as_dtype(dtype)
    return _finish(C.build("arange", arg=(start, step, n, dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """`steps` points from start to end, as PyTorch computes them: the first half counted up from start,
    the second half down from end, so both ends are exact."""
    check_device(device)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    i = arange(0, steps, dtype=dtypes.float64)
    out = (i * step + start).where(i < max(steps // 2, 1), end - (steps - 1 - i) * step)
    return _finish(out.to(dtype or dtypes.DEFAULT_FLOAT)._node, requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """base ** linspace(start, end, steps), computed in float64."""
    check_device(device)
    out = linspace(start, end, steps, dtype=dtypes.float64).mul(math.log(base)).exp()
    return _finish(out.to(dtype or dtypes.DEFAULT_FLOAT)._node, requires_grad)


def eye(n, m=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    check_device(device)
    m = n if m is None else m
    _size((n, m), "eye")
    rows = arange(n).reshape(n, 1).expand(n, m)
    cols = arange(m).reshape(1, m).expand(n, m)
    out = (rows == cols).to(dtype or dtypes.DEFAULT_FLOAT)
    return _finish(out._node, requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Uniform on [0, 1)."""
    check_device(device)
    d = dtypes.as_dtype(dtype or dtypes.DEFAULT_FLOAT)
    return _finish(C.build("rand", next_seed(generator)._node, arg=(_size(size, "rand"), d)), requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Standard normal by the Box-Muller transform of two uniform draws."""
    check_device(device)
    size = _size(size, "randn")
    d = dtypes.as_dtype(dtype or dtypes.DEFAULT_FLOAT)
    u1 = wrap(C.build("rand", next_seed(generator)._node, arg=(size, dtypes.float64)))
    u2 = wrap(C.build("rand", next_seed(generator)._node, arg=(size, dtypes.float64)))
    z = ((1.0 - u1).log() * -2.0).sqrt() * (u2 * (2 * math.pi)).cos()
    return _finish(z.to(d)._node, requires_grad)


def randint(low, high=None, size=None, dtype=None, generator=None, device=None) -> Tensor:
    """Integers uniform on [low, high); `randint(high, size)` as in PyTorch."""
    if size is None and isinstance(high, (tuple, list)):
        high, size = None, high
    if high is None:
        low, high = 0, low
    size = () if size is None else _size((size,), "randint")
    if not low < high:
        raise ValueError(f"randint: low must be less than high, got low={low} >= high={high}; values are drawn "
                         f"from [low, high)")
    check_device(device)
    u = wrap(C.build("rand", next_seed(generator)._node, arg=(tuple(size), dtypes.float64)))
    return ((u * (high - low)).floor() + low).to(dtype or dtypes.int64)


def randperm(n: int, dtype=None, generator=None, device=None) -> Tensor:
    check_device(device)
    return Tensor((RNG.gen if generator is None else generator.gen).permutation(n), dtype=dtype or dtypes.int64)


def rand_like(t: Tensor, dtype=None) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype)


def randn_like(t: Tensor, dtype=None) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype)


def normal(mean=0.0, std=1.0, size=()) -> Tensor:
    return randn(size) * std + mean


def uniform(low=0.0, high=1.0, size=()) -> Tensor:
    return rand(size) * (high - low) + low
