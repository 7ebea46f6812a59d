"""cumsum, sort, topk and multinomial against PyTorch, and the cumsum primitive against a Hillis-Steele scan.

`python benchmarks/bench_sort_ops.py [--repeats 15] [--backend llvm numpy]`

Rows: cumsum of (rows, n) forward + backward, by the `cumsum` primitive (a sequential scan, its gradient the
reversed scan), by the Hillis-Steele scan the other cumulative ops use (log2(n) rounds of `x + shifted x`,
rebuilt here from `tinytorch.scan._scan`) and by PyTorch; sort values forward + backward; topk of a GPT-2
sized vocabulary row batch (the partition path) and of a short row; multinomial of one draw per row of
vocabulary-sized probabilities, with and without replacement (PyTorch draws from other random streams, so only
the times compare). Every TinyTorch variant's first result is checked against PyTorch's (multinomial: that
the draws are valid categories). Variants are timed in turn, one run each per round; each cell is the median
over the rounds, in ms. Threads: 2 for BLAS, TinyTorch's native loops and PyTorch (`harness.pin_threads`).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from harness import backend as using_backend, pin_threads

import tinytorch as tt
from tinytorch.scan import _scan


def _grad_run(lib, fn, x, g):
    """One forward + backward of sum(fn(x) * g) in `lib` (tinytorch or torch, which spell it alike)."""
    def run():
        leaf = lib.tensor(x, requires_grad=True)
        (fn(leaf) * lib.tensor(g)).sum().backward()
        return leaf.grad.numpy()
    return run


def rows(rng):
    """(name, {variant: run}) with the torch variant last; each run returns an array to check."""
    out = []
    for r, n in ((64, 1024), (4, 65536)):
        x, g = rng.standard_normal((r, n)).astype(np.float32), rng.standard_normal((r, n)).astype(np.float32)
        out.append((f"cumsum fwd+bwd ({r}, {n})", {
            "primitive": _grad_run(tt, lambda t: tt.cumsum(t, 1), x, g),
            "hillis-steele": _grad_run(tt, lambda t: _scan(t, 1, lambda a, b: a + b, 0), x, g),
            "torch": _grad_run(torch, lambda t: torch.cumsum(t, 1), x, g)}))
    x, g = rng.standard_normal((64, 1024)).astype(np.float32), rng.standard_normal((64, 1024)).astype(np.float32)
    out.append(("sort values fwd+bwd (64, 1024)", {
        "tinytorch": _grad_run(tt, lambda t: tt.sort(t, 1).values, x, g),
        "torch": _grad_run(torch, lambda t: torch.sort(t, 1).values, x, g)}))
    for shape, k in (((8, 50257), 50), ((256, 64), 8)):
        x = rng.standard_normal(shape).astype(np.float32)
        out.append((f"topk k={k} {shape}", {
            "tinytorch": lambda x=x, k=k: tt.topk(tt.tensor(x), k).indices.numpy(),
            "torch": lambda x=x, k=k: torch.topk(torch.tensor(x), k).indices.numpy()}))
    p = rng.random((8, 50257)).astype(np.float32) ** 8
    for replacement in (True, False):
        out.append((f"multinomial 1 draw (8, 50257) replacement={replacement}", {
            "tinytorch": lambda r=replacement: tt.multinomial(tt.tensor(p), 1, r).numpy(),
            "torch": lambda r=replacement: torch.multinomial(torch.tensor(p), 1, r).numpy()}))
    return out


def _check(name, got, want):
    if name.startswith("multinomial"):
        assert got.shape == want.shape and got.min() >= 0 and got.max() < 50257, name
    else:
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3, err_msg=name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--backend", nargs="+", default=["llvm", "numpy"])
    args = ap.parse_args()
    pin_threads()
    torch.manual_seed(0)
    for be in args.backend:
        print(f"\nbackend {be}: median ms over {args.repeats} alternating rounds (2 threads)")
        print(f"{'row':52s} " + "  ".join(f"{v:>24s}" for v in ("variant 1", "variant 2", "torch")))
        with using_backend(be):
            for name, variants in rows(np.random.default_rng(0)):
                want = variants["torch"]()
                for v, run in variants.items():
                    _check(f"{name} {v}", run(), want)  # also the warm-up: compiles
                times = {v: [] for v in variants}
                for _ in range(args.repeats):
                    for v, run in variants.items():
                        t = time.perf_counter()
                        run()
                        times[v].append((time.perf_counter() - t) * 1e3)
                cells = [f"{v}={statistics.median(ts):.2f}" for v, ts in times.items()]
                print(f"{name:52s} " + "  ".join(f"{c:>24s}" for c in cells))


if __name__ == "__main__":
    main()
