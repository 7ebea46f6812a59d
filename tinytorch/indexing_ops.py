"""Indexing families beyond `x[...]`: nonzero, masked_select/masked_fill, scatter and scatter_reduce,
index_add, take_along_dim.

All are compositions of `gather`, `scatter_add` and elementwise ops, so gradients come for free.
`nonzero` and `masked_select` have data-dependent shapes: they realize their input (the mask) at the call,
the one place these ops compute. `scatter_reduce`'s sum and mean are scatter_adds; its prod, amax and amin
compare each output position with each index along `dim` (a dense (..., size, n) mask), so they cost
size * n per row: fine for the sizes they are used at, and there is no scatter-max primitive yet.
"""
from __future__ import annotations

import math

import numpy as np

from . import compiler as C
from . import dtypes
from .dims import normalize_dim
from .elementwise import as_tensor, broadcast_shapes, broadcast_to, where
from .movement import cat, gather, index_select, pad
from .tensor_base import TensorBase, op_result, wrap

REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def nonzero(x: TensorBase, as_tuple: bool = False):
    """Indices of the nonzero elements, (n, ndim) int64 (or one 1-d tensor per dim). Realizes x."""
    values = x.numpy()
    if values.ndim == 0:  # one row per nonzero scalar, no columns, as PyTorch
        empty = as_tensor(np.zeros((int(values != 0), 0), np.int64))
        return (as_tensor(np.zeros(int(values != 0), np.int64)),) if as_tuple else empty
    found = np.nonzero(np.atleast_1d(values))
    if as_tuple:
        return tuple(as_tensor(i.astype(np.int64)) for i in found)
    return as_tensor(np.stack(found, axis=1).astype(np.int64).reshape(-1, values.ndim))


argwhere = nonzero


def masked_select(x: TensorBase, mask) -> TensorBase:
    """The elements of x where mask holds, in order, as a 1-d tensor (broadcast together). Realizes mask."""
    mask = as_tensor(mask)
    if mask.dtype.kind != "b":
        raise TypeError(f"masked_select: the mask must be bool, got {mask.dtype.name}{list(mask.shape)}")
    shape = broadcast_shapes(x.shape, mask.shape, op="masked_select")
    flat = np.flatnonzero(np.broadcast_to(mask.numpy(), shape))
    return index_select(broadcast_to(x, shape).reshape(-1), 0, as_tensor(flat.astype(np.int64)))


def masked_fill(x: TensorBase, mask, value) -> TensorBase:
    """x with value where mask holds (mask broadcasts to x; the result keeps x's dtype and shape)."""
    mask = as_tensor(mask)
    if mask.dtype.kind != "b":
        raise TypeError(f"masked_fill: the mask must be bool, got {mask.dtype.name}{list(mask.shape)}")
    if isinstance(value, TensorBase):
        if value.ndim:
            raise ValueError(f"masked_fill: value must be a 0-d tensor or a number, got shape {value.shape}")
        value = value.to(x.dtype)
    else:
        value = as_tensor(value, x.dtype)
    broadcast_shapes(x.shape, mask.shape, op="masked_fill")
    out = where(mask, value, x)
    return out if out.shape == x.shape else _shape_error("masked_fill", x, mask)


def _shape_error(op, x, other):
    raise ValueError(f"{op}: the mask of shape {other.shape} must broadcast to the tensor's shape {x.shape}")


