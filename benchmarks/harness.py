"""Benchmark harness: run one workload in every column side by side, in one process, and return one row.

Columns (`COLUMNS`): `eager` (TinyTorch eager mode: each op one NumPy call the
moment it is built), `numpy` (hand-written NumPy, where the workload has one),
`compiled-numpy` and `compiled-llvm` (the same TinyTorch code realized as one
cached Program per step on that backend; llvm is "n/a" until the backend
exists), `torch` (PyTorch eager on 2 threads, same weights).

Every column starts from its own fresh state (`Workload.setup` is seeded), runs
once (the warm-up, which compiles), and that first result is checked against
the first column's within the workload's tolerance before anything is timed.
Times are medians over `repeats`. For the compiled columns the row also holds
the Program facts (kernels, planned arena peak, bytes with no reuse, liveness
lower bound, bytes the kernels read and write) and the per-step overhead: the
step's wall time minus the time spent inside kernels (per-kernel times are
what `runtime.timing.kernel_times()` collects).
"""
from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

import tinytorch as tt
from tinytorch.compiler import realizer
from tinytorch.compiler.program import CONFIG, Options
from tinytorch.runtime import timing

COLUMNS = ("eager", "numpy", "compiled-numpy", "compiled-llvm", "torch")
ALIASES = {"np": "numpy", "cnp": "compiled-numpy", "llvm": "compiled-llvm", "pytorch": "torch",
           "tt-numpy": "compiled-numpy", "tt-llvm": "compiled-llvm"}
NA = "n/a"


@dataclass
class Workload:
    """One benchmark. `step(state)` runs one TinyTorch step and returns tensors (realized by the harness).
    `numpy(state)` and `torch_step(tstate)` return arrays/tensors; `torch_setup(state)` mirrors the state
    (copied weights) into PyTorch. `memory_bound` workloads also get achieved GB/s."""
    name: str
    setup: Callable[[], dict]
    step: Callable[[dict], list]
    numpy: Optional[Callable[[dict], object]] = None
    torch_setup: Optional[Callable[[dict], object]] = None
    torch_step: Optional[Callable[[object], object]] = None
    memory_bound: bool = False
    rtol: float = 1e-4
    atol: float = 1e-5
    notes: dict = field(default_factory=dict)


THREADS = 2  # BLAS, TinyTorch's native loops and PyTorch each get this many: no side fights the other's threads


def pin_threads(n: int = THREADS) -> None:
    """Pin NumPy's BLAS (threadpoolctl), TinyTorch's native loops and PyTorch to `n` threads for the process."""
    import os

    import threadpoolctl
    threadpoolctl.threadpool_limits(n)
    os.environ["TINYTORCH_NUM_THREADS"] = str(n)
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:
        pass


MMAP_THRESHOLD = 64 << 10  # glibc hands freed blocks above this back to the system, so RSS follows the arrays


