"""Shape ops built on the movement primitives: diag/diagonal/trace, tril/triu, roll, repeat_interleave,
Tensor.unfold, meshgrid, unbind, tensor_split and the h/v/d/column stacks.

Each picks elements with `index_select` (a gather) at indices known when the graph is built, so they fold
to constants and the gradient is gather's (a scatter_add). `repeat_interleave` with a tensor of counts
has a data-dependent length: it realizes the counts at the call.
"""
from __future__ import annotations

import numpy as np

from . import dtypes
from .dims import normalize_dim
from .elementwise import as_tensor, broadcast_shapes, where
from .movement import cat, index_select, split
from .tensor_base import TensorBase


def _ints(values) -> TensorBase:
    return as_tensor(np.asarray(values, dtype=np.int64))


def diagonal(x: TensorBase, offset: int = 0, dim1: int = 0, dim2: int = 1) -> TensorBase:
    """The diagonal of the (dim1, dim2) planes as the last dim, as PyTorch."""
    a, b = normalize_dim(dim1, x.shape, "diagonal"), normalize_dim(dim2, x.shape, "diagonal")
    if a == b:
        raise ValueError(f"diagonal: dim1 and dim2 must differ, got {dim1} and {dim2} for {x.shape}")
    moved = x.movedim((a, b), (-2, -1))
    n, m = moved.shape[-2:]
    rows = np.arange(max(0, -offset), n)
    rows = rows[rows + offset < m]
    flat = moved.reshape(moved.shape[:-2] + (n * m,))
    return index_select(flat, -1, _ints(rows * m + rows + offset))


_diagonal = diagonal  # diag's argument is named diagonal, as PyTorch's


def diag(x: TensorBase, diagonal: int = 0) -> TensorBase:
    """A 1-d x: the square matrix with x on the `diagonal`-th diagonal; a 2-d x: that diagonal."""
    if x.ndim == 2:
        return _diagonal(x, diagonal)
    if x.ndim != 1:
        raise ValueError(f"diag: takes a 1-d or 2-d tensor, got shape {x.shape}")
    n = x.shape[0] + abs(diagonal)
    pos = np.full(n * n, x.shape[0], np.int64)  # index n of the padded x: a zero
    k = np.arange(x.shape[0])
    rows, cols = (k, k + diagonal) if diagonal >= 0 else (k - diagonal, k)
    pos[rows * n + cols] = k
    padded = cat([x, as_tensor(0, x.dtype).reshape(1)])
    return index_select(padded, 0, _ints(pos)).reshape(n, n)


def diag_embed(x: TensorBase) -> TensorBase:
    n = x.shape[-1]
    pos = np.full(n * n, n, np.int64)
    pos[np.arange(n) * (n + 1)] = np.arange(n)
    padded = cat([x, as_tensor(0, x.dtype).expand(*x.shape[:-1], 1)], -1)
    return index_select(padded, -1, _ints(pos)).reshape(x.shape[:-1] + (n, n))


def trace(x: TensorBase) -> TensorBase:
    if x.ndim != 2:
        raise ValueError(f"trace: takes a 2-d tensor, got shape {x.shape}")
    return diagonal(x).sum()


def _band(x: TensorBase, diagonal: int, op: str, keep_lower: bool) -> TensorBase:
    """x with the elements on one side of a diagonal of its last two dims zeroed (the mask is a constant)."""
    if x.ndim < 2:
        raise ValueError(f"{op}: needs a tensor of at least 2 dims, got shape {x.shape}")
    n, m = x.shape[-2:]
    offset = np.arange(m)[None, :] - np.arange(n)[:, None]  # column - row: 0 on the main diagonal
    keep = offset <= diagonal if keep_lower else offset >= diagonal
    return where(as_tensor(keep), x, as_tensor(0, x.dtype))


def tril(x: TensorBase, diagonal: int = 0) -> TensorBase:
    """The lower triangle (on and below `diagonal` of the last two dims), the rest zero, as PyTorch."""
    return _band(x, diagonal, "tril", keep_lower=True)


def triu(x: TensorBase, diagonal: int = 0) -> TensorBase:
    """The upper triangle (on and above `diagonal` of the last two dims), the rest zero, as PyTorch."""
    return _band(x, diagonal, "triu", keep_lower=False)


