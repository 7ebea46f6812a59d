"""One compile for every batch size: an MLP epoch whose last batch is partial, batches marked dynamic or not.

    OPENBLAS_NUM_THREADS=2 TINYTORCH_NUM_THREADS=2 TINYTORCH_CACHE_DIR=$(mktemp -d) \
        python3 benchmarks/bench_dynamic_batch.py --rounds 3

Per backend and mode (alternated, `--rounds` times, medians): Programs compiled over the epoch (1000 samples,
batch 128: 7 full batches and one of 104, then batch-1 and batch-128 inference), seconds spent compiling,
seconds binding a new size to a compiled family, and the epoch's wall time. Use a fresh TINYTORCH_CACHE_DIR:
the disk cache would otherwise turn the fixed-shape native compiles into loads.
"""
import argparse
import statistics
import time

import numpy as np

from harness import pin_threads

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.data import DataLoader, TensorDataset
from tinytorch.nn.functional import cross_entropy


def epoch(dynamic: bool, width: int) -> dict:
    tt.clear_cache()
    tt.reset_stats()
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((1000, 784)).astype(np.float32)
    data = TensorDataset(xs, rng.integers(0, 10, 1000))
    model = nn.Sequential(nn.Linear(784, width), nn.ReLU(), nn.Linear(width, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    for x, y in DataLoader(data, batch_size=128, dynamic=dynamic, seed=0):
        loss = cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
    with tt.no_grad():
        for n in (1, 128):
            x = tt.tensor(xs[:n])
            model(tt.mark_dynamic(x) if dynamic else x).numpy()
    s = tt.stats()
    return {"compiles": s["compiles"], "compile_s": s["compile_s"], "bind_s": s["bind_s"],
            "epoch_s": time.perf_counter() - t0}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--width", type=int, default=256)
    args = p.parse_args()
    pin_threads()
    print(f"{'backend':<8} {'batches':<8} {'compiles':>8} {'compile s':>10} {'bind s':>8} {'epoch s':>8}")
    for backend in ("numpy", "llvm"):
        tt.set_backend(backend)
        runs = {True: [], False: []}
        for _ in range(args.rounds):
            for dynamic in (False, True):  # alternated, so drift hits both
                runs[dynamic].append(epoch(dynamic, args.width))
        for dynamic in (False, True):
            med = {k: statistics.median(r[k] for r in runs[dynamic]) for k in runs[dynamic][0]}
            print(f"{backend:<8} {'dynamic' if dynamic else 'fixed':<8} {med['compiles']:>8.0f} "
                  f"{med['compile_s']:>10.3f} {med['bind_s']:>8.3f} {med['epoch_s']:>8.3f}")


if __name__ == "__main__":
    main()
