"""A matmul into `out`: a batch of products split across the runtime's threads, BLAS on one thread each.

`np.matmul` of a batch (attention's (B, H, T, D) @ (B, H, D, T)) calls one GEMM per matrix, and OpenBLAS
forks its own threads for each of those small GEMMs: on 2 loaded cores a helper thread is often
descheduled, and the 128 products of a GPT attention layer (134 MFLOP) took 200 ms instead of 12 ms on one
thread. Here the batch is cut along its first dim of at least `threads` matrices and each part is one
`np.matmul` on a thread of our own (`parallel.split`) with BLAS held to one thread (`blas.single_threaded`),
as the convolution routines already do. A 2-d product is cut the same way along its longer side (rows of a
and out, or columns of b and out): OpenBLAS's own 2 threads lost up to 80x on shapes as plain as an MLP's
(128, 784) @ (784, 256) there, and a weight gradient's (128, 4096) @ (4096, 512) 7x. A product too small
to pay for waking a thread is one `np.matmul` on the calling thread, BLAS held to one thread there too: with
OpenBLAS's 2 threads awake beside ours, the digits MLP's (64, 64) @ (64, 128) steps ran 90x slower (the demo's
230 steps: 13.9 s against 0.15 s).
"""
from __future__ import annotations

import numpy as np

from . import blas, parallel
from .widen import widened

# multiply-adds below which a product runs on the calling thread: waking a worker costs ~0.1 ms on a small VM,
# about 1M multiply-adds of a small GEMM on one core
MIN_SPLIT_MACS = 1 << 20


def _split_axis(shape, threads: int):
    """The first batch axis with at least `threads` matrices, else the longer of the rows (-2) and the
    columns (-1) of the product when it has that many, else None."""
    for axis, n in enumerate(shape[:-2]):
        if n >= threads:
            return axis
    axis = len(shape) - (2 if shape[-2] >= shape[-1] else 1)
    return axis if shape[axis] >= threads else None


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out <- a @ b (equal batch dims, as the matmul op), split across threads where that pays; float16 in
    float32 (`widen.py`). inf and NaN pass through silently, as in the NumPy runner (GradScaler's overflow)."""
    with np.errstate(all="ignore"):
        return _matmul_into(out, a, b)


def _widen_split(out, a, b):
    """How a float16 product runs in float32 chunks (`widened`): along a batch axis both operands have, else
    the rows of a 2-d a or the columns of a 2-d b, whichever operand is bigger (its chunks are converted as
    they are used; the other is converted once)."""
    if out.ndim > 2 and a.ndim == out.ndim:
        return (0, {0: 0, 1: 0}) if b.ndim == out.ndim else (0, {0: 0})
    if out.ndim == a.ndim == b.ndim == 2:
        return (1, {1: 1}) if b.size > a.size else (0, {0: 0})
    return None


@widened(split=_widen_split)
def _matmul_into(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    threads = parallel.num_threads()
    if threads < 2 or not blas.available():
        return np.matmul(a, b, out=out)
    axis = None
    if a.ndim == b.ndim == out.ndim >= 2 and out.size * a.shape[-1] >= MIN_SPLIT_MACS:
        axis = _split_axis(out.shape, threads)
    if axis is None:
        with blas.single_threaded():  # OpenBLAS's own threads would fight ours (see the module docstring)
            return np.matmul(a, b, out=out)
    lead = (slice(None),) * axis
    rows, cols = axis == out.ndim - 2, axis == out.ndim - 1

    def part(lo, hi):
        at = lead + (slice(lo, hi),)
        np.matmul(a if cols else a[at], b if rows else b[at], out=out[at])

    with blas.single_threaded():
        parallel.split(part, out.shape[axis], threads)
    return out
