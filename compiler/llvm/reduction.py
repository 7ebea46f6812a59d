"""How a reduction accumulates: its identity and its combining step, shared by the reduce and row stages.

A float sum's add carries the fast-math flags 'reassoc contract', so the vectorizer may split it into
partial sums: the result then differs from a sequential sum by rounding order only. A float max is
NaN-propagating, like np.max. Integer and bool reductions use the op table's add / maximum lowerings.
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from . import mathfns as M
from . import scalar

REDUCE_FLAGS = ["reassoc", "contract"]


def identity(op: str, dtype):
    """The value an accumulator of `op` ('sum' or 'max') starts from."""
    dtype = np.dtype(dtype)
    if op == "sum" or scalar.is_bool(dtype):
        return scalar.constant(0, dtype)
    if scalar.is_float(dtype):
        return scalar.constant(-math.inf, dtype)
    return scalar.constant(np.iinfo(dtype).min, dtype)


def combiner(b, op: str, dtype):
    """combine(accumulated, value) -> the new accumulated value, emitted with builder `b`."""
    if op == "max" and scalar.is_float(dtype):
        return lambda a, v: M.call(b, "maximum", a, v)
    if op == "sum" and scalar.is_float(dtype):
        def fsum(a, v):
            r = b.fadd(a, v)
            r.flags += REDUCE_FLAGS
            return r
        return fsum
    lowering = ops.OPS["add" if op == "sum" else "maximum"].llvm
    return lambda a, v: lowering(b, [a, v], dtype, dtype)
