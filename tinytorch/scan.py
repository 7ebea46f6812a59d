"""Cumulative ops along one dim: cumsum, cumprod, cummax, cummin, logcumsumexp.

`cumsum` is the `cumsum` primitive (compiler/ops/scan.py: a sequential O(n) scan; its gradient is the
reversed cumsum). The others have no primitive, so each is a Hillis-Steele scan built from ops we have: log2(n) rounds, round k
combining every element with the one 2^k before it (a slice padded with the combine's identity). That is
O(n log n) work and log2(n) small kernels, and every gradient is the combine's own: cumprod's is `mul`'s
(exact with zeros, no division), logcumsumexp's is `logaddexp`'s. cummax/cummin carry (value, index) pairs,
the later index winning a tie and a NaN winning once seen, as PyTorch; the values are then taken with a
gather, so the gradient goes to that one index as PyTorch's does.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from . import compiler as C
from . import dtypes
from .autograd import no_grad
from .dims import normalize_dim
from .elementwise import logical_and, logical_or, order_flip, where
from .math_ops import isnan, logaddexp
from .movement import pad
from .tensor_base import TensorBase, op_result, wrap
from .amp.autocast import autocast_op

CumResult = namedtuple("CumResult", ["values", "indices"])


def _shifted(y: TensorBase, step: int, identity) -> TensorBase:
    """y moved `step` places along its last dim, the first `step` places filled with `identity`."""
    return pad(y[..., :y.shape[-1] - step], (step, 0), identity)


def _scan(x: TensorBase, d: int, combine, identity) -> TensorBase:
    y = x.movedim(d, -1)
    step = 1
    while step < y.shape[-1]:
        y = combine(_shifted(y, step, identity), y)
        step *= 2
    return y.movedim(-1, d)


def _accumulated(x: TensorBase, dtype) -> TensorBase:
    """x in the dtype a cumulative sum or product runs in: `dtype`, else int64 for bool and integers."""
    if dtype is not None:
        return x.to(dtype)
    return x.to(dtypes.int64) if x.dtype.kind in "biu" else x


@autocast_op("cumsum")
def cumsum(x: TensorBase, dim: int, dtype=None) -> TensorBase:
    x = _accumulated(x, dtype)
    d = normalize_dim(dim, x.shape, "cumsum")
    if x.ndim == 0:
        return x
    rows = x.movedim(d, -1) if d != x.ndim - 1 else x
    out = op_result("cumsum", (rows,), arg=False)
    return out.movedim(-1, d) if d != x.ndim - 1 else out


@autocast_op("cumprod")
def cumprod(x: TensorBase, dim: int, dtype=None) -> TensorBase:
    x = _accumulated(x, dtype)
    d = normalize_dim(dim, x.shape, "cumprod")
    return x if x.ndim == 0 else _scan(x, d, lambda a, b: a * b, 1)


def logcumsumexp(x: TensorBase, dim: int) -> TensorBase:
    if x.dtype.kind != "f":
        raise TypeError(f"logcumsumexp: needs a floating point tensor, got {x.dtype.name}{list(x.shape)}")
    d = normalize_dim(dim, x.shape, "logcumsumexp")
    return x if x.ndim == 0 else _scan(x, d, logaddexp, -math.inf)


def _later_wins(left, right):
    """Combine (value, index) pairs: the right (later) one unless the left is greater or a NaN the right is not."""
    (lv, li), (rv, ri) = left, right
    take_left = lv > rv
    if rv.dtype.kind == "f":
        take_left = logical_and(logical_or(take_left, isnan(lv)), isnan(rv).logical_not())
    return where(take_left, lv, rv), where(take_left, li, ri)


def _cum_extreme(x: TensorBase, dim: int, op: str):
    d = normalize_dim(dim, x.shape, op)
    if x.ndim == 0:
        return CumResult(x, wrap(C.const(0, (), dtypes.int64)))
    n = x.shape[d]
    with no_grad():
        src = x if x.dtype.kind != "b" else x.to(dtypes.int64)
        if op == "cummin":
            src = order_flip(src)
        low = -math.inf if src.dtype.kind == "f" else 0 if src.dtype.kind == "u" else int(np.iinfo(src.dtype).min)
        v = src.movedim(d, -1)
        i = wrap(C.build("arange", arg=(0, 1, n, dtypes.int64))).expand(*v.shape)
        step = 1
        while step < n:
            v, i = _later_wins((_shifted(v, step, low), _shifted(i, step, 0)), (v, i))
            step *= 2
        idx = i.movedim(-1, d)
    return CumResult(x.gather(d, idx), idx)


def cummax(x: TensorBase, dim: int) -> CumResult:
    return _cum_extreme(x, dim, "cummax")


def cummin(x: TensorBase, dim: int) -> CumResult:
    return _cum_extreme(x, dim, "cummin")


class ScanMixin:
    """Tensor methods for the functions above (`x.cumprod(0)` is `cumprod(x, 0)`)."""
    __slots__ = ()

    cumsum = cumsum
    cumprod = cumprod
    cummax = cummax
    cummin = cummin
    logcumsumexp = logcumsumexp
