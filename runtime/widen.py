"""float16 storage, float32 arithmetic for the BLAS-backed routines (matmul, convolutions, attention).

BLAS has no float16, and NumPy's float16 matmul is a plain loop that rounds to float16 after every
multiply-add: slow and inexact. Mixed precision (tinytorch.autocast) stores activations in float16 to save
memory, so a float16 product is computed here in float32 from its float16 operands and rounded once into its
float16 output, as a GPU kernel accumulates float16 products in float32.

The float32 copies are never arena buffers, so the memory plan sees float16 values only; nor are they whole
fresh arrays: they live in per-thread scratch (`scratch.py`), reused by every call, converted natively
(`half.py`, ~0.2-1 ns an element against NumPy's 4-7), and a routine whose work splits over its first axis
(a convolution's images) runs a chunk of images at a time, so the float32 footprint is a chunk, not a layer.
"""
from __future__ import annotations

import functools

import numpy as np

from . import half, parallel
from .scratch import scratch

# storage dtype -> the dtype its products are computed and accumulated in
COMPUTE = {np.dtype(np.float16): np.dtype(np.float32)}
# float32 bytes of one chunk's widened first operand and result: a few MB, so the transient float32 memory of a
# layer is this (not the layer), while a chunk still holds several cache-sized tiles per thread
CHUNK_BYTES = 1 << 23


def compute_dtype(dtype) -> np.dtype:
    """The dtype a routine writing `dtype` computes in."""
    dtype = np.dtype(dtype)
    return COMPUTE.get(dtype, dtype)


def widen_tile(a: np.ndarray, role, threads: int = 1) -> np.ndarray:
    """a in its compute dtype: a float16 array converted into this thread's scratch for `role` (C- or
    F-ordered as `a` is, so BLAS sees the same layout), any other array itself. Valid until the thread's next
    use of `role`."""
    wide = COMPUTE.get(a.dtype)
    if wide is None:
        return a
    if a.flags.f_contiguous and not a.flags.c_contiguous:
        return half.convert(a, scratch(role, a.shape[::-1], wide).T, threads)
    return half.convert(a, scratch(role, a.shape, wide), threads)


def narrow_into(tmp: np.ndarray, out: np.ndarray, threads: int = 1) -> np.ndarray:
    """out <- tmp rounded once to out's dtype (inf where it overflows: GradScaler's signal, not an error)."""
    with np.errstate(all="ignore"):
        return half.convert(tmp, out, threads)


def widened(fn=None, *, batched: bool = False):
    """`fn(out, *arrays, **kw)`, run in `compute_dtype(out.dtype)`: operands of out's dtype are read widened,
    the result rounded once into out. Other operands (a bool mask, int indices) are passed as they are. With
    `batched`, fn's work splits over axis 0 of out and of its first operand (each image of a convolution
    is computed from its own image alone): fn runs on chunks of CHUNK_BYTES, the other operands widened once."""
    if fn is None:
        return functools.partial(widened, batched=batched)

    @functools.wraps(fn)
    def run(out, *arrays, **kw):
        wide = COMPUTE.get(out.dtype)
        if wide is None:
            return fn(out, *arrays, **kw)
        threads = parallel.num_threads()
        args = [widen_tile(a, ("widened", i), threads) if isinstance(a, np.ndarray) and a.dtype == out.dtype
                else a for i, a in enumerate(arrays) if not (batched and i == 0)]
        with np.errstate(all="ignore"):  # overflow to inf is float16's signal (GradScaler backs off), not an error
            if not batched:
                tmp = scratch(("widened", "out"), out.shape, wide)
                fn(tmp, *args, **kw)
                return narrow_into(tmp, out, threads)
            first, n = arrays[0], out.shape[0]
            per = (out[:1].size + first[:1].size) * wide.itemsize
            step = max(1, min(n, CHUNK_BYTES // max(per, 1)))
            for n0 in range(0, n, step):
                part = slice(n0, min(n, n0 + step))
                tmp = scratch(("widened", "out"), out[part].shape, wide)
                fn(tmp, widen_tile(first[part], ("widened", 0), threads), *args, **kw)
                narrow_into(tmp, out[part], threads)
        return out
    return run
