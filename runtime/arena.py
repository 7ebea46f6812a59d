"""The arena: one allocation that a Program's internal temporaries share, at the offsets its memory plan chose.

A Program allocates its arena once, the first time it runs, and reuses it on
every later run; each temporary is an ndarray view of it. Nothing the user
keeps ever lives here (outputs are fresh arrays), so reusing the bytes on the
next run cannot change a value already handed out.
"""
from __future__ import annotations

import math

import numpy as np


class Arena:
    __slots__ = ("nbytes", "memory")

    def __init__(self, nbytes: int):
        self.nbytes = int(nbytes)
        self.memory = np.empty(max(self.nbytes, 1), dtype=np.uint8)

    def view(self, offset: int, shape: tuple, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        n = math.prod(shape) * dtype.itemsize
        if offset < 0 or offset + n > self.nbytes:
            raise ValueError(f"arena view [{offset}, {offset + n}) is outside the arena of {self.nbytes} bytes")
        return self.memory[offset:offset + n].view(dtype).reshape(shape)

    def __repr__(self):
        return f"Arena({self.nbytes} bytes)"
