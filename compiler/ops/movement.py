"""Movement ops: reshape, permute, expand, slice, pad, detach. All but `pad` are free views: a kernel reads
their source through strides and offsets (stride 0 for a broadcast), nothing is copied. `pad` writes new
elements, so it runs as a kernel of its own. `detach` is the identity that stops gradients."""
from __future__ import annotations

import math

import numpy as np

from .builders import sum_to
from .table import build, declare


def _reshape_rule(srcs, arg):
    (x,) = srcs
    if math.prod(arg) != x.size or any(d < 0 for d in arg):
        raise ValueError(f"reshape: cannot view {x.shape} ({x.size} elements) as {arg}")
    return tuple(arg), x.dtype


def _permute_rule(srcs, arg):
    (x,) = srcs
    if sorted(arg) != list(range(x.ndim)):
        raise ValueError(f"permute: {arg} is not a permutation of the {x.ndim} dims of {x.shape}")
    return tuple(x.shape[i] for i in arg), x.dtype


def _expand_rule(srcs, arg):
    (x,) = srcs
    if len(arg) != x.ndim or any(s != d and s != 1 for s, d in zip(x.shape, arg)):
        raise ValueError(f"expand: cannot expand {x.shape} to {arg}; only size-1 dims grow and ranks must match")
    return tuple(arg), x.dtype


def _slice_rule(srcs, arg):
    (x,) = srcs
    if len(arg) != x.ndim:
        raise ValueError(f"slice: need one (start, stop, step) per dim of {x.shape}, got {arg}")
    out = []
    for (start, stop, step), d in zip(arg, x.shape):
        if step < 1 or not 0 <= start <= stop <= d:
            raise ValueError(f"slice: bad range {start}:{stop}:{step} for a dim of size {d} in {x.shape}")
        out.append(max(0, -(-(stop - start) // step)))
    return tuple(out), x.dtype


def _slice_vjp(n, g):
    x = n.srcs[0]
    for axis, ((start, stop, step), d) in enumerate(zip(n.arg, x.shape)):
        k = g.shape[axis]
        if step > 1 and k > 0:  # interleave step-1 zeros after each element: unsqueeze, pad, merge
            shape = g.shape
            g = build("reshape", g, arg=shape[:axis + 1] + (1,) + shape[axis + 1:])
            pads = tuple((0, step - 1) if i == axis + 1 else (0, 0) for i in range(g.ndim))
            g = build("pad", g, arg=(pads, 0.0))
            g = build("reshape", g, arg=shape[:axis] + (k * step,) + shape[axis + 1:])
        covered = g.shape[axis]
        hi = d - start - covered
        if hi < 0:  # the interleaving overshot the end: trim
            g = build("slice", g, arg=tuple((0, covered + hi, 1) if i == axis else (0, s, 1)
                                            for i, s in enumerate(g.shape)))
            hi = 0
        if start or hi:
            g = build("pad", g, arg=(tuple((start, hi) if i == axis else (0, 0) for i in range(g.ndim)), 0.0))
    return (g,)


def _pad_rule(srcs, arg):
    (x,) = srcs
    pads, value = arg
    if len(pads) != x.ndim or any(lo < 0 or hi < 0 for lo, hi in pads):
        raise ValueError(f"pad: need one non-negative (before, after) per dim of {x.shape}, got {pads}")
    return tuple(d + lo + hi for d, (lo, hi) in zip(x.shape, pads)), x.dtype


def _pad_vjp(n, g):
    pads = n.arg[0]
    return (build("slice", g, arg=tuple((lo, lo + d, 1) for (lo, hi), d in zip(pads, n.srcs[0].shape))),)


declare("reshape", "movement", _reshape_rule, lambda n, a: np.reshape(a, n.arg),
        lambda n, g: (build("reshape", g, arg=n.srcs[0].shape),), view=True)
declare("permute", "movement", _permute_rule, lambda n, a: np.transpose(a, n.arg),
        lambda n, g: (build("permute", g, arg=tuple(np.argsort(n.arg).tolist())),), view=True)
declare("expand", "movement", _expand_rule, lambda n, a: np.broadcast_to(a, n.arg),
        lambda n, g: (sum_to(g, n.srcs[0].shape),), view=True)
declare("slice", "movement", _slice_rule, lambda n, a: a[tuple(slice(*s) for s in n.arg)], _slice_vjp, view=True)
declare("pad", "movement", _pad_rule, lambda n, a: np.pad(a, n.arg[0], constant_values=n.arg[1]), _pad_vjp)
declare("detach", "movement", lambda srcs, arg: (srcs[0].shape, srcs[0].dtype), lambda n, a: a,
        lambda n, g: (None,), view=True)
