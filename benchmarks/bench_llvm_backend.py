"""The llvm backend on an MLP training step (784-256-256-10, batch 128, Adam): first-compile time in this
process (cold or warm disk cache, as TINYTORCH_CACHE_DIR holds it) and per-step time against numpy.

    TINYTORCH_CACHE_DIR=$(mktemp -d) python benchmarks/bench_llvm_backend.py      # cold cache
    python benchmarks/bench_llvm_backend.py                                       # again: warm cache
    python benchmarks/bench_llvm_backend.py --compile-only                        # just the compile
"""
import argparse
import statistics
import time

import numpy as np

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.compiler.llvm import jit


def make(seed=0):
    tt.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128).astype(np.int64)
    return model, opt, x, y


def step(model, opt, x, y):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(tt.tensor(x)), tt.tensor(y))
    loss.backward()
    opt.step()
    return loss.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--compile-only", action="store_true")
    args = ap.parse_args()
    tt.set_backend("llvm")
    model, opt, x, y = make()
    t = time.perf_counter()
    step(model, opt, x, y)
    first = time.perf_counter() - t
    s = tt.stats() if hasattr(tt, "stats") else {}
    print(f"llvm first step (compile + run) {first * 1e3:.0f} ms; jit {jit.STATS}; tinytorch {s}")
    if args.compile_only:
        return
    per = {}
    for backend in ("numpy", "llvm"):
        tt.set_backend(backend)
        model, opt, x, y = make()
        step(model, opt, x, y)
        times = []
        for _ in range(args.steps):
            t = time.perf_counter()
            step(model, opt, x, y)
            times.append(time.perf_counter() - t)
        per[backend] = statistics.median(times)
        print(f"{backend:5}: median step {per[backend] * 1e3:.2f} ms over {args.steps} steps")
    print(f"llvm / numpy = {per['llvm'] / per['numpy']:.2f}")


if __name__ == "__main__":
    main()
