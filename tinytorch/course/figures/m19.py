"""Module 19's figure: attention's N^2. One causal attention layer (B 1, 4 heads of 64, float32) at growing
sequence length T: the (H, T, T) score matrix, the memory the compiler plans for the composed form (which
materializes the scores and the probabilities) and for the streaming `attention` op (one tile of scores per
thread), and the time of each. benchmarks/bench_attention.py is the long version (training too, measured RSS)."""
from __future__ import annotations

import numpy as np

import tinytorch as tt
import tinytorch.nn.functional as F

from ...compiler.ops import attention
from .common import median_ms

HEADS, DIM = 4, 64
SIZES = (256, 512, 1024, 2048)
REPEATS = 3
MIB = 1 << 20


def _attend(data):
    q, k, v = (tt.tensor(a) for a in data)
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def figure():
    threshold = attention.FUSE_MIN_SCORE_BYTES
    attention.FUSE_MIN_SCORE_BYTES = 0  # record the streaming op at every T; "composed" switches its pass off
    try:
        print(f"causal attention, B 1, {HEADS} heads of {DIM}, float32, inference; median of {REPEATS}")
        print(f"{'T':>5} {'scores MiB':>10} {'composed plan MiB':>17} {'streamed plan MiB':>17} "
              f"{'composed ms':>11} {'streamed ms':>11}")
        rng = np.random.default_rng(0)
        for T in SIZES:
            data = [rng.standard_normal((1, HEADS, T, DIM), dtype=np.float32) for _ in range(3)]
            row = [T, HEADS * T * T * 4 / MIB]
            plans, times = [], []
            for off in (("attention",), ()):
                with tt.disable_passes(*off):
                    plans.append(tt.plan(_attend(data)).memory_plan.peak_bytes / MIB)
                    times.append(median_ms(lambda: _attend(data).numpy(), REPEATS))
            print(f"{row[0]:>5} {row[1]:>10.1f} {plans[0]:>17.1f} {plans[1]:>17.2f} {times[0]:>11.1f} {times[1]:>11.1f}")
    finally:
        attention.FUSE_MIN_SCORE_BYTES = threshold
