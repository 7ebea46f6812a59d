"""Module 12's figure: what fusion buys in a real training step. The same MLP step (forward, cross-entropy,
backward, Adam) compiled with every pass, and with `fuse` switched off (`tt.disable_passes("fuse")`: every
computing node its own kernel): kernels, the bytes they move, the arena, and the time of running the step (its
graph built beforehand, untimed: building costs the same either way). The two are timed alternately, so a
noisy machine slows both alike."""
from __future__ import annotations

import contextlib
import statistics
import time

import tinytorch as tt

from ...tools.models import batch, build
from ...tools.step_graph import training_step
from .common import REPEATS

MODEL, OPTIMIZER, BATCH = "mlp", "adam", 256  # 784-256-256-10, as `tinytorch explain mlp`
MODES = {"unfused": lambda: tt.disable_passes("fuse"), "fused": contextlib.nullcontext}


def _run_ms(model, opt, x, y) -> float:
    step = training_step(model, opt, x, y)
    t = time.perf_counter()
    tt.realize(*step)
    return (time.perf_counter() - t) * 1e3


def figure():
    model, opt = build(MODEL, OPTIMIZER)
    x, y = batch(MODEL, BATCH)
    rows, times = {}, {name: [] for name in MODES}
    for name, mode in MODES.items():
        with mode():
            prog = tt.plan(*training_step(model, opt, x, y))
            tt.realize(*training_step(model, opt, x, y))  # compile and warm up
        rows[name] = (len(prog.kernels), sum(k.bytes_read + k.bytes_written for k in prog.kernels),
                      prog.memory_plan.peak_bytes)
    for _ in range(REPEATS):
        for name, mode in MODES.items():
            with mode():
                times[name].append(_run_ms(model, opt, x, y))
    print(f"one training step of {MODEL!r} ({OPTIMIZER}, batch {BATCH}) on the {tt.get_backend()} backend, "
          f"median of {REPEATS} runs")
    print(f"{'':8} {'kernels':>8} {'bytes moved':>13} {'arena peak':>12} {'run ms':>8}")
    ms = {name: statistics.median(ts) for name, ts in times.items()}
    for name, (kernels, moved, peak) in rows.items():
        print(f"{name:8} {kernels:8d} {moved:13,d} {peak:12,d} {ms[name]:8.2f}")
    (k0, b0, p0), (k1, b1, p1) = rows["unfused"], rows["fused"]
    print(f"fusion: {k0 / k1:.1f}x fewer kernels, {b0 / b1:.1f}x fewer bytes moved, {p0 / p1:.1f}x smaller arena, "
          f"{ms['unfused'] / ms['fused']:.2f}x the speed")