def roll(x: TensorBase, shifts, dims=None) -> TensorBase:
    """Elements shifted along dims, wrapping around (dims None: over the flattened x, then reshaped)."""
    if dims is None:
        if not isinstance(shifts, int) and len(shifts) != 1:
            raise ValueError(f"roll: without dims, shifts must be one int, got {shifts}")
        s = shifts if isinstance(shifts, int) else shifts[0]
        return roll(x.reshape(-1), s, 0).reshape(x.shape)
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = [dims] if isinstance(dims, int) else list(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have one length")
    for s, dim in zip(shifts, dims):
        d = normalize_dim(dim, x.shape, "roll")
        n = x.shape[d]
        if n:
            x = index_select(x, d, _ints((np.arange(n) - s) % n))
    return x


def repeat_interleave(x: TensorBase, repeats, dim=None, output_size=None) -> TensorBase:
    """Each element (or slice along dim) repeated; `repeats` an int or one count per element (a tensor of
    counts is realized: the length depends on them)."""
    if dim is None:
        x, d = x.reshape(-1), 0
    else:
        d = normalize_dim(dim, x.shape, "repeat_interleave")
    n = x.shape[d]
    counts = repeats.numpy() if isinstance(repeats, TensorBase) else np.asarray(repeats)
    counts = np.broadcast_to(counts.astype(np.int64).reshape(-1) if counts.ndim else counts, (n,))
    if (counts < 0).any():
        raise ValueError(f"repeat_interleave: repeats must be non-negative, got {counts.tolist()}")
    return index_select(x, d, _ints(np.repeat(np.arange(n), counts)))


def unfold(x: TensorBase, dimension: int, size: int, step: int) -> TensorBase:
    """Tensor.unfold: every window of `size` along dimension, `step` apart, as a new last dim."""
    d = normalize_dim(dimension, x.shape, "unfold")
    n = x.shape[d] if x.ndim else 1
    if size < 0 or size > n or step < 1:
        raise ValueError(f"unfold: size {size} must be in [0, {n}] and step {step} >= 1 (dim {d} of {x.shape})")
    starts = np.arange(0, n - size + 1, step)
    windows = starts[:, None] + np.arange(size)[None, :]
    picked = index_select(x if x.ndim else x.reshape(1), d, _ints(windows))  # (..., count, size, ...)
    return picked.movedim(d + 1, -1) if x.ndim else picked.reshape(windows.shape[1])


def meshgrid(*tensors, indexing: str = "ij"):
    """Coordinate grids: 'ij' (matrix, PyTorch's default) or 'xy' (Cartesian: the first two dims swapped)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = [as_tensor(t).reshape(-1) for t in tensors]
    if indexing == "xy" and len(ts) >= 2:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    out = [t.reshape(tuple(-1 if k == i else 1 for k in range(len(ts)))).expand(*shape) for i, t in enumerate(ts)]
    if indexing == "xy" and len(ts) >= 2:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def unbind(x: TensorBase, dim: int = 0):
    d = normalize_dim(dim, x.shape, "unbind")
    return tuple(p.squeeze(d) for p in split(x, 1, d)) if x.shape[d] else ()


def tensor_split(x: TensorBase, indices_or_sections, dim: int = 0):
    """Pieces as NumPy's array_split: n sections (the first n % size one longer) or cut before each index."""
    d = normalize_dim(dim, x.shape, "tensor_split")
    n = x.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k < 1:
            raise ValueError(f"tensor_split: sections must be >= 1, got {k}")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    else:
        cuts = [min(max(int(c) if c >= 0 else int(c) + n, 0), n) for c in indices_or_sections]
        edges = [0] + cuts + [n]
        sizes = [max(0, b - a) for a, b in zip(edges, edges[1:])]
    out, start = [], 0
    for s in sizes:
        out.append(x.narrow(d, start, s))
        start += s
    return tuple(out)


def _at_least(t, k):
    t = as_tensor(t)
    return t.reshape((1,) * (k - t.ndim) + t.shape) if t.ndim < k else t


def hstack(tensors):
    ts = [as_tensor(t) for t in tensors]
    return cat(ts, 0) if all(t.ndim == 1 for t in ts) else cat([_at_least(t, 1) for t in ts], 1)


def vstack(tensors):
    return cat([_at_least(t, 2) for t in tensors], 0)


def dstack(tensors):
    ts = []
    for t in tensors:
        t = as_tensor(t)
        t = t.reshape(1, -1, 1) if t.ndim <= 1 else t.unsqueeze(-1) if t.ndim == 2 else t
        ts.append(t)
    return cat(ts, 2)


def column_stack(tensors):
    return cat([as_tensor(t).reshape(-1, 1) if as_tensor(t).ndim <= 1 else as_tensor(t) for t in tensors], 1)


row_stack = vstack


def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*[t.shape for t in tensors], op="broadcast_tensors")
    return tuple(t.expand(*shape) for t in tensors)


class ShapeMixin:
    """Tensor methods for the functions above (`x.roll(1, 0)` is `roll(x, 1, 0)`)."""
    __slots__ = ()

    diagonal = diagonal
    diag = diag
    diag_embed = diag_embed
    trace = trace
    tril = tril
    triu = triu
    roll = roll
    repeat_interleave = repeat_interleave
    unfold = unfold
    unbind = unbind
    tensor_split = tensor_split

