"""Reductions: sum and max are primitives; everything else is composed from them.

The primitive keeps reduced axes as size 1 (`keepdim=True`), which makes its
gradient a plain `expand`; `keepdim=False` is a reshape afterwards.
"""
from __future__ import annotations

from collections import namedtuple

from . import compiler as C
from . import dtypes
from .autograd import no_grad
from .dims import normalize_dim
from .elementwise import as_tensor, maximum, order_flip, where
from .tensor_base import TensorBase, op_result, wrap
from .amp.autocast import autocast_op

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _dims(x: TensorBase, dim, op: str, axis=None) -> tuple:
    if axis is not None:
        dim = axis
    if dim is None or isinstance(dim, (tuple, list)) and len(dim) == 0:  # dim=() reduces all, as in PyTorch
        return tuple(range(x.ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    out = tuple(sorted({normalize_dim(d, x.shape, op) for d in dims}))
    if len(out) != len(dims):
        raise ValueError(f"{op}: dim {dim} names an axis twice")
    return tuple(d for d in out if d < x.ndim)


def _finish(x: TensorBase, out: TensorBase, dims: tuple, keepdim: bool) -> TensorBase:
    if keepdim or not dims:
        return out
    return out.reshape(tuple(s for i, s in enumerate(x.shape) if i not in dims))


def _reduce(op: str, x: TensorBase, dims: tuple, keepdim: bool) -> TensorBase:
    if not dims:
        return x
    return _finish(x, op_result(op, (x,), arg=dims), dims, keepdim)


@autocast_op("sum")
def sum(x: TensorBase, dim=None, keepdim: bool = False, dtype=None, axis=None) -> TensorBase:
    dims = _dims(x, dim, "sum", axis)
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind in "biu":
        x = x.to(dtypes.int64)  # as PyTorch: integer sums accumulate in int64
    return _reduce("sum", x, dims, keepdim)


@autocast_op("mean")
def mean(x: TensorBase, dim=None, keepdim: bool = False, dtype=None, axis=None) -> TensorBase:
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise TypeError(f"mean: needs a floating point tensor, got {x.dtype.name}{list(x.shape)}; "
                        f"use .float().mean() or mean(dtype=tinytorch.float32)")
    dims = _dims(x, dim, "mean", axis)
    count = 1
    for d in dims:
        count *= x.shape[d]
    return sum(x, dims, keepdim) * (1.0 / count if count else float("nan"))


def _max_values(x: TensorBase, dims, keepdim) -> TensorBase:
    if x.dtype.kind == "b":
        return _reduce("max", x.to(dtypes.int64), dims, keepdim).to(dtypes.bool)
    return _reduce("max", x, dims, keepdim)


def _check_nonempty(x, op, dims):
    """max/min/argmax have no identity: reducing over a size-0 dim is an error (other empty outputs are fine)."""
    if x.numel() == 0 and 0 in [x.shape[d] for d in dims]:
        raise ValueError(f"{op}: cannot reduce over a size-0 dim of the empty tensor of shape {x.shape}; "
                         f"give a dim whose size is not 0")


def max(x: TensorBase, dim=None, keepdim: bool = False, axis=None):
    """max over everything -> a tensor; max(dim) -> (values, indices) as in PyTorch; max(other) -> maximum."""
    if isinstance(dim, TensorBase):
        return maximum(x, dim)
    if axis is not None:
        dim = axis
    dims = _dims(x, dim, "max")
    _check_nonempty(x, "max", dims)
    if dim is None or isinstance(dim, (tuple, list)):
        return _max_values(x, dims, keepdim)
    return MaxResult(_max_values(x, dims, keepdim), argmax(x, dim, keepdim))


def min(x: TensorBase, dim=None, keepdim: bool = False, axis=None):
    if isinstance(dim, TensorBase):
        return x.minimum(dim)
    if axis is not None:
        dim = axis
    dims = _dims(x, dim, "min")
    _check_nonempty(x, "min", dims)
    flip = order_flip
    if dim is None or isinstance(dim, (tuple, list)):
        return flip(_max_values(flip(x), dims, keepdim))
    return MaxResult(flip(_max_values(flip(x), dims, keepdim)), argmin(x, dim, keepdim))


def amax(x: TensorBase, dim=None, keepdim: bool = False, axis=None) -> TensorBase:
    return max(x, tuple(_dims(x, dim, "amax", axis)), keepdim)


def amin(x: TensorBase, dim=None, keepdim: bool = False, axis=None) -> TensorBase:
    return min(x, tuple(_dims(x, dim, "amin", axis)), keepdim)


def argmax(x: TensorBase, dim=None, keepdim: bool = False, axis=None) -> TensorBase:
    """Index of the first maximum along dim (over the flattened tensor when dim is None)."""
    dim = dim if axis is None else axis
    _check_nonempty(x, "argmax", _dims(x, dim, "argmax"))
    if dim is None:
        out = argmax(x.reshape(-1), 0)
        return out.reshape((1,) * x.ndim) if keepdim else out
    d = normalize_dim(dim, x.ndim, "argmax")
    if x.ndim == 0:
        return wrap(C.const(0, (), dtypes.int64))
    if x.dtype.kind == "b":
        x = x.to(dtypes.int64)
    with no_grad():
        top = _reduce("max", x, (d,), True)
        n = x.shape[d]
        pos = wrap(C.build("arange", arg=(0, 1, n, dtypes.int64))).reshape(
            tuple(n if i == d else 1 for i in range(x.ndim)))
        hit = x == top
        if x.dtype.kind == "f":  # a NaN is the max (the row's max is NaN), as in PyTorch: its first index wins
            hit = hit | (x != x)
        cand = where(hit, pos, n)
        first = -_reduce("max", -cand, (d,), True)
    return _finish(x, first, (d,), keepdim)


def argmin(x: TensorBase, dim=None, keepdim: bool = False, axis=None) -> TensorBase:
    return argmax(order_flip(x), dim, keepdim, axis)


@autocast_op("var")
def var(x: TensorBase, dim=None, unbiased=None, keepdim: bool = False, correction=None, axis=None) -> TensorBase:
    """Variance, unbiased (correction=1) by default as in PyTorch."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if isinstance(dim, bool):  # var(x, False) means unbiased=False in PyTorch's old signature
        dim, correction = None, int(dim)
    dims = _dims(x, dim, "var", axis)
    if x.dtype.kind != "f":
        raise TypeError(f"var/std: need a floating point tensor, got {x.dtype.name}{list(x.shape)}; "
                        f"use .float() first")
    count = 1
    for d in dims:
        count *= x.shape[d]
    centered = x - mean(x, dims, keepdim=True)
    denom = count - correction
    return sum(centered * centered, dims, keepdim) * (1.0 / denom if denom > 0 else float("nan"))


@autocast_op("std")
def std(x: TensorBase, dim=None, unbiased=None, keepdim: bool = False, correction=None, axis=None) -> TensorBase:
    v = var(x, dim, unbiased, keepdim, correction, axis)
    return where(v == 0, 0.0, v).sqrt()  # as torch: gradient 0, not inf * 0, where the spread is 0


@autocast_op("logsumexp")
def logsumexp(x: TensorBase, dim=None, keepdim: bool = False, axis=None) -> TensorBase:
    dims = _dims(x, dim, "logsumexp", axis)
    if x.numel() == 0:  # no max to shift by, and none needed: log(sum of nothing) = -inf, as PyTorch
        return _finish(x, x.sum(dims, keepdim=True) * 0.0 - float("inf"), dims, keepdim)
    # BEGIN EXERCISE m05.logsumexp
    # STUB: out = x.exp().sum(dims, keepdim=True).log()  # naive: exp overflows to inf past 88 in float32
    # STUB: return _finish(x, out, dims, keepdim)
    top = _max_values(x, dims, True).detach()
    top = where(top.abs() == float("inf"), 0.0, top)
    out = (x - top).exp().sum(dims, keepdim=True).log() + top
    return _finish(x, out, dims, keepdim)
    # END EXERCISE m05.logsumexp


@autocast_op("softmax")
def softmax(x: TensorBase, dim=-1, dtype=None, axis=None) -> TensorBase:
    if dtype is not None:
        x = x.to(dtype)
    dims = _dims(x, dim, "softmax", axis)
    if x.numel() == 0:  # an empty result of the same shape, as PyTorch (an empty max has no value to shift by)
        return x.exp()
    e = (x - _max_values(x, dims, True).detach()).exp()
    return e / e.sum(dims, keepdim=True)


@autocast_op("log_softmax")
def log_softmax(x: TensorBase, dim=-1, dtype=None, axis=None) -> TensorBase:
    if dtype is not None:
        x = x.to(dtype)
    return x - logsumexp(x, dim if axis is None else axis, keepdim=True)


@autocast_op("prod")
def prod(x: TensorBase, dim=None, keepdim: bool = False, dtype=None) -> TensorBase:
    """Product via exp(sum(log|x|)) over the nonzero elements, the sign and zeros tracked apart (there is no
    multiply-reduce primitive). With exactly one zero the result is that product times the zero element
    itself, so its gradient is the product of the others, as PyTorch's (with two zeros, all 0)."""
    if dtype is not None:
        x = x.to(dtype)
    dims = _dims(x, dim, "prod")
    xf = x if x.dtype.kind == "f" else x.to(dtypes.float64)
    is_zero = xf == 0
    mag = where(is_zero, 1.0, xf.abs()).log().sum(dims, keepdim).exp()
    negs = sum((xf < 0).to(dtypes.int64), dims, keepdim)
    nonzero = where(negs % 2 == 1, -mag, mag)
    zeros = sum(is_zero.to(dtypes.int64), dims, keepdim)
    lone_zero = where(is_zero, xf, 0.0).sum(dims, keepdim)
    out = where(zeros == 0, nonzero, where(zeros == 1, nonzero * lone_zero, 0.0))
    return out if x.dtype.kind == "f" else out.round().to(dtypes.int64)


def all(x: TensorBase, dim=None, keepdim: bool = False) -> TensorBase:
    if x.numel() == 0:  # no min of nothing: count the False elements (none), keeping the reduced shape
        return sum(x.bool().logical_not(), _dims(x, dim, "all"), keepdim) == 0
    return min(x.bool(), tuple(_dims(x, dim, "all")), keepdim)


def any(x: TensorBase, dim=None, keepdim: bool = False) -> TensorBase:
    if x.numel() == 0:
        return sum(x.bool(), _dims(x, dim, "any"), keepdim) > 0
    return _max_values(x.bool(), _dims(x, dim, "any"), keepdim)


class ReduceMixin:
    """Tensor's reductions: each method is the function of the same name above (`x.sum(1)` is `sum(x, 1)`)."""
    __slots__ = ()

    sum = sum
    mean = mean
    max = max
    min = min
    amax = amax
    amin = amin
    argmax = argmax
    argmin = argmin
    var = var
    std = std
    logsumexp = logsumexp
    softmax = softmax
    log_softmax = log_softmax
    prod = prod
    all = all
    any = any
