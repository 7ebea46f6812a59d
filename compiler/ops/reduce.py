"""Reductions over axes (`sum`, `max`). Reduced axes stay as size 1 (keepdims), so a gradient is an expand."""
from __future__ import annotations

import numpy as np

from .builders import div, mul
from .table import build, declare


def _reduce_rule(name):
    def rule(srcs, arg):
        (x,) = srcs
        if not isinstance(arg, tuple) or any(not isinstance(a, int) or not 0 <= a < x.ndim for a in arg) \
                or len(set(arg)) != len(arg) or list(arg) != sorted(arg):
            raise ValueError(f"{name}: axes must be sorted distinct ints in [0, {x.ndim}), got {arg}")
        return tuple(1 if i in arg else d for i, d in enumerate(x.shape)), x.dtype
    return rule


def _rmax_vjp(n, g):
    x = n.srcs[0]
    hit = build("cast", build("cmpeq", x, build("expand", n, arg=x.shape)), arg=g.dtype)
    count = build("sum", hit, arg=n.arg)
    share = div(build("expand", g, arg=x.shape), build("expand", count, arg=x.shape))
    return (mul(share, hit),)


declare("sum", "reduce", _reduce_rule("sum"), lambda n, a: np.sum(a, axis=n.arg, keepdims=True, dtype=n.dtype),
        lambda n, g: (build("expand", g, arg=n.srcs[0].shape),))
declare("max", "reduce", _reduce_rule("max"), lambda n, a: np.max(a, axis=n.arg, keepdims=True), _rmax_vjp)
