"""Depthwise convolution (groups == in_channels) and the other CNN ops, against PyTorch: a table, no asserts.

`python benchmarks/bench_cnn_ops.py [--repeats 15] [--shape 32 64 56 56] [--backend llvm numpy]`

The depthwise rows compare conv2d's depthwise path (windows times the broadcast weight, summed: one fused
reduction kernel, `tinytorch/nn/depthwise.py`) with the general grouped path it replaced for
groups == in_channels (a batched matmul with K = kh*kw and one output column per group, rebuilt here as
`grouped_matmul_conv2d`) and with PyTorch's `F.conv2d(groups=C)`, on an (N, C, H, W) input with a 3x3
kernel, stride 1, padding 1: forward alone, and forward + backward (input and weight gradients). The other
rows time one forward + backward of each new op next to PyTorch's. Every variant's first result is checked
against PyTorch before timing; the variants are timed in turn, one run each per round, and each cell is the
median over the rounds, in ms. Threads: 2 for BLAS, TinyTorch's native loops and PyTorch (`harness.pin_threads`).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from harness import backend as using_backend, pin_threads

import tinytorch as tt
import tinytorch.nn.functional as F


def grouped_matmul_conv2d(x, weight, padding):
    """conv2d's general grouped path (stride 1, dilation 1): the one groups == in_channels took before."""
    O, Cg, kh, kw = weight.shape
    N, G = x.shape[0], x.shape[1] // Cg
    cols = F.unfold_patches(x, (kh, kw), 1, padding, 1, op="conv2d")
    oh, ow = cols.shape[-2:]
    K, Og = Cg * kh * kw, O // G
    rows = cols.reshape(N, G, Cg, kh, kw, oh, ow).permute(1, 0, 5, 6, 2, 3, 4).reshape(G, N * oh * ow, K)
    w = weight.reshape(G, Og, K).permute(0, 2, 1)
    return (rows @ w).reshape(G, N, oh, ow, Og).permute(1, 0, 4, 2, 3).reshape(N, O, oh, ow)


def _tt_step(fn, arrays, backward):
    """One call: fresh leaves, the op, and (backward) the gradients of sum(out * g) w.r.t. every leaf."""
    def run():
        leaves = [tt.tensor(a, requires_grad=backward) for a in arrays[:-1]]
        out = fn(*leaves)
        if not backward:
            return [out.numpy()]
        (out * tt.tensor(arrays[-1])).sum().backward()
        tt.realize([t.grad for t in leaves])
        return [t.grad.numpy() for t in leaves]
    return run


def _torch_step(fn, arrays, backward):
    import torch

    def run():
        leaves = [torch.tensor(a, requires_grad=backward) for a in arrays[:-1]]
        out = fn(*leaves)
        if not backward:
            return [out.detach().numpy()]
        (out * torch.from_numpy(arrays[-1])).sum().backward()
        return [t.grad.numpy() for t in leaves]
    return run


def _time_in_turn(runs: dict, repeats: int) -> dict:
    for run in runs.values():  # warm-up: compile, caches
        run()
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            t = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - t) * 1e3)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _check(runs: dict, reference, tol) -> None:
    want = reference()
    for name, run in runs.items():
        for got, ref in zip(run(), want):
            scale = max(1.0, float(np.abs(ref).max()))
            if np.abs(got - ref).max() > tol * scale:
                raise SystemExit(f"{name}: differs from PyTorch by {np.abs(got - ref).max():.3g}")


def _cases(shape, rng):
    import torch.nn.functional as TF
    N, C, H, W = shape
    r = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    x, w = r(N, C, H, W), r(C, 1, 3, 3)
    g = r(N, C, H, W)
    yield ("depthwise 3x3", [x, w, g],
           {"depthwise path": lambda a, b: F.conv2d(a, b, padding=1, groups=C),
            "grouped matmul path": lambda a, b: grouped_matmul_conv2d(a, b, 1)},
           lambda a, b: TF.conv2d(a, b, padding=1, groups=C))
    small = (N, C // 2, H // 2, W // 2)
    xs, ws = r(*small), r(C // 2, C // 4, 3, 3)
    yield ("conv_transpose2d s2 3x3", [xs, ws, r(N, C // 4, H - 1, W - 1)],
           {"tinytorch": lambda a, b: F.conv_transpose2d(a, b, stride=2, padding=1)},
           lambda a, b: TF.conv_transpose2d(a, b, stride=2, padding=1))
    yield ("interpolate bilinear x2", [xs, r(N, C // 2, H, W)],
           {"tinytorch": lambda a: F.interpolate(a, scale_factor=2, mode="bilinear")},
           lambda a: TF.interpolate(a, scale_factor=2, mode="bilinear"))
    yield ("adaptive_avg_pool2d 7x7", [x, r(N, C, 7, 7)],
           {"tinytorch": lambda a: F.adaptive_avg_pool2d(a, 7)}, lambda a: TF.adaptive_avg_pool2d(a, 7))
    yield ("pad reflect 2", [x, r(N, C, H + 4, W + 4)],
           {"tinytorch": lambda a: F.pad(a, (2, 2, 2, 2), mode="reflect")},
           lambda a: TF.pad(a, (2, 2, 2, 2), mode="reflect"))
    yield ("max_pool2d 3x3 s2 ceil", [x, r(N, C, (H - 2) // 2 + 1, (W - 2) // 2 + 1)],
           {"tinytorch": lambda a: F.max_pool2d(a, 3, 2, ceil_mode=True)},
           lambda a: TF.max_pool2d(a, 3, 2, ceil_mode=True))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--shape", type=int, nargs=4, default=[32, 64, 56, 56], metavar=("N", "C", "H", "W"))
    p.add_argument("--backend", nargs="+", default=["llvm"], choices=["llvm", "numpy"])
    p.add_argument("--depthwise-only", action="store_true")
    args = p.parse_args(argv)
    pin_threads()
    rng = np.random.default_rng(0)
    print(f"shape (N, C, H, W) = {tuple(args.shape)}, medians of {args.repeats} rounds, ms")
    print(f"{'op':<26} {'pass':<9} {'variant':<30} {'ms':>9} {'torch ms':>9} {'torch/this':>10}")
    for title, arrays, variants, torch_fn in _cases(args.shape, rng):
        for backward in (False, True):
            runs = {f"{name} ({b})": _tt_step(fn, arrays, backward)
                    for b in args.backend for name, fn in variants.items()}
            runs = {name: _in_backend(run, name.rsplit("(", 1)[1][:-1]) for name, run in runs.items()}
            runs["torch"] = _torch_step(torch_fn, arrays, backward)
            _check({k: v for k, v in runs.items() if k != "torch"}, runs["torch"], 1e-3)
            ms = _time_in_turn(runs, args.repeats)
            for name, t in ms.items():
                if name != "torch":
                    print(f"{title:<26} {'fwd+bwd' if backward else 'fwd':<9} {name:<30} {t:>9.2f} "
                          f"{ms['torch']:>9.2f} {ms['torch'] / t:>10.2f}")
        if args.depthwise_only:
            break


def _in_backend(run, name):
    def wrapped():
        with using_backend(name):
            return run()
    return wrapped


if __name__ == "__main__":
    main()
