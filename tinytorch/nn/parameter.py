"""Parameter: a Tensor that a Module registers as trainable.

A parameter is always a realized leaf buffer with requires_grad=True, so the
optimizer can `assign` its update into that buffer and every step's graph
starts from the same kind of leaf (which keeps the Program cache warm).
"""
from __future__ import annotations

import numpy as np

from .. import compiler as C
from ..runtime import Buffer
from ..tensor import Tensor


def _owned_array(data) -> np.ndarray:
    """A fresh array this parameter owns (assign writes into it in place, so it must not alias the caller's)."""
    arr = data.numpy() if isinstance(data, Tensor) else Tensor(data).numpy()
    return np.array(arr, copy=True)


class Parameter(Tensor):
    __slots__ = ()

    def __new__(cls, data=None, requires_grad: bool = True):
        arr = _owned_array(np.zeros(0, np.float32) if data is None else data)
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(f"Parameter: only floating point tensors can require gradients, got {arr.dtype.name}; "
                            f"pass requires_grad=False or cast with .float()")
        return object.__new__(cls)._init(C.leaf(Buffer(arr)), requires_grad)

    def __init__(self, data=None, requires_grad: bool = True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, proto):
        raise TypeError("Parameters are not pickled; save state with tinytorch.save(model.state_dict(), path)")


def set_data(t: Tensor, array: np.ndarray) -> None:
    """Make `t` a new version holding a copy of `array` (initialisation, load_state_dict)."""
    t._set_node(C.leaf(Buffer(np.array(array, dtype=t.dtype, copy=True).reshape(t.shape))))
