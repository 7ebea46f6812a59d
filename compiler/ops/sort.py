"""Ordering along the last axis: `argsort`, the one sort primitive (sort, argsort and topk are built on it).

`argsort(x)` with arg `(descending, k)` is the (..., k) int64 positions of the first k elements of a stable
sort of each row of x (..., n): equal elements keep their order, NaN sorts above everything (after +inf
ascending, first descending), as torch.sort(stable=True). The sorted values are then a `gather` of x at
these positions (the frontend's job), so the gradient is gather's (a scatter into the positions) and this op
needs none: indices carry no gradient. Other dims are moved last by a permute in the frontend.

One `into` routine computes it for both backends (as the convolutions do): NumPy's stable sort, or for a
small k (topk of a long row) `np.argpartition` to find the k candidates, then a stable sort of just those.
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
    part = np.argpartition(x, n - k if descending else k - 1, axis=-1)
    cand = np.sort(part[..., n - k:] if descending else part[..., :k], axis=-1)  # in row order: ties stay stable
    order = _stable_order(np.take_along_axis(x, cand, -1), descending)
    np.copyto(out, np.take_along_axis(cand, order, -1))
    return out


declare("argsort", "index", _rule, lambda n, x: argsort_into(np.empty(n.shape, n.dtype), x, n.arg),
        lambda n, g: (None,), into=argsort_into)
