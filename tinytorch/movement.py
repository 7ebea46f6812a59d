"""Movement: reshape, permute, expand, slice, pad, indexing, cat and stack.

Each is a primitive with a simple gradient (reshape, permute, expand and slice
are free views a kernel reads through strides; pad runs as a kernel of its
own); `x[...]` is parsed here into those primitives plus a `gather` for
integer-tensor indices.
"""
from __future__ import annotations

import math

import numpy as np

from . import compiler as C
from . import dtypes
from .dims import normalize_dim
from .elementwise import as_tensor, broadcast_shapes, broadcast_to
from .tensor_base import TensorBase, op_result, wrap
from .amp.autocast import autocast_op


def _shape_args(args) -> tuple:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


def reshape(x: TensorBase, *shape) -> TensorBase:
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
    return op_result("reshape", (x,), arg=shape)


def flatten(x: TensorBase, start_dim: int = 0, end_dim: int = -1) -> TensorBase:
    if x.ndim == 0:
        return x.reshape(1)
    s, e = normalize_dim(start_dim, x.shape, "flatten"), normalize_dim(end_dim, x.shape, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for {x.shape}")
    return x.reshape(x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:])


def unflatten(x: TensorBase, dim: int, sizes) -> TensorBase:
    d = normalize_dim(dim, x.shape, "unflatten")
    return x.reshape(x.shape[:d] + tuple(sizes) + x.shape[d + 1:])


def permute(x: TensorBase, *dims) -> TensorBase:
    dims = tuple(normalize_dim(d, x.shape, "permute") for d in _shape_args(dims))
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} dims of {x.shape}")
    if dims == tuple(range(x.ndim)):
        return x
    return op_result("permute", (x,), arg=dims)


def transpose(x: TensorBase, dim0: int = 0, dim1: int = 1) -> TensorBase:
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, 1, -1):
        return x
    a, b = normalize_dim(dim0, x.shape, "transpose"), normalize_dim(dim1, x.shape, "transpose")
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return permute(x, perm)


def t(x: TensorBase) -> TensorBase:
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor with <= 2 dims, got {x.shape}; use transpose or mT")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def unsqueeze(x: TensorBase, dim: int) -> TensorBase:
    d = normalize_dim(dim, x.ndim + 1, "unsqueeze", x.shape)
    return x.reshape(x.shape[:d] + (1,) + x.shape[d:])


