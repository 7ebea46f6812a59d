"""Gradient checkpointing on a deep MLP or a GPT: planned arena peak, measured peak RSS and step time, per strategy.

    OPENBLAS_NUM_THREADS=2 TINYTORCH_NUM_THREADS=2 python3 benchmarks/bench_checkpoint.py
    python3 benchmarks/bench_checkpoint.py --backend numpy --layers 8 --width 256 --batch 64 --quick
    python3 benchmarks/bench_checkpoint.py --model gpt     # issue 11's GPT: 4 layers, 4 heads, 128 wide, T 128, B 32

The model: `--layers` Linear+ReLU layers of `--width` (16 x 1024 by default), a Linear head of 10, batch
`--batch` (256), MSE loss, SGD: forward, backward and update are one Program per step. Configurations: no
checkpointing, Chen et al.'s sqrt(N) segments (`memory_budget(None, "sqrt")`), and the min-cut
(`memory_budget(b)`) at budgets given as fractions of the no-checkpointing planned peak (`--budgets`).

Each configuration runs in a fresh process (so one's freed pages do not hide another's; glibc's mmap
threshold is fixed at 64 KiB so RSS follows the arrays): it builds the model, runs two warm-up steps
(compile, arena), then `--steps` timed steps while a thread samples RSS with psutil. Columns: the planned arena
peak (the memory plan: every temporary of the step, activations and the transient weight gradients), the
bytes of forward values the backward keeps (the checkpoint pass's Decision; without checkpointing, every
forward value the backward reads), the peak RSS above the RSS after import (weights, gradients, arena and
everything else; Linux's high-water mark through `memory_report.RssSampler`), the median step time, the
step's FLOPs (the Program's kernels, recomputations included) against no checkpointing, and the first step's
time (compile). The rounds alternate the
configurations and the table quotes the median over rounds. Timings on a shared machine are noisy. Prints a
table; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

MB = 1 << 20


def _child(args) -> dict:
    from harness import pin_threads
    pin_threads()
    import tinytorch as tt
    from tinytorch import nn, optim
    from tinytorch.compiler import realizer
    from tinytorch.memory_report import RssSampler

    with RssSampler() as rss:
        out = _steps(args, tt, nn, optim)
    prog = realizer.cached_programs()[-1]
    dec = prog.checkpoint
    return dict(out, config=args.child, planned=prog.memory_plan.peak_bytes, rss=rss.peak - rss.before,
                kept=sum(_nbytes(i) for i in dec.kept) if dec else 0, plan_verified=prog.memory_plan.verify(),
                flops=prog.flops)


def _steps(args, tt, nn, optim) -> dict:
    """Build the model and run the warm-up and timed steps: {"step_s": median, "first_s": the first step}."""
    tt.set_backend(args.backend)
    tt.manual_seed(0)
    if args.model == "gpt":  # --layers/--width/--batch are the GPT's n_layer, n_embd and batch; context 128
        model = nn.GPT(vocab_size=65, block_size=128, n_layer=args.layers, n_head=4, n_embd=args.width)
        opt = optim.AdamW(model.parameters(), lr=1e-3)
        gen = np.random.default_rng(0)
        x, y = (tt.tensor(gen.integers(0, 65, (args.batch, 128)), dtype=tt.int64) for _ in range(2))
        loss_of = lambda: model(x, y)[1]  # noqa: E731
    else:
        layers = [m for _ in range(args.layers) for m in (nn.Linear(args.width, args.width), nn.ReLU())]
        model = nn.Sequential(*layers, nn.Linear(args.width, 10))
        opt = optim.SGD(model.parameters(), lr=1e-3)
        x, y = tt.randn(args.batch, args.width).realize(), tt.randn(args.batch, 10).realize()
        loss_of = lambda: ((model(x) - y) ** 2).mean()  # noqa: E731
    config = args.child
    if config == "none":  # a budget nothing exceeds: the pass keeps every value, so the Program is the plain one
        budget, strategy = 1 << 60, "mincut"
    elif config == "sqrt":
        budget, strategy = None, "sqrt"
    else:
        budget, strategy = int(config.split("=")[1]), "mincut"

    def step():
        with tt.memory_budget(budget, strategy):
            loss = loss_of()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return loss
    times = []
    t_compile = time.perf_counter()
    step()
    t_compile = time.perf_counter() - t_compile
    step()
    for _ in range(args.steps):
        t = time.perf_counter()
        step().item()
        times.append(time.perf_counter() - t)
    return {"step_s": statistics.median(times), "first_s": t_compile}


def _nbytes(info) -> int:
    n = info.dtype.itemsize
    for d in info.shape:
        n *= d
    return n


def _run(config, args) -> dict:
    from harness import run_child
    out = run_child(__file__, ["--child", config, "--model", args.model, "--backend", args.backend, "--layers",
                               args.layers, "--width", args.width, "--batch", args.batch, "--steps", args.steps])
    return dict(out, config=config) if "error" in out else out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default="llvm", choices=["numpy", "llvm"])
    ap.add_argument("--model", default="mlp", choices=["mlp", "gpt"])
    ap.add_argument("--layers", type=int, default=None, help="default 16 (mlp), 4 (gpt)")
    ap.add_argument("--width", type=int, default=None, help="default 1024 (mlp), 128 (gpt)")
    ap.add_argument("--batch", type=int, default=None, help="default 256 (mlp), 32 (gpt)")
    ap.add_argument("--steps", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--budgets", nargs="*", default=["0.65", "sqrt"],
                    help="min-cut budgets: fractions of the planned peak without checkpointing, or 'sqrt' for "
                         "the planned peak sqrt(N) reaches (the two compared at equal memory)")
    ap.add_argument("--quick", action="store_true", help="3 steps, 1 round")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    for k, mlp, gpt in (("layers", 16, 4), ("width", 1024, 128), ("batch", 256, 32)):
        if getattr(args, k) is None:
            setattr(args, k, gpt if args.model == "gpt" else mlp)
    if args.quick:
        args.steps, args.rounds = 3, 1
    if args.child:
        print(json.dumps(_child(args)))
        return
    first = _run("none", args)
    if "error" in first:
        print("no checkpointing failed:", first["error"])
        return
    sqrt = _run("sqrt", args)
    budgets = [sqrt.get("planned", 0) if b == "sqrt" else int(first["planned"] * float(b)) for b in args.budgets]
    configs = ["none", "sqrt"] + [f"mincut={b}" for b in budgets]
    runs = {c: [] for c in configs}
    runs["none"].append(first)
    runs["sqrt"].append(sqrt)
    for r in range(args.rounds):
        for c in (configs if r % 2 == 0 else configs[::-1]):
            if r == 0 and c in ("none", "sqrt"):
                continue
            runs[c].append(_run(c, args))
    what = (f"GPT {args.layers} layers x {args.width} wide, 4 heads, context 128, batch {args.batch}, AdamW"
            if args.model == "gpt" else f"deep MLP {args.layers} x {args.width}, batch {args.batch}, SGD")
    print(f"{what}, backend {args.backend}, 2 threads; "
          f"medians of {args.steps} steps x {args.rounds} rounds (a shared machine: noisy)")
    head = (f"{'config':<22} {'planned MB':>10} {'x smaller':>9} {'kept MB':>8} {'RSS peak MB':>11} "
            f"{'step ms':>8} {'x time':>7} {'x FLOPs':>7} {'compile s':>9}")
    print(head)
    print("-" * len(head))
    ref = None
    for c in configs:
        ok = [r for r in runs[c] if "error" not in r]
        if not ok:
            print(f"{c:<22} error: {runs[c][-1]['error']}")
            continue
        med = {k: statistics.median(r[k] for r in ok) for k in ("planned", "kept", "rss", "step_s", "first_s",
                                                                 "flops")}
        ref = ref or med
        name = c if "=" not in c else f"mincut {int(c.split('=')[1]) / MB:.1f} MB"
        print(f"{name:<22} {med['planned'] / MB:>10.1f} {ref['planned'] / med['planned']:>9.2f} "
              f"{med['kept'] / MB:>8.1f} {med['rss'] / MB:>11.1f} {med['step_s'] * 1e3:>8.1f} "
              f"{med['step_s'] / ref['step_s']:>7.2f} {med['flops'] / ref['flops']:>7.2f} "
              f"{med['first_s']:>9.2f}")


if __name__ == "__main__":
    main()
