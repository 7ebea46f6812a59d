"""Dim arguments: the one check that every op taking a `dim` runs (negative dims count from the end)."""
from __future__ import annotations

import numpy as np


class DimError(IndexError, ValueError):
    """A dim out of range: an IndexError as in PyTorch, and a ValueError like every other shape error here."""


def normalize_dim(dim, ndim: int, op: str) -> int:
    """`dim` as an axis in [0, ndim) for a tensor of `ndim` dims (a 0-d tensor takes dim 0 or -1);
    errors name `op`."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise DimError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dims "
                       f"(expected a dim in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])")
    return dim % max(ndim, 1)
