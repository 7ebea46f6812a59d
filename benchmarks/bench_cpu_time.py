"""A training step's CPU time, TinyTorch (llvm) against PyTorch eager, alternating in one process.

    python3 benchmarks/bench_cpu_time.py                       # vgg lenet lenet_captured mnist_cnn, 1 thread
    python3 benchmarks/bench_cpu_time.py vgg --threads 2 --clock wall --repeats 9

On a shared machine other jobs' load swings wall times 2-4x, and each side's threads wait on descheduled
helpers; with one thread each (BLAS, TinyTorch's loops, PyTorch) the process's CPU time (`process_time`)
counts the work itself and barely moves with the load. Each repeat runs one PyTorch step, then one
TinyTorch step, so both see the same minutes; prints medians and their ratio. Asserts nothing.
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import harness  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

DEFAULT = ("vgg", "lenet", "lenet_captured", "mnist_cnn")


def measure(name: str, repeats: int, clock) -> tuple[float, float]:
    """Median seconds per step: (torch, tinytorch)."""
    w = WORKLOADS[name]()
    state = w.setup()
    tstate = w.torch_setup(state)

    def torch_step():
        w.torch_step(tstate)

    def tt_step():
        for out in w.step(state):
            if hasattr(out, "realize"):
                out.realize()
    for f in (torch_step, tt_step, torch_step, tt_step):  # warm-up: compiles, optimizer state
        f()
    times = {torch_step: [], tt_step: []}
    for _ in range(repeats):
        for f in (torch_step, tt_step):
            t0 = clock()
            f()
            times[f].append(clock() - t0)
    return statistics.median(times[torch_step]), statistics.median(times[tt_step])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", default=list(DEFAULT))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    harness.pin_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"{args.clock} time per step, {args.threads} thread(s) each, median of {args.repeats}, alternating")
    print(f"{'workload':16} {'torch ms':>10} {'tinytorch ms':>13} {'tinytorch/torch':>16}")
    for name in args.names:
        t, tt_ = measure(name, args.repeats, clock)
        print(f"{name:16} {t * 1e3:10.1f} {tt_ * 1e3:13.1f} {tt_ / t:16.2f}")


if __name__ == "__main__":
    main()
