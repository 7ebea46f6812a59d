"""Native (llvmlite) kernels against NumPy eager and PyTorch eager: GELU chains, softmax, layernorm.

Each TinyTorch case is compiled once into a Program on the llvm backend, then only the Program's run on
its input arrays is timed: the native kernels, with no graph building, cache lookup or Tensor wrapping
around them (binding the arrays into the pointer table and allocating the output cost about 2% of a GELU
run). Prints one table of median times and achieved bandwidth (minimum bytes a kernel must move: each
input read once, the output written once), next to this machine's copy bandwidth (np.copyto of the same
bytes, counted as read + write), plus cold compile times. Run: python benchmarks/bench_llvm_kernels.py
"""
from __future__ import annotations

import math
import os
import statistics
import tempfile
import time

import numpy as np

os.environ.setdefault("TINYTORCH_CACHE_DIR", tempfile.mkdtemp(prefix="tt_bench_cache_"))

import tinytorch as tt  # noqa: E402
from tinytorch.compiler import realizer  # noqa: E402
from tinytorch.compiler.llvm import jit  # noqa: E402

N_GELU = 4 * 1024 * 1024
ROWS = (4096, 1024)
REPEATS = 15
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def timings_ms(fn, repeats=REPEATS) -> tuple[float, float]:
    """(median, min) in ms; the min shows what a quiet machine gives when the cores are shared."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times), 1e3 * min(times)


def with_threads(n, fn):
    def run():
        old = os.environ.get("TINYTORCH_NUM_THREADS")
        os.environ["TINYTORCH_NUM_THREADS"] = str(n)
        try:
            fn()
        finally:
            if old is None:
                del os.environ["TINYTORCH_NUM_THREADS"]
            else:
                os.environ["TINYTORCH_NUM_THREADS"] = old
    return run


def numpy_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))


def numpy_gelu_erf(x):
    from tinytorch.compiler.ops import _erf  # NumPy has no erf: the NumPy backend's own
    return 0.5 * x * (1 + _erf(x * np.float32(1 / math.sqrt(2))))


def numpy_softmax(x):
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def numpy_layernorm(x, g, b):
    mu = x.mean(1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(1, keepdims=True) + 1e-5) * g + b


def compiled(graph):
    """graph() -> tensors, compiled once on llvm: (run, compile ms); run() computes them from the same inputs."""
    with tt.using_backend("llvm"):
        t = time.perf_counter()
        prog, inputs = realizer.plan([o._node for o in graph()])
        compile_ms = 1e3 * (time.perf_counter() - t)
    arrays = [n._value.array for n in inputs]
    return (lambda: prog.run(arrays)), compile_ms


def main():
    import torch
    torch.set_num_threads(2)
    F = torch.nn.functional
    F_tt = tt.nn.functional
    rng = np.random.default_rng(0)
    rows = []

    def row(name, impl, ms, nbytes):
        med, best = ms
        rows.append((name, impl, med, best, nbytes / med / 1e6))

    x = rng.standard_normal(N_GELU).astype(np.float32)
    tx = torch.from_numpy(x)
    gbytes = 2 * x.nbytes
    compile_ms = []
    for name, approx, np_fn, torch_fn in (
            ("gelu tanh 4M f32", "tanh", numpy_gelu_tanh,
             lambda: 0.5 * tx * (1 + torch.tanh(SQRT_2_OVER_PI * (tx + 0.044715 * tx * tx * tx)))),
            ("gelu erf 4M f32", "none", numpy_gelu_erf,
             lambda: 0.5 * tx * (1 + torch.erf(tx * (1 / math.sqrt(2)))))):
        run, ms = compiled(lambda: [tt.from_numpy(x).gelu(approximate=approx)])
        compile_ms.append(ms)
        assert np.allclose(run()[0], np_fn(x), rtol=1e-5, atol=1e-6)
        row(name, "numpy eager", timings_ms(lambda: np_fn(x)), gbytes)
        row(name, "torch eager (op chain)", timings_ms(torch_fn), gbytes)
        row(name, "torch F.gelu (fused)", timings_ms(lambda: F.gelu(tx, approximate=approx)), gbytes)
        row(name, "native, 1 thread", timings_ms(with_threads(1, run)), gbytes)
        row(name, "native, 2 threads", timings_ms(with_threads(2, run)), gbytes)

    x2 = rng.standard_normal(ROWS).astype(np.float32)
    tx2 = torch.from_numpy(x2)
    g, b = rng.standard_normal(ROWS[1]).astype(np.float32), rng.standard_normal(ROWS[1]).astype(np.float32)
    tg, tb = torch.from_numpy(g), torch.from_numpy(b)
    rbytes = 2 * x2.nbytes
    native_softmax, _ = compiled(lambda: [tt.from_numpy(x2).softmax(-1)])
    native_layernorm, _ = compiled(lambda: [F_tt.layer_norm(tt.from_numpy(x2), (ROWS[1],), tt.from_numpy(g),
                                                            tt.from_numpy(b), eps=1e-5)])
    assert np.allclose(native_softmax()[0], numpy_softmax(x2), rtol=1e-4, atol=1e-7)
    assert np.allclose(native_layernorm()[0], numpy_layernorm(x2, g, b), rtol=1e-3, atol=1e-4)
    name = f"softmax {ROWS} f32"
    row(name, "numpy eager", timings_ms(lambda: numpy_softmax(x2)), rbytes)
    row(name, "torch eager", timings_ms(lambda: torch.softmax(tx2, 1)), rbytes)
    row(name, "native row kernel, 1 thread", timings_ms(with_threads(1, native_softmax)), rbytes)
    row(name, "native row kernel, 2 threads", timings_ms(with_threads(2, native_softmax)), rbytes)
    name = f"layernorm {ROWS} f32"
    row(name, "numpy eager", timings_ms(lambda: numpy_layernorm(x2, g, b)), rbytes)
    row(name, "torch eager", timings_ms(lambda: F.layer_norm(tx2, (ROWS[1],), tg, tb)), rbytes)
    row(name, "native row kernel, 1 thread", timings_ms(with_threads(1, native_layernorm)), rbytes)
    row(name, "native row kernel, 2 threads", timings_ms(with_threads(2, native_layernorm)), rbytes)

    dst = np.empty_like(x)
    row("copy 16 MiB", "np.copyto", timings_ms(lambda: np.copyto(dst, x)), 2 * x.nbytes)

    print(f"host: {jit.host()['cpu']}, avx512={jit.host()['avx512']}, cpus={os.cpu_count()}, "
          f"torch threads={torch.get_num_threads()}; medians of {REPEATS}")
    print(f"{'case':<28} {'implementation':<30} {'median ms':>9} {'min ms':>8} {'GB/s':>6}")
    for name, impl, med, best, gbs in rows:
        print(f"{name:<28} {impl:<30} {med:9.2f} {best:8.2f} {gbs:6.1f}")
    print("GB/s: at the median; bytes = inputs read once + output written once")
    print(f"cold compile (passes, IR -> O3 -> object -> loaded), gelu Programs: "
          f"{', '.join(f'{m:.0f} ms' for m in compile_ms)}")


if __name__ == "__main__":
    main()
