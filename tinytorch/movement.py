"""Movement: reshape, permute, expand, slice, pad, indexing, cat and stack.

Each is a view in the IR (reshape, permute, expand, slice, pad are primitives
with simple gradients); `x[...]` is parsed here into those primitives plus a
`gather` for integer-tensor indices.
"""
from __future__ import annotations

import math

import numpy as np

from . import compiler as C
from . import dtypes
from .elementwise import as_tensor, broadcast_shapes, broadcast_to
from .tensor import Tensor, _axis, _make


def _shape_args(args) -> tuple:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


def reshape(x: Tensor, *shape) -> Tensor:
    shape = _shape_args(shape)
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: only one dim can be -1, got {shape}")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or x.numel() % known:
            raise ValueError(f"reshape: cannot view {x.shape} ({x.numel()} elements) as {shape}")
        shape = tuple(x.numel() // known if s == -1 else s for s in shape)
    if math.prod(shape) != x.numel() or any(s < 0 for s in shape):
        raise ValueError(f"reshape: cannot view {x.shape} ({x.numel()} elements) as {shape} "
                         f"({math.prod(shape)} elements)")
    if shape == x.shape:
        return x
    return _make("reshape", (x,), arg=shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return x.reshape(1)
    s, e = _axis(start_dim, x.ndim, "flatten"), _axis(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for {x.shape}")
    return x.reshape(x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:])


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    d = _axis(dim, x.ndim, "unflatten")
    return x.reshape(x.shape[:d] + tuple(sizes) + x.shape[d + 1:])


def permute(x: Tensor, *dims) -> Tensor:
    dims = tuple(_axis(d, x.ndim, "permute") for d in _shape_args(dims))
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} dims of {x.shape}")
    if dims == tuple(range(x.ndim)):
        return x
    return _make("permute", (x,), arg=dims)


def transpose(x: Tensor, dim0: int = 0, dim1: int = 1) -> Tensor:
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, 1, -1):
        return x
    a, b = _axis(dim0, x.ndim, "transpose"), _axis(dim1, x.ndim, "transpose")
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return permute(x, perm)


def t(x: Tensor) -> Tensor:
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor with <= 2 dims, got {x.shape}; use transpose or mT")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    d = _axis(dim, x.ndim + 1, "unsqueeze")
    return x.reshape(x.shape[:d] + (1,) + x.shape[d:])


