"""float16 storage, float32 arithmetic for the BLAS-backed routines (matmul, convolutions, attention).

BLAS has no float16, and NumPy's float16 matmul is a plain loop that rounds to float16 after every
multiply-add: slow and inexact. Mixed precision (tinytorch.autocast) stores activations in float16 to save
memory, so a float16 product is computed here in float32 from its float16 operands and rounded once into its
float16 output, as a GPU kernel accumulates float16 products in float32. The float32 copies are transient
(one routine call), never arena buffers, so the memory plan still sees float16 values only.
"""
from __future__ import annotations

import functools

import numpy as np

# storage dtype -> the dtype its products are computed and accumulated in
COMPUTE = {np.dtype(np.float16): np.dtype(np.float32)}


def compute_dtype(dtype) -> np.dtype:
    """The dtype a routine writing `dtype` computes in."""
    dtype = np.dtype(dtype)
    return COMPUTE.get(dtype, dtype)


def widened(fn):
    """`fn(out, *arrays, **kw)`, run in `compute_dtype(out.dtype)`: operands of out's dtype are read widened,
    the result rounded once into out. Other operands (a bool mask, int indices) are passed as they are."""
    @functools.wraps(fn)
    def run(out, *arrays, **kw):
        wide = COMPUTE.get(out.dtype)
        if wide is None:
            return fn(out, *arrays, **kw)
        tmp = np.empty(out.shape, wide)
        with np.errstate(all="ignore"):  # overflow to inf is float16's signal (GradScaler backs off), not an error
            fn(tmp, *(a.astype(wide) if isinstance(a, np.ndarray) and a.dtype == out.dtype else a for a in arrays),
               **kw)
            np.copyto(out, tmp, casting="same_kind")
        return out
    return run
