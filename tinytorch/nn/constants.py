"""Tables that depend only on shapes (gather indices, window sizes, interpolation weights) as graph constants.

The CNN ops that are not plain windows (padding modes, adaptive pooling, resizing, unpooling) are a
gather or a matmul against a table computed here in NumPy from the shapes. The table is a `constarr` leaf:
part of the Program's structural key, embedded in the kernels that read it, never an input to feed.
"""
from __future__ import annotations

import numpy as np

from .. import compiler as C
from ..compiler.ops.leaves import ConstArray
from ..tensor import Tensor
from ..tensor_base import wrap


def const_tensor(array, dtype=None) -> Tensor:
    """A compile-time constant tensor holding `array` (cast to `dtype` when given)."""
    array = np.asarray(array, dtype=None if dtype is None else np.dtype(dtype))
    return wrap(C.build("constarr", arg=ConstArray(array)))


def adaptive_bounds(size: int, out: int):
    """PyTorch's adaptive windows: start = floor(i*size/out), end = ceil((i+1)*size/out), as two int arrays."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)