def run_child(script: str, flags: list) -> dict:
    """`script *flags` in a fresh process (threads pinned to THREADS, glibc's mmap threshold fixed): its last
    stdout line as JSON, or {"error": its last stderr line}."""
    import json
    import os
    import subprocess
    import sys
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(MMAP_THRESHOLD), OPENBLAS_NUM_THREADS=str(THREADS),
               TINYTORCH_NUM_THREADS=str(THREADS))
    out = subprocess.run([sys.executable, script, *map(str, flags)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def llvm_available() -> bool:
    """True once the llvm backend is wired in (tinytorch.set_backend exists and the compiler lists it)."""
    from tinytorch.compiler import program
    if not hasattr(tt, "set_backend"):
        return False
    listed = getattr(program, "BACKENDS", None)
    return listed is None or "llvm" in listed


def normalize_columns(names) -> list:
    out = []
    for n in names:
        n = ALIASES.get(n, n)
        if n not in COLUMNS:
            raise SystemExit(f"unknown backend column {n!r}; choose from {', '.join(COLUMNS)}")
        out.append(n)
    return [c for c in COLUMNS if c in out]


# ------------------------------------------------------------------ timing helpers

def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def copy_gbs(nbytes: int, repeats: int = 5) -> float:
    """np.copyto bandwidth moving `nbytes` in total (half read, half written), in GB/s."""
    n = max(1, nbytes // 8)
    src, dst = np.ones(n, np.float32), np.empty(n, np.float32)
    np.copyto(dst, src)
    ms = median_ms(lambda: np.copyto(dst, src), repeats)
    return 2 * src.nbytes / (ms * 1e-3) / 1e9


@contextlib.contextmanager
def backend(name: str):
    """Compile with this backend inside the block (through the Options every compile reads)."""
    before = CONFIG.options
    CONFIG.options = Options(backend=name, disabled=before.disabled)
    try:
        yield
    finally:
        CONFIG.options = before


@contextlib.contextmanager
def captured_programs(into: list):
    """Record every Program that realize compiles or fetches inside the block (no change to what runs)."""
    original = realizer.plan

    def spy(*args, **kwargs):
        prog, inputs = original(*args, **kwargs)
        if all(p is not prog for p in into):
            into.append(prog)
        return prog, inputs

    realizer.plan = spy
    try:
        yield into
    finally:
        realizer.plan = original


# ------------------------------------------------------------------ the columns

def _to_numpy(outs) -> list:
    if not isinstance(outs, (list, tuple)):
        outs = [outs]
    res = []
    for o in outs:
        if hasattr(o, "detach") and hasattr(o, "cpu") and not isinstance(o, tt.Tensor):  # torch
            o = o.detach().cpu().numpy()
        elif isinstance(o, tt.Tensor):
            o = o.numpy()
        res.append(np.asarray(o, dtype=np.float64))
    return res


def _tt_runner(w: Workload, state):
    def run():
        outs = w.step(state)
        tt.realize(*[o for o in outs if isinstance(o, tt.Tensor)])
        return outs
    return run


def _column_runner(w: Workload, col: str):
    """A callable running one step of this column on its own fresh state, or None where it does not apply."""
    if col == "numpy":
        if w.numpy is None:
            return None
        state = w.setup()
        return lambda: w.numpy(state)
    if col == "torch":
        if w.torch_step is None:
            return None
        import torch
        torch.set_num_threads(THREADS)
        tstate = w.torch_setup(w.setup())
        return lambda: w.torch_step(tstate)
    run = _tt_runner(w, w.setup())
    if col == "eager":
        def eager_run():
            with tt.eager():
                return run()
        return eager_run
    return run


def _compiled_facts(run, repeats) -> dict:
    """Program facts of what one step runs now; the median time inside its kernels, and the median of
    (step wall time - kernel time) over the same timed steps: the per-step overhead outside kernels."""
    ksum, over, progs = [], [], []
    for _ in range(max(1, repeats)):
        progs = []
        with captured_programs(progs), timing.kernel_times() as runs:
            t = time.perf_counter()
            run()
            wall = (time.perf_counter() - t) * 1e3
        ksum.append(sum(sum(seconds) for _, seconds in runs) * 1e3)
        over.append(wall - ksum[-1])
    kernels = [k for p in progs for k in p.kernels]
    plans = [p.memory_plan for p in progs]
    return {"programs": len(progs), "kernels": len(kernels),
            "peak_bytes": sum(m.peak_bytes for m in plans),
            "no_reuse_bytes": sum(m.no_reuse_bytes for m in plans),
            "lower_bound_bytes": sum(m.lower_bound_bytes for m in plans),
            "verified": all(m.verify() for m in plans),
            "traffic_bytes": sum(k.bytes_read + k.bytes_written for k in kernels),
            "kernel_ms": statistics.median(ksum), "overhead_ms": statistics.median(over)}


def measure(w: Workload, repeats: int = 5, columns=COLUMNS) -> dict:
    """One row: per column its median ms (or NA, or "err" with the reason in row["errors"]), and for the
    compiled columns the Program facts. Each column's first result is checked against the first column's."""
    row = {"workload": w.name, "ms": {}, "facts": {}, "errors": {}, "checked": []}
    reference = None
    for col in columns:
        if col == "compiled-llvm" and not llvm_available():
            row["ms"][col] = NA
            continue
        run = _column_runner(w, col)
        if run is None:
            row["ms"][col] = NA
            continue
        ctx = backend(col.split("-", 1)[1]) if col.startswith("compiled-") else contextlib.nullcontext()
        try:
            with ctx:
                first = _to_numpy(run())  # warm-up: compiles on the first call
                reference = _check(w, col, first, reference, row)
                run()  # a second warm-up: a first optimizer step may build a different graph
                row["ms"][col] = median_ms(run, repeats)
                if col.startswith("compiled-"):
                    row["facts"][col] = _compiled_facts(run, repeats)
        except Exception as e:  # a broken column is reported, not fatal to the suite
            row["ms"][col] = "err"
            row["errors"][col] = f"{type(e).__name__}: {e}"
    if w.memory_bound:
        traffic = next((f["traffic_bytes"] for f in row["facts"].values()), 0)
        row["traffic_bytes"] = traffic
        row["copy_gbs"] = copy_gbs(traffic) if traffic else float("nan")
    return row


def _check(w, col, outs, reference, row):
    """The first column's outputs become the reference; a later column that differs is an error."""
    if reference is None:
        return (col, outs)
    ref_col, ref = reference
    for a, b in zip(ref, outs):
        b = b.reshape(a.shape) if a.shape != b.shape and a.size == b.size else b
        if a.shape != b.shape or not np.allclose(b, a, rtol=w.rtol, atol=w.atol):
            err = float(np.max(np.abs(a - b))) if a.shape == b.shape else float("inf")
            raise AssertionError(f"{col} differs from {ref_col}: max abs err {err:.3g}")
    row["checked"].append(col)
    return reference