def squeeze(x: TensorBase, dim=None) -> TensorBase:
    if dim is None:
        return x.reshape(tuple(s for s in x.shape if s != 1))
    dims = {normalize_dim(d, x.shape, "squeeze") for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
    return x.reshape(tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


def expand(x: TensorBase, *sizes) -> TensorBase:
    sizes = _shape_args(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"expand: the target {sizes} has fewer dims than the tensor {x.shape}")
    pad = len(sizes) - x.ndim
    full = tuple(x.shape[i - pad] if s == -1 and i >= pad else s for i, s in enumerate(sizes))
    if any(s < 0 for s in full):
        raise ValueError(f"expand: sizes must be non-negative (-1 keeps a dim), got {sizes} for {x.shape}")
    for i in range(x.ndim):
        if x.shape[i] != 1 and x.shape[i] != full[i + pad]:
            raise ValueError(f"expand: cannot expand {x.shape} to {sizes}: dim {i + pad} has size "
                             f"{x.shape[i]}; only size-1 dims can grow")
    return broadcast_to(x, full)


def expand_as(x: TensorBase, other: TensorBase) -> TensorBase:
    return expand(x, other.shape)


def repeat(x: TensorBase, *reps) -> TensorBase:
    reps = _shape_args(reps)
    if len(reps) < x.ndim:
        raise ValueError(f"repeat: need at least {x.ndim} repeat counts for {x.shape}, got {reps}")
    x = x.reshape((1,) * (len(reps) - x.ndim) + x.shape)
    inter = tuple(v for s in x.shape for v in (1, s))
    big = tuple(v for r, s in zip(reps, x.shape) for v in (r, s))
    return x.reshape(inter).expand(big).reshape(tuple(r * s for r, s in zip(reps, x.shape)))


def pad(x: TensorBase, pads, value=0.0) -> TensorBase:
    """PyTorch's F.pad order: (last_lo, last_hi, prev_lo, prev_hi, ...); negative pads crop."""
    if len(pads) % 2 or len(pads) // 2 > x.ndim:
        raise ValueError(f"pad: needs pairs for at most {x.ndim} dims of {x.shape}, got {pads}")
    per = [(0, 0)] * x.ndim
    for i in range(len(pads) // 2):
        per[x.ndim - 1 - i] = (int(pads[2 * i]), int(pads[2 * i + 1]))
    crop = tuple((max(0, -lo), s - max(0, -hi), 1) for (lo, hi), s in zip(per, x.shape))
    if any(c[0] or c[1] != s for c, s in zip(crop, x.shape)):
        x = op_result("slice", (x,), arg=crop)
    grow = tuple((max(0, lo), max(0, hi)) for lo, hi in per)
    if any(lo or hi for lo, hi in grow):
        x = op_result("pad", (x,), arg=(grow, float(value) if x.dtype.kind == "f" else value))
    return x


def _slice(x: TensorBase, axis: int, start: int, stop: int, step: int) -> TensorBase:
    arg = tuple((start, stop, step) if i == axis else (0, s, 1) for i, s in enumerate(x.shape))
    return op_result("slice", (x,), arg=arg)


def narrow(x: TensorBase, dim: int, start: int, length: int) -> TensorBase:
    d = normalize_dim(dim, x.shape, "narrow")
    return _slice(x, d, start, start + length, 1)


def gather(x: TensorBase, dim: int, index: TensorBase) -> TensorBase:
    """torch.gather: out[..i..] = x[..index[..i..].. along dim]; index matches x except along dim."""
    d = normalize_dim(dim, x.shape, "gather")
    index = as_tensor(index)
    if index.ndim != x.ndim:
        raise ValueError(f"gather: index {index.shape} must have as many dims as input {x.shape}")
    if any(i > s for k, (i, s) in enumerate(zip(index.shape, x.shape)) if k != d):
        raise ValueError(f"gather: index {index.shape} is larger than input {x.shape} outside dim {d}")
    if any(i != s for k, (i, s) in enumerate(zip(index.shape, x.shape)) if k != d):
        x = x[tuple(slice(0, i) if k != d else slice(None) for k, i in enumerate(index.shape))]
    return op_result("gather", (x, index.to(dtypes.int64)), arg=d)


def index_select(x: TensorBase, dim: int, index) -> TensorBase:
    """Rows of x along dim picked by an integer tensor of any shape: result dims replace dim by index's."""
    d = normalize_dim(dim, x.shape, "index_select")
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
    out = op_result("gather", (moved, idx), arg=0)
    return out.reshape(index.shape + rest).movedim(tuple(range(index.ndim)), tuple(range(d, d + index.ndim)))


def movedim(x: TensorBase, source, destination) -> TensorBase:
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [normalize_dim(s, x.shape, "movedim") for s in src]
    dst = [normalize_dim(s, x.shape, "movedim") for s in dst]
    order = [i for i in range(x.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, order)


def getitem(x: TensorBase, idx) -> TensorBase:
    """x[...] with ints, slices (positive steps), None, Ellipsis and integer tensors or lists."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    idx = tuple(list(i) if isinstance(i, tuple) else i for i in idx)  # x[(0, 1), :] indexes as x[[0, 1], :]
    if any(_is_mask(i) for i in idx):
        idx = _masks_to_indices(x, idx)
    used = sum(1 for i in idx if i is not None and i is not Ellipsis)
    if used > x.ndim:
        raise IndexError(f"too many indices for a tensor of shape {x.shape}: {used} given")
    if sum(1 for i in idx if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if Ellipsis in [i for i in idx if not isinstance(i, (TensorBase, np.ndarray, list))]:
        k = [j for j, i in enumerate(idx) if i is Ellipsis and not isinstance(i, (TensorBase, np.ndarray, list))][0]
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
        elif isinstance(i, (TensorBase, list, np.ndarray)):
            slices.append((0, size, 1))
            tensors.append((axis, as_tensor(i) if not isinstance(i, TensorBase) else i))
            out_shape.append(("tensor", axis))
        else:
            raise TypeError(f"unsupported index {i!r}; use ints, slices, None, ... or integer tensors")
        axis += 1
    if any(s != (0, d, 1) for s, d in zip(slices, x.shape)):
        x = op_result("slice", (x,), arg=tuple(slices))
    if tensors:  # as PyTorch (not NumPy): int indices select first, tensor indices apply to what is left
        x = x.reshape(tuple(s for a, s in enumerate(x.shape) if a not in dropped))
        left = lambda a: a - sum(1 for d in dropped if d < a)  # noqa: E731
        out_shape = [o if o[0] == "new" else (o[0], left(o[1])) for o in out_shape]
        return _advanced(x, out_shape, [(left(a), t) for a, t in tensors])
    return x.reshape(tuple(1 if o[0] == "new" else x.shape[o[1]] for o in out_shape))


def _is_mask(i) -> bool:
    if isinstance(i, TensorBase):
        return i.dtype.kind == "b"
    if isinstance(i, (list, np.ndarray)):
        a = np.asarray(i)
        return a.dtype == bool and a.ndim > 0
    return False


def _masks_to_indices(x: TensorBase, idx: tuple) -> tuple:
    """A bool mask over k dims becomes k integer index tensors (its nonzero positions). The result's shape
    depends on the mask's values, so the mask is realized here: the one point where indexing computes."""
    out, axis = [], 0
    for i in idx:
        if _is_mask(i):
            shape = tuple(i.shape) if isinstance(i, TensorBase) else np.asarray(i).shape
            want = x.shape[axis:axis + len(shape)]
            if shape != want:  # checked before the mask is computed
                raise IndexError(f"indexing: the mask of shape {shape} does not match the indexed dims "
                                 f"{want} of {x.shape} (starting at dim {axis})")
            mask = i.numpy() if isinstance(i, TensorBase) else np.asarray(i)
            out.extend(as_tensor(p.astype(np.int64)) for p in np.nonzero(mask))
            axis += mask.ndim
        else:
            out.append(i)
            if i is Ellipsis:
                axis += x.ndim - sum(_dims_used(j) for j in idx)
            else:
                axis += _dims_used(i)
    return tuple(out)


def _dims_used(i) -> int:
    """How many dims of the indexed tensor one index entry consumes (a mask: its rank)."""
    if i is None or i is Ellipsis:
        return 0
    return (i.ndim if isinstance(i, TensorBase) else np.asarray(i).ndim) if _is_mask(i) else 1


def _advanced(x: TensorBase, out_shape, tensors) -> TensorBase:
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


def cat(tensors, dim: int = 0, axis=None, out=None) -> TensorBase:
    """Concatenate along dim (or `axis`): each piece padded with zeros to the full size, then summed; with
    `out=`, the result is written into that tensor (`copy_`) and returned."""
    if out is not None:
        return out.copy_(cat(tensors, dim, axis))
    dim = dim if axis is None else axis
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expects a non-empty list of tensors")
    tensors = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    ref = tensors[0]
    if any(t.ndim == 0 for t in tensors):
        raise ValueError(f"cat: 0-dim tensors cannot be concatenated (shapes {[t.shape for t in tensors]}); "
                         f"use stack, or unsqueeze them first")
    d = normalize_dim(dim, ref.shape, "cat")
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = dtypes.join(dtype, t.dtype)
        if t.ndim != ref.ndim or any(a != b for k, (a, b) in enumerate(zip(t.shape, ref.shape)) if k != d):
            raise ValueError(f"cat: shapes {ref.shape} and {t.shape} must match except in dim {d}")
    total = sum(t.shape[d] for t in tensors)
    out, offset = None, 0
    for t in tensors:
        t = t.to(dtype)
        pads = tuple((offset, total - offset - t.shape[d]) if k == d else (0, 0) for k in range(t.ndim))
        offset += t.shape[d]
        p = op_result("pad", (t,), arg=(pads, False if dtype.kind == "b" else 0)) if any(a or b for a, b in pads) else t
        out = p if out is None else (out | p if dtype.kind == "b" else out + p)
    return out


def stack(tensors, dim: int = 0, axis=None, out=None) -> TensorBase:
    if out is not None:
        return out.copy_(stack(tensors, dim, axis))
    dim = dim if axis is None else axis
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expects a non-empty list of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have one shape, got {sorted(shapes)}")
    d = normalize_dim(dim, tensors[0].ndim + 1, "stack", tensors[0].shape)
    return cat([t.unsqueeze(d) for t in tensors], d)


def split(x: TensorBase, split_size_or_sections=None, dim: int = 0, split_size=None):
    """Pieces of `split_size_or_sections` (Tensor.split's keyword is `split_size`) along dim."""
    if split_size is not None:
        split_size_or_sections = split_size
    if split_size_or_sections is None:
        raise TypeError("split: give the piece size or the list of section sizes")
    d = normalize_dim(dim, x.shape, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections < 0 or (split_size_or_sections == 0 and n):
            raise ValueError(f"split: split_size must be >= 1 (0 only for an empty dim), got "
                             f"{split_size_or_sections} for dim {d} of {x.shape}")
        if n == 0:
            return (x,)
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if any(s < 0 for s in sizes):
            raise ValueError(f"split: section sizes must be >= 0, got {sizes} for dim {d} of {x.shape}")
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} do not add up to dim {d} of size {n}")
    out, start = [], 0
    for s in sizes:
        out.append(_slice(x, d, start, start + s, 1))
        start += s
    return tuple(out)


def chunk(x: TensorBase, chunks: int, dim: int = 0):
    """At most `chunks` pieces of equal size (the last smaller), as PyTorch's: chunks must be >= 1."""
    d = normalize_dim(dim, x.shape, "chunk")
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1:
        raise ValueError(f"chunk: chunks must be an int >= 1, got {chunks!r} for dim {d} of {x.shape}")
    n = x.shape[d]
    return split(x, -(-n // chunks), dim) if n else (x,) * chunks  # an empty dim: `chunks` empty pieces, as torch


def flip(x: TensorBase, dims) -> TensorBase:
    """Reverse along dims (a gather with reversed indices; slices with negative steps are not primitives)."""
    dims = [dims] if isinstance(dims, int) else list(dims)
    if len({normalize_dim(d, x.shape, "flip") for d in dims}) != len(dims):
        raise ValueError(f"flip: dims {tuple(dims)} name a dim twice (tensor of shape {x.shape}); give each once")
    for dim in dims:
        d = normalize_dim(dim, x.shape, "flip")
        n = x.shape[d]
        rev = wrap(C.build("arange", arg=(n - 1, -1, n, dtypes.int64)))
        x = index_select(x, d, rev)
    return x


def unfold_windows(x: TensorBase, kernel, stride=1, dilation=1) -> TensorBase:
    """Sliding windows over the last two dims: (..., H, W) -> (..., kh, kw, out_h, out_w), a view."""
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    kernel, stride, dilation = pair(kernel), pair(stride), pair(dilation)
    if min(kernel + stride + dilation) < 1:  # the shape rule would divide by a zero stride
        raise ValueError(f"unfold: kernel {kernel}, stride {stride} and dilation {dilation} must all be >= 1 "
                         f"(input {x.shape})")
    return op_result("unfold", (x,), arg=(kernel, stride, dilation))


@autocast_op("matmul")
def matmul(a: TensorBase, b: TensorBase) -> TensorBase:
    """Matrix product with NumPy's rules: 1-d operands are promoted and squeezed, batch dims broadcast."""
    if isinstance(a, TensorBase) and isinstance(b, TensorBase):  # the common case, two matrices of one dtype
        sa, sb = a._node.shape, b._node.shape
        if len(sa) == 2 == len(sb) and sa[1] == sb[0] and a._node.dtype is b._node.dtype and \
                a._node.dtype.kind != "b":
            return op_result("matmul", (a, b))
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dim, got {a.shape} and {b.shape}")
    d = dtypes.join(a.dtype, b.dtype)
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
        out = op_result("matmul", (a.reshape(-1, a.shape[-1]), b), arg=None).reshape(a.shape[:-1] + (b.shape[-1],))
    else:
        try:
            batch = broadcast_shapes(a.shape[:-2], b.shape[:-2], op="matmul")
        except ValueError:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied: the batch dims "
                             f"{a.shape[:-2]} and {b.shape[:-2]} cannot broadcast (sizes must match or be 1)") \
                from None
        a = broadcast_to(a, batch + a.shape[-2:])
        b = broadcast_to(b, batch + b.shape[-2:])
        out = op_result("matmul", (a, b))
    if va:
        out = out.squeeze(-2)
    if vb:
        out = out.squeeze(-1)
    return out


class MovementMixin:
    """Tensor's views, indexing and matmul: each method is the function of the same name above (`x.permute(1, 0)`
    is `permute(x, 1, 0)`); `x[i]` is `getitem(x, i)` and `a @ b` is `matmul(a, b)`."""
    __slots__ = ()

    reshape = view = reshape
    flatten = flatten
    unflatten = unflatten
    permute = permute
    transpose = transpose
    t = t
    unsqueeze = unsqueeze
    squeeze = squeeze
    expand = expand
    expand_as = expand_as
    repeat = repeat
    narrow = narrow
    gather = gather
    index_select = index_select
    movedim = movedim
    split = split
    chunk = chunk
    flip = flip
    matmul = matmul
    __getitem__ = getitem

    def __matmul__(self, other): return matmul(self, other)
    def __rmatmul__(self, other): return matmul(other, self)

    def view_as(self, other):
        """This tensor reshaped to `other`'s shape."""
        return reshape(self, other.shape)

    reshape_as = view_as

    @property
    def T(self):
        """All dims reversed (the transpose of a matrix)."""
        return permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        """The last two dims swapped (a batch of matrices transposed)."""
        return transpose(self, -2, -1)
