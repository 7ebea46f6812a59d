"""NumPy routines the generated kernels of lower_numpy.py call: ops written straight into their output."""
from __future__ import annotations

import numpy as np


def overlaps(out, chained, plain) -> bool:
    """Whether an input may alias the assign target other than as the very same array read at the same index
    (a cached Program cannot know which of its inputs share memory: that is the caller's data)."""
    return any(np.may_share_memory(out, a) for a in chained) or any(
        a is not out and np.may_share_memory(out, a) for a in plain)


ERF_HORNER = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
              0.37409196, 1.00002368)  # ops._erf's coefficients, innermost first


def erf_into(out, x):
    """ops._erf computed in place in `out` with two temporaries: the same operations on the same operands
    (so the same values), without the twenty temporaries the expression allocates."""
    if np.may_share_memory(out, x):
        x = x.copy()
    t, h = np.empty_like(out), np.empty_like(out)
    z = np.abs(x, out=out)
    np.multiply(z, 0.5, out=t)
    np.add(t, 1.0, out=t)
    np.divide(1.0, t, out=t)
    np.multiply(t, ERF_HORNER[0], out=h)
    for c in ERF_HORNER[1:]:
        np.add(h, c, out=h)
        np.multiply(t, h, out=h)
    np.multiply(z, z, out=out)
    np.negative(out, out=out)
    np.subtract(out, 1.26551223, out=out)
    np.add(out, h, out=out)
    np.exp(out, out=out)
    np.multiply(t, out, out=out)
    np.subtract(1.0, out, out=out)
    return np.copysign(out, x, out=out)


def fold_into(out, x, info):
    """fold (each window added back where it came from) into `out`. The sums run over the windows' dims in
    the order `x` lies in memory (an accumulator in that order, then one copy), not in `out`'s order."""
    (kh, kw), (sh, sw), (dh, dw), _ = info.arg
    oh, ow = x.shape[-2:]
    nb = x.ndim - 4
    dims = list(range(nb)) + [nb + 2, nb + 3]  # x's axes for out's axes
    perm = sorted(range(nb + 2), key=lambda d: -abs(x.strides[dims[d]]))
    acc = out if perm == sorted(perm) else np.empty(tuple(out.shape[d] for d in perm), out.dtype)
    xs = x.transpose(*[dims[d] for d in perm], nb, nb + 1)
    h, w = perm.index(nb), perm.index(nb + 1)
    acc[...] = 0
    for i in range(kh):
        for j in range(kw):
            sl = [slice(None)] * (nb + 2)
            sl[h] = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            sl[w] = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            acc[tuple(sl)] += xs[..., i, j]
    if acc is not out:
        np.copyto(out, acc.transpose(np.argsort(perm)))
    return out
