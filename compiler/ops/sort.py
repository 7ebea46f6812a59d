"""Ordering along the last axis: `argsort`, the one sort primitive (sort, argsort and topk are built on it).

`argsort(x)` with arg `(descending, k)` is the (..., k) int64 positions of the first k elements of a stable
sort of each row of x (..., n): equal elements keep their order, NaN sorts above everything (after +inf
ascending, first descending), as torch.sort(stable=True). The sorted values are then a `gather` of x at
these positions (the frontend's job), so the gradient is gather's (a scatter into the positions) and this op
needs none: indices carry no gradient. Other dims are moved last by a permute in the frontend.

One `into` routine computes it for both backends (as the convolutions do): NumPy's stable sort, or for a
small k (topk of a long row) `np.argpartition` for the k elements a stable sort would put first (ties at
the k-th place resolved by position when they straddle its cut, so the result equals the full sort's), then
a stable sort of just those.
"""
from __future__ import annotations

import numpy as np

from .table import INT64, declare, shapes

PARTITION_RATIO = 8  # k * PARTITION_RATIO <= n: partition first, then sort only the k candidates


def _rule(srcs, arg):
    (x,), (descending, k) = srcs, arg
    if x.ndim < 1 or x.dtype.kind not in "biuf":
        raise ValueError(f"argsort: cannot sort {shapes(srcs)} of {x.dtype.name}; need a real tensor of at "
                         f"least one dim (the frontend sorts a 0-d tensor itself)")
    if not 0 <= k <= x.shape[-1]:
        raise ValueError(f"argsort: k={k} is out of range for rows of {x.shape[-1]} in {shapes(srcs)}; "
                         f"pick k in [0, {x.shape[-1]}]")
    return x.shape[:-1] + (k,), INT64


def _stable_order(x, descending: bool):
    """Positions of a stable sort of every row of x. Descending is the ascending sort of the reversed row,
    read backwards: ties keep their order and NaN (greatest in NumPy's order too) comes first."""
    if not descending:
        return np.argsort(x, axis=-1, kind="stable")
    n = x.shape[-1]
    return (n - 1) - np.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1]


def _equal(x, v):
    """x == v per row, NaN equal to NaN (the k-th value of a row may be a NaN)."""
    return (x == v) | (np.isnan(x) & np.isnan(v)) if x.dtype.kind == "f" else x == v


def _first_k(x, k: int, descending: bool):
    """Row-ordered (..., k) positions of the elements the first k places of a stable sort hold, in O(n):
    `np.argpartition`'s k, unless elements equal to the k-th value v lie on both sides of its cut (then
    which of them it took is arbitrary): then every element ordered before v and the earliest equal ones."""
    n = x.shape[-1]
    kth = n - k if descending else k - 1
    part = np.argpartition(x, kth, axis=-1)
    cand = np.sort(part[..., n - k:] if descending else part[..., :k], axis=-1)
    v = np.take_along_axis(x, part[..., kth:kth + 1], -1)
    equal = _equal(x, v)
    if (equal.sum(-1) == _equal(np.take_along_axis(x, cand, -1), v).sum(-1)).all():
        return cand
    if x.dtype.kind == "f":
        nan_x, nan_v = np.isnan(x), np.isnan(v)
        before = (x > v) | (nan_x & ~nan_v) if descending else (x < v) | (~nan_x & nan_v)
    else:
        before = (x > v) if descending else (x < v)
    chosen = before | (equal & (np.cumsum(equal, -1) <= k - before.sum(-1, keepdims=True)))
    return np.nonzero(chosen)[-1].reshape(x.shape[:-1] + (k,))


def argsort_into(out, x, arg, copy_windows=None):
    """out (..., k) <- the first k positions of a stable sort of each row of x (..., n); `copy_windows` is
    the native backend's window copier, which this routine does not use."""
    descending, k = arg
    n = x.shape[-1]
    if k == 0 or n == 0:
        return out
    if k * PARTITION_RATIO > n:
        np.copyto(out, _stable_order(x, descending)[..., :k])
        return out
    cand = _first_k(x, k, descending)
    np.copyto(out, np.take_along_axis(cand, _stable_order(np.take_along_axis(x, cand, -1), descending), -1))
    return out


declare("argsort", "index", _rule, lambda n, x: argsort_into(np.empty(n.shape, n.dtype), x, n.arg),
        lambda n, g: (None,), into=argsort_into)