def squeeze(x: Tensor, dim=None) -> Tensor:
    if dim is None:
        return x.reshape(tuple(s for s in x.shape if s != 1))
    dims = {_axis(d, x.ndim, "squeeze") for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
    return x.reshape(tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


def expand(x: Tensor, *sizes) -> Tensor:
    sizes = _shape_args(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"expand: the target {sizes} has fewer dims than the tensor {x.shape}")
    pad = len(sizes) - x.ndim
    full = tuple(x.shape[i - pad] if s == -1 and i >= pad else s for i, s in enumerate(sizes))
    for i in range(x.ndim):
        if x.shape[i] != 1 and x.shape[i] != full[i + pad]:
            raise ValueError(f"expand: cannot expand {x.shape} to {sizes}: dim {i + pad} has size "
                             f"{x.shape[i]}; only size-1 dims can grow")
    return broadcast_to(x, full)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, other.shape)


def repeat(x: Tensor, *reps) -> Tensor:
    reps = _shape_args(reps)
    if len(reps) < x.ndim:
        raise ValueError(f"repeat: need at least {x.ndim} repeat counts for {x.shape}, got {reps}")
    x = x.reshape((1,) * (len(reps) - x.ndim) + x.shape)
    inter = tuple(v for s in x.shape for v in (1, s))
    big = tuple(v for r, s in zip(reps, x.shape) for v in (r, s))
    return x.reshape(inter).expand(big).reshape(tuple(r * s for r, s in zip(reps, x.shape)))


def pad(x: Tensor, pads, value=0.0) -> Tensor:
    """PyTorch's F.pad order: (last_lo, last_hi, prev_lo, prev_hi, ...); negative pads crop."""
    if len(pads) % 2 or len(pads) // 2 > x.ndim:
        raise ValueError(f"pad: needs pairs for at most {x.ndim} dims of {x.shape}, got {pads}")
    per = [(0, 0)] * x.ndim
    for i in range(len(pads) // 2):
        per[x.ndim - 1 - i] = (int(pads[2 * i]), int(pads[2 * i + 1]))
    crop = tuple((max(0, -lo), s - max(0, -hi), 1) for (lo, hi), s in zip(per, x.shape))
    if any(c[0] or c[1] != s for c, s in zip(crop, x.shape)):
        x = _make("slice", (x,), arg=crop)
    grow = tuple((max(0, lo), max(0, hi)) for lo, hi in per)
    if any(lo or hi for lo, hi in grow):
        x = _make("pad", (x,), arg=(grow, float(value) if x.dtype.kind == "f" else value))
    return x


def _slice(x: Tensor, axis: int, start: int, stop: int, step: int) -> Tensor:
    arg = tuple((start, stop, step) if i == axis else (0, s, 1) for i, s in enumerate(x.shape))
    return _make("slice", (x,), arg=arg)


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    d = _axis(dim, x.ndim, "narrow")
    return _slice(x, d, start, start + length, 1)


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """torch.gather: out[..i..] = x[..index[..i..].. along dim]; index matches x except along dim."""
    d = _axis(dim, x.ndim, "gather")
    index = as_tensor(index)
    if index.ndim != x.ndim:
        raise ValueError(f"gather: index {index.shape} must have as many dims as input {x.shape}")
    if any(i > s for k, (i, s) in enumerate(zip(index.shape, x.shape)) if k != d):
        raise ValueError(f"gather: index {index.shape} is larger than input {x.shape} outside dim {d}")
    if any(i != s for k, (i, s) in enumerate(zip(index.shape, x.shape)) if k != d):
        x = x[tuple(slice(0, i) if k != d else slice(None) for k, i in enumerate(index.shape))]
    return _make("gather", (x, index.to(dtypes.int64)), arg=d)


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    d = _axis(dim, x.ndim, "scatter_add")
    index = as_tensor(index).to(dtypes.int64)
    if index.shape != src.shape:
        src = src[tuple(slice(0, i) for i in index.shape)]
    added = _make("scatter_add", (index, src.to(x.dtype)), arg=(d, x.shape[d]))
    if added.shape != x.shape:
        raise ValueError(f"scatter_add: index {index.shape} must match input {x.shape} outside dim {d}")
    return x + added


def index_select(x: Tensor, dim: int, index) -> Tensor:
    """Rows of x along dim picked by an integer tensor of any shape: result dims replace dim by index's."""
    d = _axis(dim, x.ndim, "index_select")
    index = as_tensor(index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"indexing: index tensors must be integer (or bool masks, unsupported lazily), "
                        f"got {index.dtype.name}")
    index = index.to(dtypes.int64)
    n = x.shape[d]
    flat = index.reshape(-1)
    flat = flat + (flat < 0).to(dtypes.int64) * n  # negative indices count from the end, as in NumPy
    moved = x.movedim(d, 0)
    rest = moved.shape[1:]
    idx = flat.reshape((flat.shape[0],) + (1,) * len(rest)).expand((flat.shape[0],) + rest)
    out = _make("gather", (moved, idx), arg=0)
    return out.reshape(index.shape + rest).movedim(tuple(range(index.ndim)), tuple(range(d, d + index.ndim)))


def movedim(x: Tensor, source, destination) -> Tensor:
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [_axis(s, x.ndim, "movedim") for s in src]
    dst = [_axis(s, x.ndim, "movedim") for s in dst]
    order = [i for i in range(x.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, order)


def getitem(x: Tensor, idx) -> Tensor:
    """x[...] with ints, slices (positive steps), None, Ellipsis and integer tensors or lists."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    if any(isinstance(i, Tensor) and i.dtype.kind == "b" or isinstance(i, np.ndarray) and i.dtype == bool
           for i in idx):
        raise IndexError("indexing with a bool mask gives a data-dependent shape, which a lazy graph cannot "
                         "have; use tinytorch.where(mask, x, 0) or x.numpy()[mask]")
    used = sum(1 for i in idx if i is not None and i is not Ellipsis)
    if used > x.ndim:
        raise IndexError(f"too many indices for a tensor of shape {x.shape}: {used} given")
    if sum(1 for i in idx if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if Ellipsis in [i for i in idx if not isinstance(i, (Tensor, np.ndarray, list))]:
        k = [j for j, i in enumerate(idx) if i is Ellipsis and not isinstance(i, (Tensor, np.ndarray, list))][0]
        idx = idx[:k] + (slice(None),) * (x.ndim - used) + idx[k + 1:]
    idx = idx + (slice(None),) * (x.ndim - sum(1 for i in idx if i is not None))
    out_shape, slices, tensors, dropped, axis = [], [], [], [], 0
    for i in idx:
        if i is None:
            out_shape.append(("new",))
            continue
        size = x.shape[axis]
        if isinstance(i, slice):
            start, stop, step = i.indices(size)
            if step < 1:
                raise ValueError(f"indexing: step {step} of {i} must be greater than zero (as in PyTorch); "
                                 f"use .flip() to reverse")
            stop = max(start, stop)
            slices.append((start, stop, step))
            out_shape.append(("keep", axis))
        elif isinstance(i, (int, np.integer)) and not isinstance(i, bool):
            j = int(i) + size if i < 0 else int(i)
            if not 0 <= j < size:
                raise IndexError(f"index {i} is out of bounds for dim {axis} with size {size} of {x.shape}")
            slices.append((j, j + 1, 1))
            dropped.append(axis)
        elif isinstance(i, (Tensor, list, np.ndarray)):
            slices.append((0, size, 1))
            tensors.append((axis, as_tensor(i) if not isinstance(i, Tensor) else i))
            out_shape.append(("tensor", axis))
        else:
            raise TypeError(f"unsupported index {i!r}; use ints, slices, None, ... or integer tensors")
        axis += 1
    if any(s != (0, d, 1) for s, d in zip(slices, x.shape)):
        x = _make("slice", (x,), arg=tuple(slices))
    if tensors:  # as PyTorch (not NumPy): int indices select first, tensor indices apply to what is left
        x = x.reshape(tuple(s for a, s in enumerate(x.shape) if a not in dropped))
        left = lambda a: a - sum(1 for d in dropped if d < a)  # noqa: E731
        out_shape = [o if o[0] == "new" else (o[0], left(o[1])) for o in out_shape]
        return _advanced(x, out_shape, [(left(a), t) for a, t in tensors])
    return x.reshape(tuple(1 if o[0] == "new" else x.shape[o[1]] for o in out_shape))


def _advanced(x: Tensor, out_shape, tensors) -> Tensor:
    """Integer-tensor indexing: the index tensors broadcast together and are combined into one flat index."""
    axes = [a for a, _ in tensors]
    bshape = broadcast_shapes(*[t.shape for _, t in tensors], op="index")
    for a, t in tensors:
        if t.dtype.kind not in "iu":
            raise TypeError(f"indexing: index tensors must be integers, got {t.dtype.name}")
    others = [a for a in range(x.ndim) if a not in axes]
    moved = permute(x, axes + others)
    lead = math.prod(x.shape[a] for a in axes)
    flat_x = moved.reshape((lead,) + tuple(x.shape[a] for a in others))
    flat = None
    for a, t in tensors:
        t = broadcast_to(t.to(dtypes.int64), bshape)
        t = t + (t < 0).to(dtypes.int64) * x.shape[a]
        flat = t if flat is None else flat * x.shape[a] + t
    picked = index_select(flat_x, 0, flat)  # bshape + others
    kept_shape = tuple(x.shape[a] for a in others)
    picked = picked.reshape(bshape + kept_shape)
    # NumPy's rule: adjacent index tensors put their dims where they stood, else at the front
    adjacent = axes == list(range(axes[0], axes[0] + len(axes)))
    keeps = [o for o in out_shape if o[0] != "tensor"]
    if adjacent:
        first = next(k for k, o in enumerate(out_shape) if o[0] == "tensor")
        before = sum(1 for o in out_shape[:first] if o[0] == "keep")
        nb = len(bshape)
        perm = list(range(nb, nb + before)) + list(range(nb)) + list(range(nb + before, nb + len(others)))
        picked = permute(picked, perm)
        final = []
        it = iter(picked.shape)
        for k, o in enumerate(out_shape):
            if o[0] == "new":
                final.append(1)
            elif o[0] == "keep":
                final.append(next(it))
            elif k == first:
                final.extend(next(it) for _ in range(nb))
        return picked.reshape(tuple(final))
    final = list(bshape) + [1 if o[0] == "new" else x.shape[o[1]] for o in keeps]
    return picked.reshape(tuple(final))


def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate along dim: each piece padded with zeros to the full size, then summed."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expects a non-empty list of tensors")
    tensors = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    ref = tensors[0]
    if any(t.ndim == 0 for t in tensors):
        raise ValueError(f"cat: 0-dim tensors cannot be concatenated (shapes {[t.shape for t in tensors]}); "
                         f"use stack, or unsqueeze them first")
    d = _axis(dim, ref.ndim, "cat")
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = _promote(dtype, t)
        if t.ndim != ref.ndim or any(a != b for k, (a, b) in enumerate(zip(t.shape, ref.shape)) if k != d):
            raise ValueError(f"cat: shapes {ref.shape} and {t.shape} must match except in dim {d}")
    total = sum(t.shape[d] for t in tensors)
    out, offset = None, 0
    for t in tensors:
        t = t.to(dtype)
        pads = tuple((offset, total - offset - t.shape[d]) if k == d else (0, 0) for k in range(t.ndim))
        offset += t.shape[d]
        p = _make("pad", (t,), arg=(pads, False if dtype.kind == "b" else 0)) if any(a or b for a, b in pads) else t
        out = p if out is None else (out | p if dtype.kind == "b" else out + p)
    return out


def _promote(dtype, t):
    from .dtypes import _join
    return _join(dtype, t.dtype)


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expects a non-empty list of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have one shape, got {sorted(shapes)}")
    d = _axis(dim, tensors[0].ndim + 1, "stack")
    return cat([t.unsqueeze(d) for t in tensors], d)


def split(x: Tensor, split_size_or_sections, dim: int = 0):
    d = _axis(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} do not add up to dim {d} of size {n}")
    out, start = [], 0
    for s in sizes:
        out.append(_slice(x, d, start, start + s, 1))
        start += s
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int = 0):
    n = x.shape[_axis(dim, x.ndim, "chunk")]
    return split(x, -(-n // chunks), dim)


def flip(x: Tensor, dims) -> Tensor:
    """Reverse along dims (a gather with reversed indices; slices with negative steps are not primitives)."""
    dims = [dims] if isinstance(dims, int) else list(dims)
    for dim in dims:
        d = _axis(dim, x.ndim, "flip")
        n = x.shape[d]
        rev = Tensor._wrap(C.build("arange", arg=(n - 1, -1, n, dtypes.int64)))
        x = index_select(x, d, rev)
    return x


def unfold_windows(x: Tensor, kernel, stride=1, dilation=1) -> Tensor:
    """Sliding windows over the last two dims: (..., H, W) -> (..., kh, kw, out_h, out_w), a view."""
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    return _make("unfold", (x,), arg=(pair(kernel), pair(stride), pair(dilation)))


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: 1-d operands are promoted and squeezed, batch dims broadcast."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dim, got {a.shape} and {b.shape}")
    from .dtypes import _join
    d = _join(a.dtype, b.dtype)
    if d.kind == "b":
        d = dtypes.int64
    a, b = a.to(d), b.to(d)
    va, vb = a.ndim == 1, b.ndim == 1
    if va:
        a = a.reshape(1, a.shape[0])
    if vb:
        b = b.reshape(b.shape[0], 1)
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape if not va else (a.shape[-1],)} and "
                         f"{b.shape if not vb else (b.shape[0],)} cannot be multiplied "
                         f"({a.shape[-1]} != {b.shape[-2]}): the last dim of the first must equal the "
                         f"second-to-last of the second")
    if b.ndim == 2 and a.ndim > 2:  # (..., k) @ (k, n): one big 2-d product, no batch copies of b
        out = _make("matmul", (a.reshape(-1, a.shape[-1]), b), arg=None).reshape(a.shape[:-1] + (b.shape[-1],))
    else:
        try:
            batch = broadcast_shapes(a.shape[:-2], b.shape[:-2], op="matmul")
        except ValueError:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied: the batch dims "
                             f"{a.shape[:-2]} and {b.shape[:-2]} cannot broadcast (sizes must match or be 1)") \
                from None
        a = broadcast_to(a, batch + a.shape[-2:])
        b = broadcast_to(b, batch + b.shape[-2:])
        out = _make("matmul", (a, b))
    if va:
        out = out.squeeze(-2)
    if vb:
        out = out.squeeze(-1)
    return out


def _mT(x):
    return transpose(x, -2, -1)


for _f in (reshape, flatten, unflatten, permute, transpose, t, unsqueeze, squeeze, expand, expand_as, repeat,
           narrow, gather, scatter_add, index_select, movedim, split, chunk, flip, matmul):
    setattr(Tensor, _f.__name__, _f)
Tensor.view = reshape
Tensor.view_as = lambda x, other: reshape(x, other.shape)
Tensor.reshape_as = Tensor.view_as
Tensor.__getitem__ = getitem
Tensor.__matmul__ = lambda a, b: matmul(a, b)
Tensor.__rmatmul__ = lambda a, b: matmul(b, a)
Tensor.T = property(lambda x: permute(x, tuple(reversed(range(x.ndim)))))
Tensor.mT = property(_mT)
