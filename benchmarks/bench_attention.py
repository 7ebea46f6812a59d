"""One attention layer, naive (the attention pass off: the T×T matrix) against fused (the streaming op).

    python benchmarks/bench_attention.py                       # T = 128 ... 4096, inference and training
    python benchmarks/bench_attention.py --sizes 256 1024 --repeats 5 --plot attention.png

B=1, H=4, D=64, causal, float32: F.scaled_dot_product_attention(q, k, v, is_causal=True); training is the
forward plus the backward to dq, dk, dv. Per T and phase:
- planned: the Program's arena peak (memory plan), naive and fused, and the N² term: one (H, T, T) float32
  matrix, the size of the scores (naive keeps several of them alive at once; fused none);
- measured: the peak RSS rise of one run in a fresh process per config (psutil sampling, after compiling
  with tt.plan and loading the code, so it is the arena, scratch and outputs the run allocates);
- time: the median of `--repeats` steps, naive and fused alternating in this one process.
"fused" streams every size here (FUSE_MIN_SCORE_BYTES set to 0); by default the compiler keeps attention
with under 32 MiB of scores composed, where it is faster. Backend: TINYTORCH_BACKEND (numpy unless set). Threads pinned to 2 (harness.pin_threads). `--plot PATH`
draws memory and time against T (matplotlib, the optional extra `plots`). Prints a table; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

MB = 1 << 20
HEADS, DIM = 4, 64
MODES = ("naive", "fused")
PHASES = ("inference", "training")


def _step(T: int, train: bool):
    """The tensors one step realizes: the output (inference) or dq, dk, dv (training)."""
    import numpy as np

    import tinytorch as tt
    import tinytorch.nn.functional as F
    rng = np.random.default_rng(0)
    q, k, v = (tt.tensor(rng.standard_normal((1, HEADS, T, DIM)).astype(np.float32), requires_grad=train)
               for _ in range(3))
    if not train:
        with tt.no_grad():
            return [F.scaled_dot_product_attention(q, k, v, is_causal=True)]
    F.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    return [q.grad, k.grad, v.grad]


def _options(mode: str):
    import tinytorch as tt
    from tinytorch.compiler.ops import attention
    attention.FUSE_MIN_SCORE_BYTES = 0  # show the streaming op at every T (the default streams only large ones)
    return tt.disable_passes("attention") if mode == "naive" else tt.disable_passes()


def _realize(tensors):
    import tinytorch as tt
    tt.realize(*tensors)


def child(T: int, mode: str, phase: str) -> dict:
    """This fresh process: the planned arena and the measured RSS rise of one run."""
    import harness
    import tinytorch as tt
    from bench_step_memory import _sampled_peak
    harness.pin_threads()
    with _options(mode):
        tensors = _step(T, phase == "training")
        prog = tt.plan(*tensors)
        prog.runner  # noqa: B018  loads the native code now: the rise below is the run's memory, not the loader's
        planned = prog.memory_plan.peak_bytes
        _, rise = _sampled_peak(lambda: _realize(tensors))
    return {"planned_mb": planned / MB, "rss_mb": rise}


def _measured(T: int, mode: str, phase: str) -> dict:
    cmd = [sys.executable, __file__, "--child", str(T), mode, phase]
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(64 << 10))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def _times(T: int, phase: str, repeats: int) -> dict:
    """Median seconds per step, naive and fused alternating (each compiled by a warm-up step first)."""
    runs = {m: [] for m in MODES}
    for m in MODES:
        with _options(m):
            _realize(_step(T, phase == "training"))
    for _ in range(repeats):
        for m in MODES:
            with _options(m):
                t = time.perf_counter()
                _realize(_step(T, phase == "training"))
                runs[m].append(time.perf_counter() - t)
    return {m: statistics.median(r) for m, r in runs.items()}


def _plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib (pip install tinytorch[plots]); the table above has the numbers")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for phase, style in zip(PHASES, ("-", "--")):
        sel = [r for r in rows if r["phase"] == phase]
        Ts = [r["T"] for r in sel]
        for mode, color in zip(MODES, ("tab:red", "tab:blue")):
            axes[0].plot(Ts, [r[mode]["planned_mb"] for r in sel], style, color=color, marker="o",
                         label=f"{mode} {phase} (planned)")
            axes[1].plot(Ts, [r[mode]["s"] * 1e3 for r in sel], style, color=color, marker="o",
                         label=f"{mode} {phase}")
        axes[0].plot(Ts, [r["n2_mb"] for r in sel], ":", color="gray", label="one (H, T, T) matrix" if
                     phase == "inference" else None)
    for ax, label in zip(axes, ("memory (MB)", "time per step (ms)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("T")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    axes[0].set_title("attention memory: the N² term and where it goes")
    axes[1].set_title("attention time")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512, 1024, 2048, 4096])
    ap.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--plot", metavar="PATH")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="BLAS threads for the timed steps (default: the pinned 2); the naive form's batched "
                         "matmuls stall on a loaded machine with 2, the fused routine runs BLAS on 1 anyway")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1], args.child[2])))
        return
    import harness
    from tinytorch.runtime import config
    harness.pin_threads()
    if args.blas_threads:
        import threadpoolctl
        threadpoolctl.threadpool_limits(args.blas_threads)
    print(f"one attention layer: B=1 H={HEADS} D={DIM} causal float32, backend {config.get('TINYTORCH_BACKEND')}, "
          f"{harness.THREADS} threads (BLAS {args.blas_threads or harness.THREADS}); median of {args.repeats}, naive and fused alternating")
    head = ("T", "phase", "N² MB", "naive plan MB", "fused plan MB", "plan ratio", "naive RSS MB",
            "fused RSS MB", "naive ms", "fused ms", "time naive/fused")
    print("  ".join(head))
    rows = []
    for T in args.sizes:
        for phase in args.phases:
            row = {"T": T, "phase": phase, "n2_mb": HEADS * T * T * 4 / MB}
            for mode in MODES:
                row[mode] = _measured(T, mode, phase)
            for mode, s in _times(T, phase, args.repeats).items():
                row[mode]["s"] = s
            n, f = row["naive"], row["fused"]
            cells = (T, phase, f"{row['n2_mb']:.1f}", f"{n['planned_mb']:.1f}", f"{f['planned_mb']:.2f}",
                     f"{n['planned_mb'] / f['planned_mb']:.1f}x", f"{n['rss_mb']:.1f}", f"{f['rss_mb']:.1f}",
                     f"{n['s'] * 1e3:.1f}", f"{f['s'] * 1e3:.1f}", f"{n['s'] / f['s']:.2f}")
            print("  ".join(str(c).rjust(len(h)) for c, h in zip(cells, head)), flush=True)
            rows.append(row)
    if args.plot:
        _plot(rows, args.plot)


if __name__ == "__main__":
    main()
