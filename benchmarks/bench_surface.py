"""Issue 13's composed ops against PyTorch: the cost of building them from primitives.

For each op and size, the median wall time of one call (graph built, cached Program run, result read) on
both backends and in PyTorch (2 threads each). The scans are O(n^2) reductions over a triangle, so their
rows show how that grows with n. Prints a table; asserts nothing.

    OPENBLAS_NUM_THREADS=2 TINYTORCH_NUM_THREADS=2 python benchmarks/bench_surface.py [--repeats 21]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import tinytorch as tt
from harness import pin_threads

REPEATS = 21


def _cases(rng):
    def f32(*s):
        return rng.standard_normal(s).astype(np.float32)
    idx = rng.integers(0, 64, (256, 512))
    for n in (64, 256, 1024):
        yield f"cumprod (64, {n})", lambda L, x: L.cumprod(x, 1), [f32(64, n) * 0.1 + 1]
        yield f"cummax (64, {n})", lambda L, x: L.cummax(x, 1).values, [f32(64, n)]
        yield f"logcumsumexp (64, {n})", lambda L, x: L.logcumsumexp(x, 1), [f32(64, n)]
    yield "atan (1M)", lambda L, x: L.atan(x), [f32(1 << 20)]
    yield "asinh (1M)", lambda L, x: L.asinh(x), [f32(1 << 20)]
    yield "log1p (1M)", lambda L, x: L.log1p(x), [np.abs(f32(1 << 20))]
    yield "logaddexp (1M)", lambda L, a, b: L.logaddexp(a, b), [f32(1 << 20), f32(1 << 20)]
    yield "einsum bhqd,bhkd (8,8,128,64)", lambda L, q, k: L.einsum("bhqd,bhkd->bhqk", q, k), \
        [f32(8, 8, 128, 64), f32(8, 8, 128, 64)]
    yield "scatter_reduce amax (256,64)<-(256,512)", \
        lambda L, x, s: x.scatter_reduce(1, L.tensor(idx), s, "amax"), [f32(256, 64), f32(256, 512)]
    yield "index_add (4096, 64)", lambda L, x, s: x.index_add(0, L.tensor(idx[0] * 64 % 4096), s), \
        [f32(4096, 64), f32(512, 64)]


def _time(fn, repeats):
    fn()  # warm-up: compiles
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=REPEATS)
    args = ap.parse_args()
    pin_threads()
    rng = np.random.default_rng(0)
    print(f"{'op':42s} {'tt numpy ms':>12s} {'tt llvm ms':>11s} {'torch ms':>9s}")
    for name, fn, arrays in _cases(rng):
        row = []
        for backend in ("numpy", "llvm"):
            with tt.using_backend(backend):
                xs = [tt.tensor(a) for a in arrays]
                row.append(_time(lambda: fn(tt, *xs).numpy(), args.repeats))
        ts = [torch.from_numpy(a) for a in arrays]
        row.append(_time(lambda: fn(torch, *ts).numpy(), args.repeats))
        print(f"{name:42s} {row[0]:12.2f} {row[1]:11.2f} {row[2]:9.2f}")


if __name__ == "__main__":
    main()
