"""Issue 13's optimizers and cycling schedules: one training step's time and the Programs compiled.

Table 1: per optimizer, the median wall time of one MLP training step (forward, backward, update realized as
one cached Program) on both backends and in PyTorch (2 threads each), the optimizer state in bytes, and the
Programs compiled over the run on both backends together (2: one per backend; SGD with momentum has
one more per backend, its first step). Alternates the columns each round, so load hits them alike.
Table 2: OneCycleLR cycling the momentum over `--steps` steps: Programs compiled when the momentum is fed as
data (what the scheduler does) against a constant in the graph (`cycle_as_data` switched off: one Program per
momentum value). Prints tables; asserts nothing.

    OPENBLAS_NUM_THREADS=2 TINYTORCH_NUM_THREADS=2 python benchmarks/bench_optimizers.py [--repeats 15]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import tinytorch as tt
import tinytorch.nn.functional as F
from harness import pin_threads
from tinytorch import nn
from tinytorch.optim.optimizer import Optimizer

OPTIMIZERS = [("SGD", dict(lr=0.01, momentum=0.9)), ("Adam", {}), ("RMSprop", {}), ("Adagrad", {}),
              ("Adamax", {}), ("NAdam", {}), ("RAdam", {})]
WIDTH, BATCH = 256, 64


def _models():
    m = nn.Sequential(nn.Linear(784, WIDTH), nn.ReLU(), nn.Linear(WIDTH, 10))
    tm = torch.nn.Sequential(torch.nn.Linear(784, WIDTH), torch.nn.ReLU(), torch.nn.Linear(WIDTH, 10))
    with torch.no_grad():
        for p, tp in zip(m.parameters(), tm.parameters()):
            tp.copy_(torch.from_numpy(p.numpy()))
    return m, tm


def _tt_step(m, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(m(x), y)
    loss.backward()
    opt.step()
    return loss.item()


def _torch_step(m, opt, x, y):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(m(x), y)
    loss.backward()
    opt.step()
    return loss.item()


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _optimizer_rows(repeats: int) -> None:
    rng = np.random.default_rng(0)
    xa, ya = rng.standard_normal((BATCH, 784)).astype(np.float32), rng.integers(0, 10, BATCH)
    print(f"MLP 784-{WIDTH}-10, batch {BATCH}: one training step, median of {repeats}")
    print(f"{'optimizer':10s} {'tt numpy ms':>12s} {'tt llvm ms':>11s} {'torch ms':>9s} {'state KB':>9s} "
          f"{'compiles':>9s}")
    for name, kw in OPTIMIZERS:
        runs = {}
        for backend in ("numpy", "llvm"):
            m, _ = _models()
            runs[backend] = (m, getattr(tt.optim, name)(m.parameters(), **kw), backend)
        tm = _models()[1]
        topt = getattr(torch.optim, name)(tm.parameters(), **kw)
        x, y, tx, ty = tt.tensor(xa), tt.tensor(ya), torch.from_numpy(xa), torch.from_numpy(ya)
        tt.reset_stats()
        times = {"numpy": [], "llvm": [], "torch": []}
        for i in range(repeats + 2):  # two warm-up rounds: the first step and the second (momentum) Program
            for backend, (m, opt, _) in runs.items():
                with tt.using_backend(backend):
                    t = _timed(lambda: _tt_step(m, opt, x, y))
                if i >= 2:
                    times[backend].append(t)
            t = _timed(lambda: _torch_step(tm, topt, tx, ty))
            if i >= 2:
                times["torch"].append(t)
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        state_kb = runs["numpy"][1].state_bytes() / 1024
        print(f"{name:10s} {med['numpy']:12.2f} {med['llvm']:11.2f} {med['torch']:9.2f} {state_kb:9.0f} "
              f"{tt.stats()['compiles']:9d}")


def _cycling_rows(steps: int) -> None:
    rng = np.random.default_rng(1)
    xa, ya = rng.standard_normal((BATCH, 784)).astype(np.float32), rng.integers(0, 10, BATCH)
    x, y = tt.tensor(xa), tt.tensor(ya)
    print(f"\nOneCycleLR(max_lr=0.1, total_steps={steps}) cycling the momentum: Programs compiled in {steps} steps "
          f"(numpy backend)")
    print(f"{'optimizer':10s} {'momentum as data':>17s} {'as a constant':>14s}")
    real = Optimizer.cycle_as_data
    for name, kw in [("SGD", dict(lr=0.01, momentum=0.9)), ("Adam", {}), ("NAdam", {})]:
        counts = []
        for as_data in (True, False):
            Optimizer.cycle_as_data = real if as_data else (lambda self, name: None)
            try:
                m, _ = _models()
                opt = getattr(tt.optim, name)(m.parameters(), **kw)
                sched = tt.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
                tt.reset_stats()
                for _ in range(steps):
                    _tt_step(m, opt, x, y)
                    sched.step()
                counts.append(tt.stats()["compiles"])
            finally:
                Optimizer.cycle_as_data = real
        print(f"{name:10s} {counts[0]:17d} {counts[1]:14d}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    pin_threads()
    _optimizer_rows(args.repeats)
    _cycling_rows(args.steps)


if __name__ == "__main__":
    main()
