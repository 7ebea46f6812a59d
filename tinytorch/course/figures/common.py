"""What the "ML Systems Thinking" figures share: a median timer over a few runs, and the array size.

Nodes are hash-consed and keep their value, so the same graph over the same leaves is computed once: each timed
run wraps its input in a fresh leaf (`tt.tensor`, one copy, counted in every TinyTorch column)."""
from __future__ import annotations

import statistics
import time

REPEATS = 7
SIZE = 1 << 20  # a million float32s: 4 MiB per array, bigger than a core's caches


def median_ms(fn, repeats: int = REPEATS) -> float:
    """The median wall time of fn() in milliseconds, after one untimed call that compiles and warms up."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def median_step_ms(trainer, batches, warmup: int) -> float:
    """The median wall time in ms of `trainer.train_step` over `batches`, the first `warmup` ones (compiles,
    optimizer state) untimed: one step per batch, as training runs them, not one batch repeated."""
    times = []
    for i, (x, y) in enumerate(batches):
        t = time.perf_counter()
        trainer.train_step(x, y)
        if i >= warmup:
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)
