"""Module 2's figure: what fusing an elementwise chain buys. NumPy op by op writes a temporary per op; the
compiler runs the chain as one loop."""
from __future__ import annotations

import numpy as np

import tinytorch as tt

from .common import SIZE, median_ms


def _chain(m, x):
    return ((m.tanh(x * 1.5 + 0.5) * 2.0 - 1.0) ** 2 + 1.0) ** 0.5 / 3.0


def figure():
    x = np.random.default_rng(0).standard_normal(SIZE, dtype=np.float32)
    ours = median_ms(lambda: _chain(tt, tt.tensor(x)).numpy())
    numpy = median_ms(lambda: _chain(np, x))
    print(f"8 elementwise ops on {SIZE:,} floats: NumPy op by op (8 temporaries) {numpy:7.2f} ms, "
          f"TinyTorch (one fused kernel) {ours:7.2f} ms")
