"""Small node builders the VJPs (and the frontend) are written with: gradients are graph nodes like any other."""
from __future__ import annotations

import numpy as np

from ..ir import Node
from .table import build


def const(value, shape, dtype) -> Node:
    dtype = np.dtype(dtype)
    return build("const", arg=(_py(value, dtype), tuple(shape), dtype))


def _py(value, dtype):
    return bool(value) if dtype.kind == "b" else int(value) if dtype.kind in "iu" else float(value)


def like(n: Node, value) -> Node:
    return const(value, n.shape, n.dtype)


def add(a, b): return build("add", a, b)
def mul(a, b): return build("mul", a, b)
def neg(a): return build("neg", a)
def div(a, b): return build("div", a, b)


def sum_to(g: Node, shape: tuple) -> Node:
    """Reduce a gradient of an expanded operand back to the operand's shape (same rank, size-1 axes)."""
    axes = tuple(i for i, (gs, s) in enumerate(zip(g.shape, shape)) if gs != s)
    return build("sum", g, arg=axes) if axes else g
