"""`cumsum` along the last axis, a sequential scan: O(n) additions, each prefix the previous one plus one element.

A Hillis-Steele scan (tinytorch/scan.py, the other cumulative ops) does O(n log n) work and sums each prefix
in a different order, so a prefix sum of non-negative numbers need not rise monotonically and a zero element
need not repeat the previous prefix exactly; multinomial's inverse CDF relies on both. A triangular-ones
matmul is O(n^2). So cumsum is an op of its own, computed by one `into` routine that both backends call.

arg: `reverse` (bool): the sums run from the end of the row (out[i] = x[i] + ... + x[n-1]), which is the
gradient of the forward cumsum and so makes its VJP one op. Floats narrower than float64 accumulate in
float64 (as PyTorch's CPU kernel accumulates in its wider type); the frontend casts integers to int64.
"""
from __future__ import annotations

import numpy as np

from .table import build, declare, shapes


def _rule(srcs, reverse):
    (x,) = srcs
    if x.ndim < 1 or x.dtype.kind not in "iuf":
        raise ValueError(f"cumsum: cannot scan {shapes(srcs)} of {x.dtype.name}; need a numeric tensor of at "
                         f"least one dim")
    return x.shape, x.dtype


def cumsum_into(out, x, arg, copy_windows=None):
    """out <- the running sums of each row of x (from the end when arg, `reverse`, is true); `copy_windows`
    is unused."""
    if arg:
        x, out = x[..., ::-1], out[..., ::-1]
    acc = np.float64 if x.dtype.kind == "f" and x.dtype.itemsize < 8 else x.dtype
    if acc == x.dtype:
        np.cumsum(x, axis=-1, out=out)
    else:
        np.copyto(out, np.cumsum(x, axis=-1, dtype=acc), casting="unsafe")
    return out


declare("cumsum", "index", _rule, lambda n, x: cumsum_into(np.empty(n.shape, n.dtype), x, n.arg),
        lambda n, g: (build("cumsum", g, arg=not n.arg),), into=cumsum_into)
