"""Build a small graph, print its IR, realize it, and compare lazy with eager.

    python examples/quickstart.py
"""
import time

import numpy as np

import tinytorch as tt


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
    print(f"eager == lazy: {np.array_equal(eager, lazy) and np.array_equal(again, lazy)}")
    print(f"compiler stats: {tt.stats()}")


if __name__ == "__main__":
    main()
