"""Leaves: ops with no operand data. `buffer` is a realized array (an input), `const` one value broadcast
(no memory), `constarr` an array folded at compile time, `arange` a range, `rand` uniform [0, 1) from a seed."""
from __future__ import annotations

import numpy as np

from ..ir import Node, make
from .table import INT64, declare, is_float


class ConstArray:
    """A folded constant (the constant-folding pass's result): hashable by value, so it is part of the
    structural key; shown by its shape and a digest."""
    __slots__ = ("array", "_key")

    def __init__(self, array):
        self.array = np.ascontiguousarray(array)
        self.array.setflags(write=False)
        self._key = (self.array.dtype.str, self.array.shape, self.array.tobytes())

    def __eq__(self, other):
        return isinstance(other, ConstArray) and self._key == other._key

    def __hash__(self):
        return hash(self._key)

    def __repr__(self):
        return f"array<{hash(self._key) & 0xffff:04x}>"


def leaf(buffer) -> Node:
    """A graph leaf for a realized Buffer. Each call makes a new node: a new version of the data."""
    return make("buffer", (), tuple(buffer.shape), buffer.dtype, buffer, unique=True)


def _leaf_rule(srcs, arg):
    raise TypeError("buffer leaves are made with compiler.leaf(), not build()")


def _const_rule(srcs, arg):
    value, shape, dtype = arg
    return shape, dtype


def _arange_rule(srcs, arg):
    start, step, n, dtype = arg
    return (n,), dtype


def _arange_np(n):
    start, step = n.arg[0], n.arg[1]
    if is_float(n.dtype):
        return (start + step * np.arange(n.shape[0], dtype=np.float64)).astype(n.dtype)
    return np.arange(start, start + step * n.shape[0], step, dtype=n.dtype)


def _rand_rule(srcs, arg):
    (seed,) = srcs
    shape, dtype = arg
    if seed.shape != () or seed.dtype != INT64:
        raise TypeError(f"rand: the seed must be an int64 scalar, got {seed.dtype}{list(seed.shape)}")
    return shape, dtype


def _rand_np(n, seed):
    return np.random.default_rng(int(seed)).random(n.shape, dtype=np.float64).astype(n.dtype)


declare("buffer", "leaf", _leaf_rule, lambda n: n.arg.array, unique=True, folds=False)
declare("const", "leaf", _const_rule, lambda n: np.broadcast_to(np.array(n.arg[0], n.dtype), n.shape),
        embedded=True, constant=True)
declare("constarr", "leaf", lambda srcs, arg: (arg.array.shape, arg.array.dtype), lambda n: n.arg.array,
        embedded=True, constant=True)
declare("arange", "leaf", _arange_rule, _arange_np, constant=True)
declare("rand", "leaf", _rand_rule, _rand_np, lambda n, g: (None,), folds=False)  # its seed is data