def _index_args(op, x, dim, index, src=None):
    d = normalize_dim(dim, x.shape, op)
    index = as_tensor(index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got {index.dtype.name}")
    if index.ndim != x.ndim or any(i > s for k, (i, s) in enumerate(zip(index.shape, x.shape)) if k != d):
        raise ValueError(f"{op}: index {index.shape} must have the dims of input {x.shape}, each no larger "
                         f"outside dim {d}")
    if src is not None and (src.ndim != x.ndim or any(i > s for i, s in zip(index.shape, src.shape))):
        raise ValueError(f"{op}: index {index.shape} must be no larger than src {src.shape} in every dim")
    return d, index.to(dtypes.int64)


def _src(x, index, src):
    """src as a tensor of index's shape and x's dtype (a number fills it; a larger src is cropped)."""
    if not isinstance(src, TensorBase):
        return wrap(C.const(src, index.shape, x.dtype))
    if src.shape != index.shape:
        src = src[tuple(slice(0, n) for n in index.shape)]
    return src.to(x.dtype)


def _scatter_sum(x, d, index, src):
    """sum over the index positions: a tensor of x's shape (zeros where nothing lands)."""
    out = op_result("scatter_add", (index, src), arg=(d, x.shape[d]))
    if out.shape != x.shape:  # index smaller than x outside dim d: the rest receives nothing
        grow = [p for k in reversed(range(x.ndim)) for p in (0, x.shape[k] - out.shape[k])]
        out = pad(out, grow, 0)
    return out


def scatter(x: TensorBase, dim: int, index, src=None, value=None, reduce=None) -> TensorBase:
    """x with src (or value) written at index along dim. Where an index repeats, PyTorch leaves which write
    wins unspecified; here the values are added. reduce='add' / 'multiply' as PyTorch's."""
    src = value if src is None else src
    if src is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        return scatter_reduce(x, dim, index, src, "sum" if reduce == "add" else "prod")
    d, index = _index_args("scatter", x, dim, index, src if isinstance(src, TensorBase) else None)
    src = _src(x, index, src)
    hit = _scatter_sum(x, d, index, wrap(C.const(1, index.shape, dtypes.int32))) > 0
    return where(hit, _scatter_sum(x, d, index, src), x)


def scatter_add(x: TensorBase, dim: int, index, src) -> TensorBase:
    d, index = _index_args("scatter_add", x, dim, index, src)
    return x + _scatter_sum(x, d, index, _src(x, index, src))


def scatter_reduce(x: TensorBase, dim: int, index, src, reduce: str, include_self: bool = True) -> TensorBase:
    """Reduce the src values landing on each position along dim (sum, prod, mean, amax, amin), with x's own
    value as one more operand when include_self; positions nothing lands on keep x. As PyTorch, an integer
    mean rounds toward -inf and a tie of amax/amin shares the gradient evenly."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"scatter_reduce: reduce must be one of {', '.join(REDUCTIONS)}, got {reduce!r}")
    d, index = _index_args("scatter_reduce", x, dim, index, src if isinstance(src, TensorBase) else None)
    src = _src(x, index, src)
    if reduce in ("sum", "mean"):
        return _scatter_mean(x, d, index, src, reduce == "mean", include_self)
    n, size = index.shape[d], x.shape[d]
    region = x[tuple(slice(0, k) if a != d else slice(None) for a, k in enumerate(index.shape))]
    # (..., size, n): position j along dim receives src element i where index[..., i] == j
    idx = index.movedim(d, -1).unsqueeze(-2)
    slots = wrap(C.build("arange", arg=(0, 1, size, dtypes.int64))).reshape(size, 1)
    hit = idx == slots
    vals = src.movedim(d, -1).unsqueeze(-2)
    own = region.movedim(d, -1).unsqueeze(-1)
    if reduce in ("amax", "amin"):
        big = math.inf if x.dtype.kind == "f" else int(np.iinfo(x.dtype).max)
        filler = -big if reduce == "amax" else big
        if x.dtype.kind == "u" and reduce == "amax":
            filler = 0
    else:
        filler = 1
    cols = where(hit, vals, as_tensor(filler, x.dtype))
    if include_self:
        cols = cat([own, cols], -1)
    if reduce == "prod":
        out = cols.prod(-1).to(x.dtype)
    else:
        out = getattr(cols, reduce)(-1)
    count = hit.sum(-1)
    out = where(count > 0, out, own.squeeze(-1)).movedim(-1, d)
    if out.shape != x.shape:
        grow = [p for k in reversed(range(x.ndim)) for p in (0, x.shape[k] - out.shape[k])]
        keep = pad(wrap(C.const(True, out.shape, dtypes.bool)), grow, False)
        out = where(keep, pad(out, grow, 0), x)
    return out


def _scatter_mean(x, d, index, src, mean: bool, include_self: bool) -> TensorBase:
    """scatter_reduce's sum and mean through the scatter_add primitive: O(n), no dense mask."""
    count = _scatter_sum(x, d, index, wrap(C.const(1, index.shape, dtypes.int64)))
    total = _scatter_sum(x, d, index, src)
    if include_self:
        total = total + x
    if mean:
        div = count + (1 if include_self else 0)
        div = div.clamp(min=1)
        total = total / div if x.dtype.kind == "f" else total.div(div, rounding_mode="floor")
    return where(count > 0, total.to(x.dtype), x)


def index_add(x: TensorBase, dim: int, index, source, alpha=1) -> TensorBase:
    """x with source's slices added at the positions index (1-d) names along dim."""
    d = normalize_dim(dim, x.shape, "index_add")
    index = as_tensor(index).to(dtypes.int64)
    source = as_tensor(source)
    if index.ndim != 1 or source.ndim != x.ndim or source.shape[d] != index.shape[0] or any(
            a != b for k, (a, b) in enumerate(zip(source.shape, x.shape)) if k != d):
        raise ValueError(f"index_add: source {source.shape} must match input {x.shape} outside dim {d} and have "
                         f"len(index) = {index.shape[0] if index.ndim == 1 else index.shape} along it (index 1-d)")
    index = index + (index < 0).to(dtypes.int64) * x.shape[d]
    full = index.reshape(tuple(-1 if k == d else 1 for k in range(x.ndim))).expand(*source.shape)
    if alpha != 1:
        source = source * alpha
    return x + _scatter_sum(x, d, full, source.to(x.dtype))


def take_along_dim(x: TensorBase, indices, dim=None) -> TensorBase:
    """gather with indices broadcast against x outside dim (dim None: over the flattened x)."""
    indices = as_tensor(indices).to(dtypes.int64)
    if dim is None:
        return gather(x.reshape(-1), 0, indices.reshape(-1))
    d = normalize_dim(dim, x.shape, "take_along_dim")
    if indices.ndim != x.ndim:
        raise ValueError(f"take_along_dim: indices {indices.shape} must have as many dims as input {x.shape}")
    outer = broadcast_shapes(tuple(1 if k == d else s for k, s in enumerate(x.shape)),
                             tuple(1 if k == d else s for k, s in enumerate(indices.shape)), op="take_along_dim")
    xs = tuple(x.shape[d] if k == d else s for k, s in enumerate(outer))
    ids = tuple(indices.shape[d] if k == d else s for k, s in enumerate(outer))
    return gather(broadcast_to(x, xs), d, broadcast_to(indices, ids))


class IndexingMixin:
    """Tensor methods for the functions above (`x.scatter(0, i, s)` is `scatter(x, 0, i, s)`)."""
    __slots__ = ()

    nonzero = nonzero
    argwhere = argwhere
    masked_select = masked_select
    masked_fill = masked_fill
    scatter = scatter
    scatter_add = scatter_add
    scatter_reduce = scatter_reduce
    index_add = index_add
    take_along_dim = take_along_dim
