"""Module 1's figure: what broadcasting costs. x + row reads the row through an expand view (stride 0); x + full
reads a materialized copy of it, a second x-sized array."""
from __future__ import annotations

import numpy as np

import tinytorch as tt

from .common import SIZE, median_ms


def figure():
    rows, cols = 1024, SIZE // 1024
    x = np.random.default_rng(0).standard_normal((rows, cols), dtype=np.float32)
    row = x[:1].copy()
    full = np.repeat(row, rows, 0)
    R, F = tt.tensor(row), tt.tensor(full)
    view = median_ms(lambda: (tt.tensor(x) + R).numpy())
    copy = median_ms(lambda: (tt.tensor(x) + F).numpy())
    print(f"x[{rows},{cols}] + row[1,{cols}]   (expand view, reads {x.nbytes + row.nbytes:>10,} B): {view:7.2f} ms")
    print(f"x[{rows},{cols}] + full[{rows},{cols}] (a materialized copy, reads {x.nbytes + full.nbytes:>10,} B): "
          f"{copy:7.2f} ms")
