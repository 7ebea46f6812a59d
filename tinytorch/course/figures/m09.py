"""Module 9's figure: im2col's memory. The window matrix of a convolution holds every input pixel once per
window that covers it: kh*kw times the input at stride 1. Built from `unfold` + matmul, a training step keeps
that matrix alive from the forward to the weight gradient; the `conv2d` op (compiler/ops/conv.py) copies a
few images' windows at a time into scratch and builds them again for the backward. The figure plans one
layer's forward + backward both ways (the arena's peak) and times them, the two alternating."""
from __future__ import annotations

import statistics
import time

import numpy as np

import tinytorch as tt
import tinytorch.nn.functional as F

from ...compiler.ops import conv as conv_ops
from .common import REPEATS

N, C, HW, O, K = 16, 32, 32, 32, 3  # a VGG-like 3x3 layer, padding 1, stride 1


def _composed(x, w):
    """The convolution as unfold + matmul: the (N*oh*ow, C*k*k) window matrix is a value of the graph."""
    cols = F.unfold_patches(x, (K, K), 1, 1, 1, op="conv2d")  # (N, C, k, k, oh, ow), a view
    rows = cols.permute(0, 4, 5, 1, 2, 3).reshape(N * HW * HW, C * K * K)
    return (rows @ w.reshape(O, C * K * K).T).reshape(N, HW, HW, O).permute(0, 3, 1, 2)


def _op(x, w):
    return F.conv2d(x, w, padding=1)


def _step(conv, xa, w):
    """The weight gradient of sum(relu(conv(x, w))): forward and backward, not run."""
    w.grad = None
    conv(tt.tensor(xa), w).relu().sum().backward()
    return w.grad


def _run_ms(conv, xa, w) -> float:
    g = _step(conv, xa, w)
    t = time.perf_counter()
    g.realize()
    return (time.perf_counter() - t) * 1e3


def figure():
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((N, C, HW, HW), dtype=np.float32)
    w = tt.tensor(rng.standard_normal((O, C, K, K), dtype=np.float32) / 17, requires_grad=True)
    ways = {"unfold + matmul": _composed, "conv2d op (tiled)": _op}
    peaks, times = {}, {name: [] for name in ways}
    for name, conv in ways.items():
        peaks[name] = tt.plan(_step(conv, xa, w)).memory_plan.peak_bytes
        _run_ms(conv, xa, w)  # compile and warm up
    for _ in range(REPEATS):
        for name, conv in ways.items():
            times[name].append(_run_ms(conv, xa, w))
    mib = 1 / (1 << 20)
    per_image = C * K * K * HW * HW * 4
    tile = conv_ops._tile(per_image, N)
    print(f"conv {K}x{K}, padding 1: input ({N}, {C}, {HW}, {HW}) float32 = {xa.nbytes * mib:.1f} MiB; its im2col "
          f"matrix ({N * HW * HW}, {C * K * K}) = {N * per_image * mib:.1f} MiB ({N * per_image / xa.nbytes:.0f}x); "
          f"the tiled routine's scratch: {tile} image(s) a tile = {tile * per_image * mib:.1f} MiB per thread")
    print(f"forward + backward on the {tt.get_backend()} backend, median of {REPEATS}:")
    for name in ways:
        print(f"  {name:18} arena peak {peaks[name] * mib:7.1f} MiB   {statistics.median(times[name]):8.2f} ms")
