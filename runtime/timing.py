"""Per-kernel timing hooks: while someone watches, every Program run is timed kernel by kernel.

`with kernel_times() as runs:` collects one `(runner, seconds per kernel)` pair per run inside the block
(a benchmark reads them); a runner also keeps its last timed run in `runner.kernel_s`.
`with kernel_runs() as runs:` collects a `TimedRun` per run instead: the same seconds, plus each timed call's
kernels, start (`time.perf_counter()`) and duration, and the thread that ran it (the profiler's trace needs
when, not only how long). Nobody watching costs one truth test per run.
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass

WATCHERS: list = []


@dataclass(frozen=True)
class TimedRun:
    runner: object
    seconds: list  # per kernel, the sum of its calls
    calls: tuple  # (kernel indices, start perf_counter, seconds) per timed call, in the order they ran
    thread: int


class _Runs(list):
    """A watcher that wants TimedRun records rather than (runner, seconds) pairs."""


@contextlib.contextmanager
def _watch(runs):
    WATCHERS.append(runs)
    try:
        yield runs
    finally:
        WATCHERS.remove(runs)


def kernel_times():
    return _watch([])


def kernel_runs():
    return _watch(_Runs())


def report(runner, seconds: list, calls=()) -> None:
    for runs in WATCHERS:
        runs.append(TimedRun(runner, seconds, tuple(calls), threading.get_ident()) if type(runs) is _Runs
                    else (runner, seconds))
