"""Per-kernel timing hooks: while someone watches, every Program run is timed kernel by kernel.

`with kernel_times() as runs:` collects one `(runner, seconds per kernel)` pair per run inside the block
(a profiler or a benchmark reads them); a runner also keeps its last timed run in `runner.kernel_s`.
Nobody watching costs one truth test per run.
"""
from __future__ import annotations

import contextlib

WATCHERS: list = []


@contextlib.contextmanager
def kernel_times():
    runs: list = []
    WATCHERS.append(runs)
    try:
        yield runs
    finally:
        WATCHERS.remove(runs)


def report(runner, seconds: list) -> None:
    for runs in WATCHERS:
        runs.append((runner, seconds))
