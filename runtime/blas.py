"""BLAS on one thread while a routine splits its work across the runtime's own threads.

A routine that splits its tiles across the runtime's threads (a convolution: parallel.py `split`) calls BLAS
from each of them; letting each call fork BLAS threads of its own would put 2 x 2 threads on 2 cores and
make every small call wait on a descheduled helper (on a loaded 2-core machine a 0.2 ms GEMM took 40 ms).
`single_threaded()` sets the BLAS NumPy bundles (OpenBLAS, found with ctypes) to one thread for the
duration, process-wide, and restores the count when the last overlapping user leaves (a lock and a depth
count, so two threads' routines cannot leave it at 1). Without such a BLAS, `available()` is False and
callers keep one thread and BLAS's own threading.
"""
from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import threading

import numpy as np

# (get, set) names: NumPy's scipy-openblas wheels prefix them; a plain OpenBLAS does not
_NAMES = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
          ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
          ("openblas_get_num_threads", "openblas_set_num_threads"))
_FUNCS = None
_LOOKED = False
_LOCK = threading.Lock()
_DEPTH = 0
_SAVED = 0


def _find():
    """(get, set) of the OpenBLAS NumPy loaded, or None."""
    here = os.path.dirname(np.__file__)
    for path in sorted(glob.glob(os.path.join(here, "..", "numpy.libs", "*openblas*"))
                       + glob.glob(os.path.join(here, ".dylibs", "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get, set_ in _NAMES:
            if hasattr(lib, get) and hasattr(lib, set_):
                getter, setter = getattr(lib, get), getattr(lib, set_)
                getter.argtypes, getter.restype = [], ctypes.c_int
                setter.argtypes, setter.restype = [ctypes.c_int], None
                return getter, setter
    return None


def available() -> bool:
    global _FUNCS, _LOOKED
    if not _LOOKED:
        _FUNCS, _LOOKED = _find(), True
    return _FUNCS is not None


@contextlib.contextmanager
def single_threaded():
    global _DEPTH, _SAVED
    if not available():
        yield
        return
    get, set_ = _FUNCS
    with _LOCK:
        if _DEPTH == 0:
            _SAVED = get()
            set_(1)
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                set_(_SAVED)
