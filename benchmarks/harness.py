"""Benchmark harness: run a named workload eager and compiled in one process, print one table.

Each workload builds its graph with the same TinyTorch code in both modes
(`tinytorch.eager()` computes op by op through NumPy; compiled realizes one
cached Program), and has a hand-written NumPy reference where one is cheap to
write. Times are medians over repeats after one warm-up run (the compile).
The table also shows the compiled Program's kernel count and its planned arena
peak against the bytes its temporaries would take with no reuse.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable, Optional

import tinytorch as tt


@dataclass
class Workload:
    name: str
    setup: Callable[[], dict]  # -> state (arrays, parameters)
    build: Callable[[dict], list]  # state -> tensors to realize (lazy)
    numpy: Optional[Callable[[dict], object]] = None  # hand-written NumPy, same math


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up: compiles on the first call
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def measure(w: Workload, repeats: int = 5) -> dict:
    state = w.setup()

    def compiled():
        tt.realize(*w.build(state))

    def eager():
        with tt.eager():
            tt.realize(*w.build(state))

    row = {"workload": w.name}
    row["eager_ms"] = _median_ms(eager, repeats)
    row["compiled_ms"] = _median_ms(compiled, repeats)
    row["numpy_ms"] = _median_ms(lambda: w.numpy(state), repeats) if w.numpy else float("nan")
    outs = w.build(state)
    prog = tt.plan(*outs)
    tt.realize(*outs)
    row["kernels"] = len(prog.kernels)
    row["peak_bytes"] = prog.memory_plan.peak_bytes
    row["no_reuse_bytes"] = prog.memory_plan.no_reuse_bytes
    row["lower_bound_bytes"] = prog.memory_plan.lower_bound_bytes
    assert prog.memory_plan.verify()
    return row


def table(rows) -> str:
    head = (f"{'workload':<22} {'eager ms':>9} {'compiled ms':>11} {'ratio':>6} {'numpy ms':>9} {'kernels':>7} "
            f"{'planned peak B':>15} {'no reuse B':>12} {'lower bnd B':>12}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['workload']:<22} {r['eager_ms']:>9.2f} {r['compiled_ms']:>11.2f} "
                     f"{r['eager_ms'] / r['compiled_ms']:>6.2f} {r['numpy_ms']:>9.2f} {r['kernels']:>7} "
                     f"{r['peak_bytes']:>15} {r['no_reuse_bytes']:>12} {r['lower_bound_bytes']:>12}")
    return "\n".join(lines)
