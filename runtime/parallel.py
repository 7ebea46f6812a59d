"""Run a compiled kernel over its outermost loop range, split across threads when that pays.

Each kernel function takes (start, stop) for its outermost loop. ctypes releases the GIL for the whole
foreign call, so plain Python threads run the chunks truly in parallel. Workers block on the pool's
queue between kernels (no spin-waiting); the calling thread runs the first chunk itself. Small kernels
run on the calling thread alone: waking another thread costs tens of microseconds, ~0.1 ms in a small VM.
"""
from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

from . import config

# iteration points (~0.5 ms of work at our slowest loops): waking a blocked worker costs ~0.1 ms on a small
# VM, so on the 2-core bench a LeNet step ran 10% faster than at 1 << 16, where 0.1-0.4 ms stages got slower
MIN_PARALLEL_WORK = 1 << 20
_POOL: dict = {}
_LOCK = threading.Lock()
_SERIAL = threading.local()


def num_threads() -> int:
    """TINYTORCH_NUM_THREADS, else the machine's CPU count; 1 inside `serial()`."""
    return 1 if getattr(_SERIAL, "depth", 0) else config.get("TINYTORCH_NUM_THREADS")


@contextlib.contextmanager
def serial():
    """num_threads() is 1 on this thread inside: a routine that already runs one part per thread (`widen.py`)
    calls routines that would split again, and a pool worker must not wait on the pool."""
    _SERIAL.depth = getattr(_SERIAL, "depth", 0) + 1
    try:
        yield
    finally:
        _SERIAL.depth -= 1


def _pool(workers: int) -> ThreadPoolExecutor:
    with _LOCK:
        pool = _POOL.get(workers)
        if pool is None:
            pool = _POOL[workers] = ThreadPoolExecutor(workers, thread_name_prefix="tinytorch-kernel")
        return pool


def chunks(extent: int, work: int, threads: int) -> list[tuple[int, int]]:
    """Contiguous [start, stop) ranges of the outer loop, one per thread that gets work."""
    n = min(threads, extent) if work >= MIN_PARALLEL_WORK else 1
    n = max(n, 1)
    return [(extent * i // n, extent * (i + 1) // n) for i in range(n)]


def run(cfunc, head: list, extent: int, work: int, tail: list) -> list[int]:
    """cfunc(*head, start, stop, *tail) over the chunks of [0, extent); returns each call's return code."""
    parts = chunks(extent, work, num_threads())
    if len(parts) == 1:
        return [cfunc(*head, 0, extent, *tail)]
    pool = _pool(len(parts) - 1)
    futures = [pool.submit(cfunc, *head, lo, hi, *tail) for lo, hi in parts[1:]]
    codes = [cfunc(*head, *parts[0], *tail)]
    return codes + [f.result() for f in futures]


def split(fn, extent: int, threads: int) -> list:
    """fn(start, stop) over `threads` contiguous parts of [0, extent) (a Python routine that releases the
    GIL in NumPy and BLAS calls); the caller runs the first part. Returns each part's result in order."""
    n = max(1, min(threads, extent))
    parts = [(extent * i // n, extent * (i + 1) // n) for i in range(n)]
    if n == 1:
        return [fn(0, extent)]
    futures = [_pool(n - 1).submit(fn, lo, hi) for lo, hi in parts[1:]]
    return [fn(*parts[0])] + [f.result() for f in futures]
