"""Peak memory of one training step: TinyTorch's planned arena and measured RSS against PyTorch's measured RSS.

    python3 benchmarks/bench_step_memory.py                  # the VGG-style CIFAR step, batch 128
    python3 benchmarks/bench_step_memory.py lenet mnist_cnn --quick

Each framework runs in its own fresh process (so one's freed pages do not hide the other's): it builds the
workload, runs two warm-up steps (compiles, optimizer state), then runs one more step while a thread samples
the process's resident memory (psutil) every 0.2 ms. The step's peak is the highest sample minus the RSS just
before the step: the memory the step itself needed on top of weights, optimizer state and inputs. The
children run with MALLOC_MMAP_THRESHOLD_=64 KiB, so every large block PyTorch frees goes back to the system at
once and RSS follows what is live (glibc would otherwise keep freed blocks and hide the next step's peak).
TinyTorch's arena stays allocated between steps, so its step needs the arena (the memory plan's peak,
planned and exact) plus what the sampled RSS rose by during the step. Prints a table; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

MB = 1 << 20


def _sampled_peak(fn) -> tuple[float, float]:
    """Run fn while sampling RSS; (RSS before in MB, peak RSS above that in MB)."""
    import psutil
    proc = psutil.Process()
    before = proc.memory_info().rss
    peak, done = [before], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.0002)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    fn()
    done.set()
    t.join()
    peak[0] = max(peak[0], proc.memory_info().rss)
    return before / MB, (peak[0] - before) / MB


def child(name: str, column: str, quick: bool) -> dict:
    """One framework's measurement, in this (fresh) process."""
    import harness
    from workloads import WORKLOADS
    harness.pin_threads()
    w = WORKLOADS[name](quick=quick)
    out = {}
    if column == "torch":
        state = w.torch_setup(w.setup())
        run = lambda: w.torch_step(state)  # noqa: E731
    else:
        import tinytorch as tt
        runner = harness._tt_runner(w, w.setup())
        progs = []

        def run():
            with harness.captured_programs(progs):
                return runner()
        with harness.backend("llvm"):
            run(), run()
            progs.clear()
            out["rss_before_mb"], out["step_peak_mb"] = _sampled_peak(run)
            out["arena_mb"] = sum(p.memory_plan.peak_bytes for p in progs) / MB
            out["compiles"] = tt.stats()["compiles"]
        return out
    run(), run()
    out["rss_before_mb"], out["step_peak_mb"] = _sampled_peak(run)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", default=["vgg"])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child, args.quick)))
        return
    rows = []
    for name in args.names:
        res = {}
        for column in ("tinytorch", "torch"):
            cmd = [sys.executable, __file__, "--child", name, column] + (["--quick"] if args.quick else [])
            env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(64 << 10))
            res[column] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
                                     .stdout.strip().splitlines()[-1])
        tt_, th = res["tinytorch"], res["torch"]
        total = tt_["arena_mb"] + tt_["step_peak_mb"]
        rows.append((name, f"{tt_['arena_mb']:.1f}", f"{tt_['step_peak_mb']:.1f}", f"{th['step_peak_mb']:.1f}",
                     f"{total / max(th['step_peak_mb'], 1e-9):.2f}"))
    head = ("workload", "tinytorch arena MB (planned)", "tinytorch RSS rise MB", "torch step peak MB",
            "(arena + rise) / torch")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
