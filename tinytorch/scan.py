"""Cumulative ops along one dim: cumprod, cummax, cummin, logcumsumexp.

There is no scan primitive, so each is a reduction over a triangle: the n values along dim are laid out
as an (..., n, n) grid whose row i holds x_0..x_i and the reduction's identity beyond i, and the row is
reduced. That is O(n^2) work and memory per row, which is fine for the lengths these ops are used at
(sequence positions, a few thousand at most), and it makes every gradient the reduction's own: cumprod's
is `prod`'s (right with zeros), logcumsumexp's is logsumexp's. cummax/cummin return the index of the last
occurrence of the running extreme, as PyTorch, and take their values with a gather, so the gradient goes
to that one index as in PyTorch.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from . import compiler as C
from . import dtypes
from .autograd import no_grad
from .dims import normalize_dim
from .elementwise import as_tensor, order_flip, where
from .tensor_base import TensorBase, wrap

CumResult = namedtuple("CumResult", ["values", "indices"])


def _grid(x: TensorBase, d: int, filler):
    """(moved x as (..., 1, n) seen in rows (..., n, n) with `filler` above the diagonal, the row mask)."""
    n = x.shape[d]
    pos = wrap(C.build("arange", arg=(0, 1, n, dtypes.int64)))
    upto = pos.reshape(1, n) <= pos.reshape(n, 1)  # row i keeps columns j <= i
    rows = x.movedim(d, -1).unsqueeze(-2)
    return where(upto, rows, as_tensor(filler, x.dtype)), upto


def _finish(out: TensorBase, d: int) -> TensorBase:
    return out.movedim(-1, d)


def cumprod(x: TensorBase, dim: int, dtype=None) -> TensorBase:
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind in "biu":
        x = x.to(dtypes.int64)
    d = normalize_dim(dim, x.shape, "cumprod")
    if x.ndim == 0:
        return x
    grid, _ = _grid(x, d, 1)
    return _finish(grid.prod(-1).to(x.dtype), d)


def logcumsumexp(x: TensorBase, dim: int) -> TensorBase:
    if x.dtype.kind != "f":
        raise TypeError(f"logcumsumexp: needs a floating point tensor, got {x.dtype.name}{list(x.shape)}")
    d = normalize_dim(dim, x.shape, "logcumsumexp")
    if x.ndim == 0:
        return x
    grid, _ = _grid(x, d, -math.inf)
    return _finish(grid.logsumexp(-1), d)


def _cum_extreme(x: TensorBase, dim: int, op: str):
    d = normalize_dim(dim, x.shape, op)
    if x.ndim == 0:
        return CumResult(x, wrap(C.const(0, (), dtypes.int64)))
    n = x.shape[d]
    if n == 0:
        return CumResult(x, wrap(C.const(0, x.shape, dtypes.int64)))
    with no_grad():
        src = x if x.dtype.kind != "b" else x.to(dtypes.int64)
        if op == "cummin":
            src = order_flip(src)
        big = math.inf if src.dtype.kind == "f" else int(np.iinfo(src.dtype).max)
        low = 0 if src.dtype.kind == "u" else -big
        grid, upto = _grid(src, d, low)
        top = grid.amax(-1, keepdim=True)
        hit = grid == top
        if src.dtype.kind == "f":  # NaN is the extreme once seen, as in PyTorch
            hit = hit | (grid != grid)
        pos = wrap(C.build("arange", arg=(0, 1, n, dtypes.int64)))
        last = where(hit & upto, pos, -1).amax(-1)
        if src.dtype.kind == "f":  # PyTorch's running extreme moves to every NaN it meets
            nan_last = where((grid != grid) & upto, pos, -1).amax(-1)
            last = where(nan_last >= 0, nan_last, last)
        idx = _finish(last, d)
    return CumResult(x.gather(d, idx), idx)


def cummax(x: TensorBase, dim: int) -> CumResult:
    return _cum_extreme(x, dim, "cummax")


def cummin(x: TensorBase, dim: int) -> CumResult:
    return _cum_extreme(x, dim, "cummin")


class ScanMixin:
    """Tensor methods for the functions above (`x.cumprod(0)` is `cumprod(x, 0)`)."""
    __slots__ = ()

    cumprod = cumprod
    cummax = cummax
    cummin = cummin
    logcumsumexp = logcumsumexp
