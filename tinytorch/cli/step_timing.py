"""The same training step timed three ways: eager (each op one NumPy call), compiled with its graph built in
Python every step, and compiled with the step captured (`tinytorch.compile`: the Program replayed).

Each way runs `WARMUP` steps first (they compile, and capture traces until two traces agree), then `steps`
timed steps; the figure is the median, in ms. The steps train the model further: time a model you are done with.
Eager runs last: on the 2-core test machine, once eager mode had run its matmuls on OpenBLAS with 2 threads, the
same cached native Program ran 10-50x slower (a step of the digits MLP: 0.3 ms, then 35-130 ms; not with
OPENBLAS_NUM_THREADS=1), so timing it first would have charged BLAS's threads to the compiled step.
"""
from __future__ import annotations

import statistics
import time

import tinytorch as tt
from tinytorch.tools.step_graph import backward

WARMUP = 3
MODES = ("eager", "compiled", "captured")


def _median_ms(step, steps: int) -> float:
    for _ in range(WARMUP):
        step().numpy()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step().numpy()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def step_times(model, optimizer, x, y, steps: int = 20) -> dict:
    """{mode: median ms of one training step on the batch (x, y)} for each of MODES."""
    def step():
        loss = backward(model, optimizer, x, y)
        optimizer.step()
        return loss

    compiled_ms = _median_ms(step, steps)
    captured_ms = _median_ms(tt.compile(step), steps)
    with tt.eager():  # last: after eager mode's BLAS calls, native steps ran up to 50x slower here (see below)
        eager_ms = _median_ms(step, steps)
    return {"eager": eager_ms, "compiled": compiled_ms, "captured": captured_ms}


def table(times: dict) -> list:
    """Lines: each mode's median ms and how many times faster than eager it is."""
    eager_ms = times["eager"]
    return [f"{mode:<10} {ms:8.2f} ms  {eager_ms / ms:5.1f}x eager" for mode, ms in times.items()]
