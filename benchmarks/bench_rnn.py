"""RNN/LSTM/GRU: what the unrolled time loop costs to compile and to run, against PyTorch.

`python benchmarks/bench_rnn.py [--seq 8 32] [--batch 32] [--hidden 128] [--steps 10] [--backend numpy llvm]
[--threads 2]`

One training-shaped step per model (forward of a 2-layer module, batch_first, then backward of the summed
output into every parameter and the input), with PyTorch's weights loaded through load_state_dict. The first
step builds and compiles (the Programs of the forward and of forward+backward); the next steps reuse them
(`compiles` after the warm-up must stay 0: the graph depends only on the shapes). PyTorch eager runs the same
module on 2 threads. Medians in ms; prints a table, asserts nothing.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import tinytorch as tt
from tinytorch import nn

import harness  # benchmarks/, next to this file


def _step(m, x):
    m.zero_grad()
    xt = tt.tensor(x, requires_grad=True)
    out, _ = m(xt)
    out.sum().backward()
    tt.realize(xt.grad, *[p.grad for p in m.parameters()])


def _torch_step(tm, x):
    tm.zero_grad()
    xt = torch.tensor(x, requires_grad=True)
    out, _ = tm(xt)
    out.sum().backward()


def _median_ms(fn, steps):
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def row(cls, seq, batch, hidden, steps, backend):
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(hidden, hidden, num_layers=2, batch_first=True)
    m = getattr(nn, cls)(hidden, hidden, num_layers=2, batch_first=True)
    m.load_state_dict(tm.state_dict())
    x = np.random.default_rng(0).standard_normal((batch, seq, hidden)).astype(np.float32)
    with tt.using_backend(backend):
        t0 = time.perf_counter()
        _step(m, x)
        first = (time.perf_counter() - t0) * 1e3
        before = tt.stats()["compiles"]
        cached = _median_ms(lambda: _step(m, x), steps)
        recompiles = tt.stats()["compiles"] - before
        m.zero_grad()
        xt = tt.tensor(x, requires_grad=True)
        out, _ = m(xt)
        out.sum().backward()
        kernels = len(tt.plan(xt.grad, *[p.grad for p in m.parameters()]).kernels)
    ref = _median_ms(lambda: _torch_step(tm, x), steps)
    return [cls, seq, backend, kernels, f"{first:.0f}", f"{cached:.2f}", recompiles, f"{ref:.2f}",
            f"{ref / cached:.2f}"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--backend", nargs="+", default=["numpy", "llvm"])
    ap.add_argument("--models", nargs="+", default=["LSTM", "GRU"])
    ap.add_argument("--threads", type=int, default=harness.THREADS, help="BLAS, native and torch threads")
    args = ap.parse_args()
    harness.pin_threads(args.threads)
    head = ["model", "seq", "backend", "kernels", "first step ms", "cached step ms", "recompiles", "torch ms",
            "torch/cached"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for cls in args.models:
        for seq in args.seq:
            for backend in args.backend:
                r = row(cls, seq, args.batch, args.hidden, args.steps, backend)
                print("| " + " | ".join(str(c) for c in r) + " |", flush=True)


if __name__ == "__main__":
    main()
