"""`assign`: write a value into a realized buffer (a parameter or optimizer state). It has a side effect,
so it is never merged with another assign (unique) and never folded; the schedule runs it after every
reader of the old value."""
from __future__ import annotations

import numpy as np

from .table import declare


def _assign_rule(srcs, arg):
    target, value = srcs
    if target.op != "buffer":
        raise TypeError("assign: the target must be a realized buffer (a parameter or state tensor)")
    if target.shape != value.shape or target.dtype != value.dtype:
        raise ValueError(f"assign: value {value.dtype.name}{list(value.shape)} does not match target "
                         f"{target.dtype.name}{list(target.shape)}")
    return target.shape, target.dtype


def _assign_np(n, target, value):
    np.copyto(target, value)
    return target


declare("assign", "assign", _assign_rule, _assign_np, lambda n, g: (None, None), unique=True, folds=False)
