"""`python -m tinytorch.course.thinking N`: the figure of module N's "ML Systems Thinking" section, measured on
the student's machine (medians of a few runs; the numbers are the machine's, the ratios are the lesson).

Nodes are hash-consed and keep their value, so the same graph over the same leaves is computed once: each timed
run wraps its input in a fresh leaf (`tt.tensor`, one copy, counted in both TinyTorch columns)."""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import tinytorch as tt

from .. import compiler as C

REPEATS = 7
SIZE = 1 << 20  # a million float32s: 4 MiB per array, bigger than a core's caches


def _median_ms(fn) -> float:
    fn()  # compile and warm up
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def broadcasting():
    rows, cols = 1024, SIZE // 1024
    x = np.random.default_rng(0).standard_normal((rows, cols), dtype=np.float32)
    row = x[:1].copy()
    full = np.repeat(row, rows, 0)
    R, F = tt.tensor(row), tt.tensor(full)
    view = _median_ms(lambda: (tt.tensor(x) + R).numpy())
    copy = _median_ms(lambda: (tt.tensor(x) + F).numpy())
    print(f"x[{rows},{cols}] + row[1,{cols}]   (expand view, reads {x.nbytes + row.nbytes:>10,} B): {view:7.2f} ms")
    print(f"x[{rows},{cols}] + full[{rows},{cols}] (a materialized copy, reads {x.nbytes + full.nbytes:>10,} B): "
          f"{copy:7.2f} ms")


def _chain(m, x):
    return ((m.tanh(x * 1.5 + 0.5) * 2.0 - 1.0) ** 2 + 1.0) ** 0.5 / 3.0


def fusion():
    x = np.random.default_rng(0).standard_normal(SIZE, dtype=np.float32)
    ours = _median_ms(lambda: _chain(tt, tt.tensor(x)).numpy())
    numpy = _median_ms(lambda: _chain(np, x))
    print(f"8 elementwise ops on {SIZE:,} floats: NumPy op by op (8 temporaries) {numpy:7.2f} ms, "
          f"TinyTorch (one fused kernel) {ours:7.2f} ms")


def _mlp(x, ws):
    for w in ws[:-1]:
        x = (x @ w).relu()
    return (x @ ws[-1]).sum()


def autograd():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((256, 512), dtype=np.float32)
    x = tt.tensor(data)
    ws = [tt.tensor(rng.standard_normal((512, 512), dtype=np.float32) / 23, requires_grad=True) for _ in range(4)]
    forward_nodes = len(C.ir.toposort([_mlp(x, ws)._node]))
    loss = _mlp(x, ws)
    grads = tt.autograd.grad(loss, ws)
    both_nodes = len(C.ir.toposort([g._node for g in grads]))
    fwd = _median_ms(lambda: _mlp(tt.tensor(data), ws).numpy())
    bwd = _median_ms(lambda: [g.numpy() for g in tt.autograd.grad(_mlp(tt.tensor(data), ws), ws)])
    print(f"4-layer MLP, batch 256, width 512: forward {forward_nodes} nodes {fwd:7.2f} ms; "
          f"forward + backward {both_nodes} nodes {bwd:7.2f} ms ({bwd / fwd:.1f}x)")


FIGURES = {1: broadcasting, 2: fusion, 3: autograd}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    number = int(argv[0]) if argv else 0
    if number not in FIGURES:
        raise SystemExit(f"python -m tinytorch.course.thinking N: N is one of {sorted(FIGURES)} (the modules whose "
                         f"figure is built), got {argv[0] if argv else 'nothing'}")
    FIGURES[number]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
