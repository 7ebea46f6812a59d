"""BatchNorm2d training forward+backward and reductions over leading axes: TinyTorch (llvm, numpy) against torch.

The TinyTorch cases are compiled once into a Program per backend, then only the Program's run on its input
arrays is timed (the kernels; no graph building or cache lookup), as in bench_llvm_kernels.py. torch runs
eagerly on 2 threads. Next to the median wall time, the median CPU time of the process (all threads: the
work done, which other jobs on a shared machine disturb less than the wall time). Achieved GB/s counts the minimum bytes: BatchNorm reads x and writes y forward, reads
dy and x and writes dx backward (5 arrays of x's size); a reduction reads its input once. Also prints the
Program's kernel count and np.copyto bandwidth for scale. Run:
    OPENBLAS_NUM_THREADS=2 TINYTORCH_NUM_THREADS=2 python benchmarks/bench_batchnorm.py
"""
from __future__ import annotations

import os
import pathlib
import statistics
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TINYTORCH_CACHE_DIR", tempfile.mkdtemp(prefix="tt_bench_cache_"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import harness  # noqa: E402
import tinytorch as tt  # noqa: E402
from tinytorch.compiler import realizer  # noqa: E402

BN_SHAPES = ((128, 32, 32, 32), (128, 128, 8, 8))
REDUCTIONS = (((128, 64, 16, 16), (0, 2, 3)), ((4096, 1024), (0,)))
REPEATS = 15


def median_ms(fn, repeats=REPEATS) -> tuple:
    """(median wall ms, median process CPU ms) of fn()."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return 1e3 * statistics.median(wall), 1e3 * statistics.median(cpu)


def compiled(backend, graph):
    """graph() -> tensors, compiled once: (run, kernel count); run() computes them again from the same inputs."""
    with tt.using_backend(backend):
        prog, inputs = realizer.plan([o._node for o in graph()])
    arrays = [n._value.array for n in inputs]
    return (lambda: prog.run(arrays)), len(prog.kernels)


def bn_graph(x, dy):
    def graph():
        xt = tt.from_numpy(x).requires_grad_()
        bn = tt.nn.BatchNorm2d(x.shape[1])
        y = bn(xt)
        y.backward(tt.from_numpy(dy))
        return [y, xt.grad, bn.weight.grad, bn.bias.grad, bn.running_mean, bn.running_var]
    return graph


def torch_bn(x, dy):
    import torch
    tx = torch.from_numpy(x).requires_grad_()
    tdy = torch.from_numpy(dy)
    bn = torch.nn.BatchNorm2d(x.shape[1])

    def step():
        tx.grad = None
        bn.zero_grad()
        bn(tx).backward(tdy)
    return step


def main():
    harness.pin_threads()
    import torch
    rng = np.random.default_rng(0)
    rows = []
    for shape in BN_SHAPES:
        x = rng.standard_normal(shape, dtype=np.float32)
        dy = rng.standard_normal(shape, dtype=np.float32)
        nbytes = 5 * x.nbytes
        name = f"batchnorm2d train fwd+bwd {shape}"
        for backend in ("llvm", "numpy"):
            run, nk = compiled(backend, bn_graph(x, dy))
            rows.append((name, f"tinytorch {backend}", nk, *median_ms(run), nbytes))
        rows.append((name, "torch", "", *median_ms(torch_bn(x, dy)), nbytes))
    for shape, axes in REDUCTIONS:
        x = rng.standard_normal(shape, dtype=np.float32)
        name = f"x.sum({axes}) on {shape}"
        for backend in ("llvm", "numpy"):
            run, nk = compiled(backend, lambda: [tt.from_numpy(x).sum(axes)])
            rows.append((name, f"tinytorch {backend}", nk, *median_ms(run), x.nbytes))
        tx = torch.from_numpy(x)
        rows.append((name, "torch", "", *median_ms(lambda: tx.sum(axes)), x.nbytes))
        rows.append((name, "numpy np.sum", "", *median_ms(lambda: np.sum(x, axes)), x.nbytes))
    print(f"{'case':46s} {'impl':18s} {'kernels':>7s} {'ms':>9s} {'cpu ms':>9s} {'GB/s':>7s}")
    for name, impl, nk, ms, cpu, nbytes in rows:
        print(f"{name:46s} {impl:18s} {nk!s:>7s} {ms:9.3f} {cpu:9.3f} {nbytes / ms / 1e6:7.1f}")
    print(f"np.copyto on 64 MB: {harness.copy_gbs(1 << 26):.1f} GB/s (read + written)")


if __name__ == "__main__":
    main()
