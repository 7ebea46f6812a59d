"""Indexing along one axis, with torch.gather semantics: `gather` reads x at integer indices, `scatter_add`
(its VJP) adds values into a zeroed output at those indices. Out-of-range indices raise IndexError."""
from __future__ import annotations

import math

import numpy as np

from .table import build, declare


def _index_check(op, x, idx, axis):
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer tensor, got {idx.dtype.name}")
    if not 0 <= axis < x.ndim or idx.ndim != x.ndim or any(
            i != s for d, (i, s) in enumerate(zip(idx.shape, x.shape)) if d != axis):
        raise ValueError(f"{op}: indices {idx.shape} must match {x.shape} in every dim but axis {axis}")


def _gather_rule(srcs, axis):
    x, idx = srcs
    _index_check("gather", x, idx, axis)
    return idx.shape, x.dtype


def _scatter_rule(srcs, arg):
    idx, src = srcs
    axis, size = arg
    _index_check("scatter_add", src, idx, axis)
    if idx.shape != src.shape:
        raise ValueError(f"scatter_add: indices {idx.shape} and values {src.shape} must have one shape")
    return src.shape[:axis] + (size,) + src.shape[axis + 1:], src.dtype


def _check_range(idx, size, op):
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        raise IndexError(f"{op}: index {int(idx.min() if idx.min() < 0 else idx.max())} is out of range "
                         f"for a dim of size {size}")


def _gather_np(n, x, idx):
    _check_range(idx, x.shape[n.arg], "gather")
    return np.take_along_axis(x, idx, n.arg)


def _scatter_np(n, idx, src):
    axis, size = n.arg
    _check_range(idx, size, "scatter_add")
    out_shape = n.shape
    strides = [int(np.prod(out_shape[i + 1:], dtype=np.int64)) for i in range(len(out_shape))]
    flat = idx.astype(np.int64) * strides[axis]
    for d in range(len(out_shape)):
        if d != axis and out_shape[d] > 1:
            shape = [1] * len(out_shape)
            shape[d] = out_shape[d]
            flat = flat + np.arange(out_shape[d], dtype=np.int64).reshape(shape) * strides[d]
    flat = np.broadcast_to(flat, src.shape).ravel()
    if src.dtype.kind == "f":
        out = np.bincount(flat, weights=src.ravel().astype(np.float64), minlength=math.prod(out_shape))
    else:
        out = np.zeros(math.prod(out_shape), dtype=src.dtype)
        np.add.at(out, flat, src.ravel())
    return out.astype(n.dtype, copy=False).reshape(out_shape)


declare("gather", "index", _gather_rule, _gather_np,
        lambda n, g: (build("scatter_add", n.srcs[1], g, arg=(n.arg, n.srcs[0].shape[n.arg])), None))
declare("scatter_add", "index", _scatter_rule, _scatter_np,
        lambda n, g: (None, build("gather", g, n.srcs[0], arg=n.arg[0])), accumulates=True)
