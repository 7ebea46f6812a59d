"""A restricted unpickler for the official CIFAR-10 "python version" batches.

`pickle.load` runs whatever code a file names, so a downloaded pickle is a
program. This unpickler resolves only the few globals a NumPy array needs
(`_reconstruct`, `ndarray`, `dtype`, and `_codecs.encode` that protocol-2
bytes use) and refuses every other one, then checks that the result is made of
dicts, lists, tuples, bytes, str, numbers and non-object NumPy arrays.
"""
from __future__ import annotations

import _codecs
import io
import pickle

import numpy as np

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _codecs.encode,
}
_PLAIN = (dict, list, tuple, bytes, str, int, float, bool, type(None))


class UnsafePickleError(pickle.UnpicklingError):
    pass


class _Restricted(pickle.Unpickler):
    def __init__(self, file, source, **kw):
        super().__init__(file, **kw)
        self.source = source

    def find_class(self, module, name):
        found = _ALLOWED.get((module, name))
        if found is None:
            raise UnsafePickleError(f"{self.source}: refusing to unpickle the global {module}.{name}; only plain "
                                    "data and NumPy arrays are allowed (this file is not an official CIFAR batch, "
                                    "or it was tampered with)")
        return found


def _check(obj, source, depth=0):
    if depth > 20:
        raise UnsafePickleError(f"{source}: nested deeper than 20 levels, not a dataset batch")
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise UnsafePickleError(f"{source}: holds an object array, not a dataset batch")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _check(k, source, depth + 1)
            _check(v, source, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _check(v, source, depth + 1)
    elif not isinstance(obj, _PLAIN):
        raise UnsafePickleError(f"{source}: holds a {type(obj).__name__}, not plain data")


def safe_load(file, encoding: str = "bytes"):
    """Unpickle plain data from a path, a file object or bytes (encoding="bytes" as for the Python 2 batches)."""
    if isinstance(file, (bytes, bytearray)):
        source, f = "<bytes>", io.BytesIO(file)
    elif hasattr(file, "read"):
        source, f = getattr(file, "name", "<file>"), file
    else:
        source, f = str(file), open(file, "rb")
    try:
        obj = _Restricted(f, source, encoding=encoding).load()
    finally:
        if f is not file:
            f.close()
    _check(obj, source)
    return obj
