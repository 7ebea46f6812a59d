"""A matmul into `out`: a batch of products split across the runtime's threads, BLAS on one thread each.

`np.matmul` of a batch (attention's (B, H, T, D) @ (B, H, D, T)) calls one GEMM per matrix, and OpenBLAS
forks its own threads for each of those small GEMMs: on 2 loaded cores a helper thread is often
descheduled, and the 128 products of a GPT attention layer (134 MFLOP) took 200 ms instead of 12 ms on one
thread. Here the batch is cut along its first dim of at least `threads` matrices and each part is one
`np.matmul` on a thread of our own (`parallel.split`) with BLAS held to one thread (`blas.single_threaded`),
as the convolution routines already do. A 2-d product, or one too small to pay for waking a thread, is one
plain `np.matmul`, threaded by BLAS as before.
"""
from __future__ import annotations

import numpy as np

from . import blas, parallel

# multiply-adds below which a batch runs on the calling thread: waking a worker costs ~0.1 ms on a small VM,
# about 1M multiply-adds of a small GEMM on one core
MIN_SPLIT_MACS = 1 << 20


def _split_axis(shape, threads: int):
    """The first batch axis with at least `threads` matrices, or None."""
    for axis, n in enumerate(shape[:-2]):
        if n >= threads:
            return axis
    return None


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out <- a @ b (equal batch dims, as the matmul op), the batch split across threads where that pays."""
    threads = parallel.num_threads()
    axis = _split_axis(out.shape, threads) if threads > 1 and a.ndim == b.ndim == out.ndim else None
    if axis is None or out.size * a.shape[-1] < MIN_SPLIT_MACS or not blas.available():
        return np.matmul(a, b, out=out)
    lead = (slice(None),) * axis

    def part(lo, hi):
        at = lead + (slice(lo, hi),)
        np.matmul(a[at], b[at], out=out[at])

    with blas.single_threaded():
        parallel.split(part, out.shape[axis], threads)
    return out

