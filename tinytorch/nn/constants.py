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


def take_along(x: Tensor, dim: int, table) -> Tensor:
    """x with dim `dim` replaced by x[..., table[j], ...] for each j: a `gather` along `dim` whose index is the
    constant table broadcast over the other dims. It reads x in place and writes its output in order
    (`index_select` would move `dim` to the front and back, two strided passes over the data)."""
    table = np.asarray(table, dtype=np.int64)
    shape = [1] * x.ndim
    shape[dim] = full = table.size
    out_shape = x.shape[:dim] + (full,) + x.shape[dim + 1:]
    return x.gather(dim, const_tensor(table.reshape(shape)).expand(out_shape))
