"""float16 storage, float32 arithmetic for the BLAS-backed routines (matmul, convolutions, attention).

BLAS has no float16, and NumPy's float16 matmul is a plain loop that rounds to float16 after every
multiply-add: slow and inexact. Mixed precision (tinytorch.autocast) stores activations in float16 to save
memory, so a float16 product is computed here in float32 from its float16 operands and rounded once into its
float16 output, as a GPU kernel accumulates float16 products in float32.

The float32 copies are never arena buffers, so the memory plan sees float16 values only; nor are they whole
fresh arrays: they live in per-thread scratch (`scratch.py`), reused by every call, converted natively
(`half.py`, ~0.2-1 ns an element against NumPy's 4-7), and a routine whose work splits along an axis (a
convolution's images, a product's rows or columns) runs a chunk at a time on each thread, so the float32
footprint is a chunk per thread, not a layer, and the conversions run on all threads.
"""
from __future__ import annotations

import functools

import numpy as np

from . import blas, half, parallel
from .scratch import scratch

# storage dtype -> the dtype its products are computed and accumulated in
COMPUTE = {np.dtype(np.float16): np.dtype(np.float32)}
# float32 bytes of one chunk's widened result and split operands: the transient float32 memory per thread is
# about this (not a layer), while a chunk still holds a few of a convolution's cache-sized tiles
CHUNK_BYTES = 1 << 21


def compute_dtype(dtype) -> np.dtype:
    """The dtype a routine writing `dtype` computes in."""
    dtype = np.dtype(dtype)
    return COMPUTE.get(dtype, dtype)


def _widen_into(a: np.ndarray, flat: np.ndarray, threads: int = 1) -> np.ndarray:
    """a converted into the first a.size elements of the 1-d `flat`, laid out C- or F-ordered as `a` is (so
    BLAS sees the same layout)."""
    if a.flags.f_contiguous and not a.flags.c_contiguous:
        return half.convert(a, flat[:a.size].reshape(a.shape[::-1]).T, threads)
    return half.convert(a, flat[:a.size].reshape(a.shape), threads)


def widen_tile(a: np.ndarray, role, threads: int = 1) -> np.ndarray:
    """a in its compute dtype: a float16 array converted into this thread's scratch for `role`, any other
    array itself. Valid until the thread's next use of `role`."""
    wide = COMPUTE.get(a.dtype)
    return a if wide is None else _widen_into(a, scratch(role, (a.size,), wide), threads)


def narrow_into(tmp: np.ndarray, out: np.ndarray, threads: int = 1) -> np.ndarray:
    """out <- tmp rounded once to out's dtype (inf where it overflows: GradScaler's signal, not an error)."""
    with np.errstate(all="ignore"):
        return half.convert(tmp, out, threads)


def first_axis(out, first, *rest):
    """A `widened` split: image i of out comes from image i of the first operand alone (a convolution)."""
    return 0, {0: 0}


def _take(a: np.ndarray, axis: int, part: slice) -> np.ndarray:
    return a[(slice(None),) * axis + (part,)]


def widened(fn=None, *, split=None):
    """`fn(out, *arrays, **kw)`, run in `compute_dtype(out.dtype)`: operands of out's dtype are read widened,
    the result rounded once into out. Other operands (a bool mask, int indices) are passed as they are.
    `split(out, *arrays)` -> (axis of out, {operand index: its axis}), or None, names an axis fn's work is
    independent along (a convolution's images, a product's rows or columns): fn then runs on chunks of at
    most CHUNK_BYTES, one run of chunks per thread (nested routines serial), each chunk's operands widened
    into its thread's scratch and its result rounded into out; the other operands are widened once."""
    if fn is None:
        return functools.partial(widened, split=split)

    @functools.wraps(fn)
    def run(out, *arrays, **kw):
        wide = COMPUTE.get(out.dtype)
        if wide is None:
            return fn(out, *arrays, **kw)
        threads = parallel.num_threads() if blas.available() else 1
        axis, cut = (split(out, *arrays) if split else None) or (None, {})
        args = [widen_tile(a, ("widened", i), threads) if isinstance(a, np.ndarray) and a.dtype == out.dtype
                and i not in cut else a for i, a in enumerate(arrays)]
        with np.errstate(all="ignore"):  # overflow to inf is float16's signal (GradScaler backs off), not an error
            if axis is None:
                tmp = scratch(("widened", "out"), out.shape, wide)
                fn(tmp, *args, **kw)
                return narrow_into(tmp, out, threads)
            n = out.shape[axis]
            per = sum(a.size // max(a.shape[ax], 1) for a, ax in [(out, axis)] + [(arrays[i], ax) for i, ax in
                                                                                     cut.items()]) * wide.itemsize
            step = max(1, min(-(-n // threads), CHUNK_BYTES // max(per, 1)))

            def chunks(lo, hi):  # one buffer per thread holds a chunk's result and split operands
                with parallel.serial(), np.errstate(all="ignore"):  # (errstate is per thread)
                    for c0 in range(lo, hi, step):
                        part, mine = slice(c0, min(hi, c0 + step)), list(args)
                        o = _take(out, axis, part)
                        flat = scratch(("widened", "chunk"), (step * per // wide.itemsize,), wide)
                        at = o.size
                        for i, ax in cut.items():
                            a = _take(arrays[i], ax, part)
                            if a.dtype == out.dtype:
                                mine[i] = _widen_into(a, flat[at:])
                                at += a.size
                            else:
                                mine[i] = a
                        tmp = flat[:o.size].reshape(o.shape)
                        fn(tmp, *mine, **kw)
                        narrow_into(tmp, o)
            with blas.single_threaded():
                parallel.split(chunks, n, threads)
        return out
    return run
