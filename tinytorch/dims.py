"""Dim arguments: the one check that every op taking a `dim` runs (negative dims count from the end)."""
from __future__ import annotations

import numpy as np


class DimError(IndexError, ValueError):
    """A dim out of range: an IndexError as in PyTorch, and a ValueError like every other shape error here."""


def normalize_dim(dim, ndim, op: str, shape=None) -> int:
    """`dim` as an axis in [0, ndim) (a 0-d tensor takes dim 0 or -1); errors name `op` and the tensor's shape.

    `ndim` is the rank, or the tensor's shape itself (then the rank is its length): pass the shape so the
    error shows it. Ops whose dim may also be one past the end (unsqueeze, stack) pass ndim + 1 and `shape`."""
    if isinstance(ndim, tuple):
        shape, ndim = ndim, len(ndim)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        of = f"a tensor of shape {tuple(shape)}" if shape is not None else "a tensor"
        raise DimError(f"{op}: dim {dim} is out of range for {of} with {len(shape) if shape is not None else ndim} "
                       f"dims (expected a dim in [{-n}, {n - 1}])")
    return dim % n
