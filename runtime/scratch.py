"""Per-thread scratch arrays for routines that work tile by tile (the convolutions, the float32 tiles of float16
routines in `widen.py`).

A step's routines run one after another on a thread, so one buffer per role and dtype, grown to the largest
tile any of them asked for, serves them all: no layer keeps scratch of its own, and no tile is a fresh
allocation (glibc maps and unmaps big ones each time, which shows as RSS growth and page faults per step).
Programs are shared across threads, so the buffers are per thread.
"""
from __future__ import annotations

import math
import threading

import numpy as np

_LOCAL = threading.local()


def scratch(role, shape, dtype) -> np.ndarray:
    """A C-ordered `shape` array over this thread's buffer for `role` (any hashable) and `dtype`. Its contents
    are whatever the last user left."""
    buffers = _LOCAL.__dict__.setdefault("buffers", {})
    n, key = math.prod(shape), (role, np.dtype(dtype))
    flat = buffers.get(key)
    if flat is None or flat.size < n:
        flat = buffers[key] = np.empty(n, dtype)
    return flat[:n].reshape(shape)
