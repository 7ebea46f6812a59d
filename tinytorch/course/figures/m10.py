"""Module 10's figure: what one training step costs in building its graph (Python making hash-consed nodes),
compiling it (the passes, kernels, lowering), and running it, when the Program cache misses (cleared first) and
when it hits (the structural key of the same graph shape finds the Program compiled before)."""
from __future__ import annotations

import statistics
import time

import tinytorch as tt

from ... import compiler as C
from ...tools.models import batch, build
from ...tools.step_graph import training_step
from .common import REPEATS

MODEL, OPTIMIZER, BATCH = "mlp", "adam", 64  # 784-256-256-10, as `tinytorch explain mlp`


def _step(model, opt, x, y, miss: bool) -> tuple:
    """(build ms, compile ms, run ms, nodes) of one step; `miss`: the Program cache is cleared first."""
    t0 = time.perf_counter()
    step = training_step(model, opt, x, y)
    t1 = time.perf_counter()
    nodes = len(C.ir.pending([s._node for s in step]))
    if miss:
        tt.clear_cache()
    compile_s = tt.stats()["compile_s"]
    t2 = time.perf_counter()
    tt.realize(*step)
    t3 = time.perf_counter()
    compiled = (tt.stats()["compile_s"] - compile_s) * 1e3
    return (t1 - t0) * 1e3, compiled, (t3 - t2) * 1e3 - compiled, nodes


def figure():
    model, opt = build(MODEL, OPTIMIZER)
    x, y = batch(MODEL, BATCH)
    _step(model, opt, x, y, miss=False)  # warm up: imports, the native code's disk cache
    rows = {}
    for name, miss in (("cache miss", True), ("cache hit", False)):
        runs = [_step(model, opt, x, y, miss) for _ in range(REPEATS)]
        rows[name] = [statistics.median(r[i] for r in runs) for i in range(3)] + [runs[0][3]]
    print(f"one training step of {MODEL!r} ({OPTIMIZER}, batch {BATCH}, {rows['cache hit'][3]} nodes) on the "
          f"{tt.get_backend()} backend, median ms of {REPEATS}")
    print(f"{'':11} {'build':>8} {'compile':>9} {'run':>8} {'total':>8}")
    for name, (b, c, r, _) in rows.items():
        print(f"{name:11} {b:8.2f} {c:9.2f} {r:8.2f} {b + c + r:8.2f}")
    miss, hit = (sum(rows[k][:3]) for k in ("cache miss", "cache hit"))
    print(f"a cache hit makes the step {miss / hit:.1f}x cheaper; what is left is building the graph in Python and "
          f"running it (tt.compile captures the step and skips the build too)")
