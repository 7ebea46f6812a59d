"""What watching costs: a training step's wall time plain against inside `tinytorch.profile()`, alternated.

    python3 benchmarks/bench_profiler.py --model lenet5 --batch 64 --rounds 15

A profiled native step runs each stage as a call of its own (so each second goes to its kernel) instead of
grouping small stages into one call: this table shows what that and the bookkeeping cost. Also the share of
the profiled step's wall time spent inside kernels. Medians over rounds; plain and profiled steps alternate.
"""
from __future__ import annotations

import argparse
import statistics
import time

from harness import pin_threads  # benchmarks/, next to this file

import tinytorch as tt
from tinytorch.tools.models import MODELS, OPTIMIZERS, batch, build, train_step


def measure(model: str, optimizer: str, batch_size: int, rounds: int) -> dict:
    m, opt = build(model, optimizer)
    batches = [batch(model, batch_size)]
    for _ in range(3):
        train_step(m, opt, batches).numpy()
    plain, watched, inside = [], [], []
    for _ in range(rounds):
        t = time.perf_counter()
        train_step(m, opt, batches).numpy()
        plain.append(time.perf_counter() - t)
        with tt.profile() as prof:
            t = time.perf_counter()
            train_step(m, opt, batches).numpy()
            watched.append(time.perf_counter() - t)
        inside.append(prof.kernel_s)
    return {"plain_ms": statistics.median(plain) * 1e3, "profiled_ms": statistics.median(watched) * 1e3,
            "kernels_ms": statistics.median(inside) * 1e3}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="lenet5", choices=list(MODELS))
    ap.add_argument("--optimizer", default="momentum", choices=list(OPTIMIZERS))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--backends", default="numpy,llvm")
    args = ap.parse_args()
    pin_threads()
    print(f"| {args.model} b{args.batch} {args.optimizer} | plain step ms | profiled step ms | profiled / plain "
          f"| in kernels ms (profiled) |")
    print("|---|---:|---:|---:|---:|")
    for backend in args.backends.split(","):
        with tt.using_backend(backend):
            r = measure(args.model, args.optimizer, args.batch, args.rounds)
        print(f"| {backend} | {r['plain_ms']:.2f} | {r['profiled_ms']:.2f} | {r['profiled_ms'] / r['plain_ms']:.2f} "
              f"| {r['kernels_ms']:.2f} |")


if __name__ == "__main__":
    main()
