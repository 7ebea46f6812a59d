"""One BLAS thread for the calling thread, where the BLAS allows it (OpenBLAS >= 0.3.27, which NumPy bundles).

A routine that splits its work across the runtime's threads (a convolution, tile by tile: parallel.py
`split`) calls BLAS from each of them; letting each call fork BLAS threads of its own would put 2 x 2
threads on 2 cores and make every small call wait on a descheduled helper (on a loaded 2-core machine a
0.2 ms GEMM took 40 ms). `single_threaded()` sets the calling thread's own BLAS thread count to 1 and
restores it; other threads keep theirs. Without such a BLAS, `available()` is False and callers keep one
thread and BLAS's own threading.
"""
from __future__ import annotations

import contextlib
import ctypes
import glob
import os

import numpy as np

_SETTER = None
_LOOKED = False


def _find():
    """`openblas_set_num_threads_local` of the OpenBLAS NumPy loaded, or None."""
    here = os.path.dirname(np.__file__)
    for path in sorted(glob.glob(os.path.join(here, "..", "numpy.libs", "*openblas*"))
                       + glob.glob(os.path.join(here, ".dylibs", "*openblas*"))):
        try:
            return getattr(ctypes.CDLL(path), "openblas_set_num_threads_local")
        except (OSError, AttributeError):
            continue
    return None


def available() -> bool:
    global _SETTER, _LOOKED
    if not _LOOKED:
        _SETTER, _LOOKED = _find(), True
        if _SETTER is not None:
            _SETTER.argtypes, _SETTER.restype = [ctypes.c_int], ctypes.c_int
    return _SETTER is not None


@contextlib.contextmanager
def single_threaded():
    if not available():
        yield
        return
    before = _SETTER(1)
    try:
        yield
    finally:
        _SETTER(before)
