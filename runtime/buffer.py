"""A Buffer owns one realized array.

Graph leaves point at Buffers (never at bare arrays) so that a leaf is
hashable by identity and its array can be updated in place by `assign`.
"""
import numpy as np


class Buffer:
    __slots__ = ("array", "__weakref__")

    def __init__(self, array: np.ndarray):
        self.array = array

    @property
    def shape(self):
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def nbytes(self) -> int:
        return self.array.nbytes

    def __repr__(self):
        return f"Buffer({self.array.dtype}{list(self.array.shape)})"
