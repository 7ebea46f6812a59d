"""Memory when shapes keep changing: one Program per batch size, how far does the process grow?

    python3 benchmarks/bench_shape_memory.py                 # batch sizes 1..300, twice through, llvm
    python3 benchmarks/bench_shape_memory.py --max-batch 50 --backend numpy

Each batch size is a new graph structure, so a new Program (compiled, its native code loaded). The Program
cache keeps at most TINYTORCH_CACHE_PROGRAMS of them (least recently used evicted, with their arenas and JIT
engines); this prints the process's resident memory (psutil) after each pass, the compiles, and the
seconds per pass. Prints a table; asserts nothing.
"""
from __future__ import annotations

import argparse
import gc
import time

import numpy as np
import psutil

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch import nn


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-batch", type=int, default=300)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--backend", default="llvm", choices=["numpy", "llvm"])
    args = ap.parse_args(argv)
    tt.set_backend(args.backend)
    tt.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    rng = np.random.default_rng(0)
    proc = psutil.Process()
    gc.collect()
    print(f"backend {args.backend}, batch sizes 1..{args.max_batch}, {args.passes} passes")
    print(f"{'after':<10} {'RSS MB':>8} {'compiles':>9} {'programs':>9} {'program MB':>11} {'s':>7}")
    print(f"{'start':<10} {proc.memory_info().rss / 2**20:8.1f}")
    for p in range(args.passes):
        t = time.perf_counter()
        for b in range(1, args.max_batch + 1):
            x = tt.tensor(rng.standard_normal((b, 784)).astype(np.float32))
            y = tt.tensor(rng.integers(0, 10, b))
            F.cross_entropy(model(x), y).item()
        gc.collect()
        s = tt.stats()
        print(f"{'pass ' + str(p + 1):<10} {proc.memory_info().rss / 2**20:8.1f} {s['compiles']:9d} "
              f"{s.get('programs', -1):9d} {s.get('program_bytes', 0) / 2**20:11.1f} {time.perf_counter() - t:7.1f}")


if __name__ == "__main__":
    main()
