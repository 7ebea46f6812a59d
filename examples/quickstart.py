"""Build a small graph, print its IR, realize it, and compare compiled with eager.

    python examples/quickstart.py

Compiled and eager results agree to float32 rounding, not bit for bit: the native backend computes erf with
its own polynomial. The script exits with status 1 if they differ by more than RTOL and ATOL.
"""
import sys
import time

import numpy as np

import tinytorch as tt

RTOL, ATOL = 1e-5, 1e-6


def gelu_mlp(x, w1, w2):
    return (x @ w1).gelu() @ w2


def main():
    tt.manual_seed(0)
    x, w1, w2 = tt.randn(64, 128), tt.randn(128, 256) * 0.1, tt.randn(256, 10) * 0.1
    tt.realize(x, w1, w2)

    y = gelu_mlp(x, w1, w2).softmax(-1)
    print("The graph y = softmax(gelu(x @ w1) @ w2), before anything ran:")
    print(tt.explain(y))
    print(f"\ny.is_realized = {y.is_realized}")

    t0 = time.perf_counter()
    lazy = y.numpy()
    t_lazy = time.perf_counter() - t0
    print(f"realized: y.shape = {y.shape}, row sums = {lazy.sum(-1)[:3].round(6)} ...")

    t0 = time.perf_counter()
    again = gelu_mlp(x, w1, w2).softmax(-1).numpy()  # same structure: the cached Program runs
    t_cached = time.perf_counter() - t0

    with tt.eager():
        t0 = time.perf_counter()
        eager = gelu_mlp(x, w1, w2).softmax(-1).numpy()
        t_eager = time.perf_counter() - t0

    print(f"\nlazy (first, compiles): {t_lazy * 1e3:.2f} ms   lazy (cached): {t_cached * 1e3:.2f} ms   "
          f"eager: {t_eager * 1e3:.2f} ms")
    diff = max(float(np.max(np.abs(eager - lazy))), float(np.max(np.abs(again - lazy))))
    close = np.allclose(eager, lazy, rtol=RTOL, atol=ATOL) and np.allclose(again, lazy, rtol=RTOL, atol=ATOL)
    print(f"eager vs compiled: max abs diff {diff:.1e} ({'within' if close else 'OUTSIDE'} rtol={RTOL:g}, "
          f"atol={ATOL:g})")
    print(f"compiler stats: {tt.stats()}")
    return 0 if close else 1


if __name__ == "__main__":
    sys.exit(main())
