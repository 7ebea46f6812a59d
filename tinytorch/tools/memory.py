"""The seed's memory questions as commands with figures.

    python -m tinytorch.tools.memory optimizers --model mlp        # what SGD / momentum / Adam / AdamW keep
    python -m tinytorch.tools.memory accumulate --batch 256 --steps 4   # accumulation against one big batch
    python -m tinytorch.tools.memory report --model lenet5 --batch 64   # the memory report of one step

Each command is a function returning rows (dicts) and a printer; `main` is the thin argparse layer. The
optimizer figures are counted from each optimizer's own state tensors after a real step, not from a formula.
`accumulate` runs each configuration in a fresh Python process (`--inline` runs them here, for tests), so its
peak RSS (memory_report.RssSampler while the steps run, above the process before the model was built) belongs
to that configuration alone; glibc is told to give every array above 64 KiB its own mapping there, so RSS
rises and falls with the arrays.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time

import psutil

import tinytorch as tt
from tinytorch.memory_report import MB, RssSampler, memory_report, nbytes, state_tensors
from tinytorch.tools.models import MODELS, OPTIMIZERS, batch, build, split, train_step

# glibc serves big arrays from mmap only up to a threshold that grows as they are freed; above it, a freed array
# stays in the heap and the next one reuses it unseen. Fixed low in the measuring process, RSS follows arrays.
MMAP_THRESHOLD = 1 << 16


def optimizer_rows(model: str = "mlp", batch_size: int = 8, optimizers=tuple(OPTIMIZERS)) -> list:
    """Per optimizer, after one step of `model`: parameter, gradient and state bytes, the state split into
    per-element tensors (moments) and scalars (step counters), and multiples of the parameter bytes."""
    rows = []
    for name in optimizers:
        m, opt = build(model, name)
        train_step(m, opt, [batch(model, batch_size)])
        params = sum(nbytes(p) for p in m.parameters())
        grads = sum(nbytes(p.grad) for p in m.parameters() if p.grad is not None)
        state = state_tensors(opt)
        moments = sum(nbytes(t) for _, _, t in state if t.ndim > 0)
        scalars = sum(nbytes(t) for _, _, t in state if t.ndim == 0)
        rows.append({"optimizer": name, "params": params, "grads": grads, "state_tensors": len(state),
                     "moments": moments, "scalars": scalars, "state": moments + scalars,
                     "weights_and_state_x": (params + moments + scalars) / params,
                     "training_x": (params + grads + moments + scalars) / params})
    return rows


def print_optimizers(rows, model: str) -> None:
    print(f"optimizer state after one step of {model!r} (bytes; x = multiple of the parameter bytes)")
    print(f"{'optimizer':<10} {'params':>12} {'grads':>12} {'moments':>12} {'counters':>9} {'tensors':>8} "
          f"{'params+state':>13} {'+grads':>7}")
    for r in rows:
        print(f"{r['optimizer']:<10} {r['params']:>12} {r['grads']:>12} {r['moments']:>12} {r['scalars']:>9} "
              f"{r['state_tensors']:>8} {r['weights_and_state_x']:>12.2f}x {r['training_x']:>6.2f}x")


def measure_config(model: str, optimizer: str, batch_size: int, micro: int, repeats: int) -> dict:
    """One configuration in this process: the planned bytes of its step (memory_report), the peak RSS while
    `repeats` steps run above the RSS before the model was built, and the median step time. A throwaway model
    compiles the step first and the Program cache is then emptied, so the baseline already holds what
    compiling leaves behind; the Programs are made again (native code from the disk cache) and counted."""
    m, opt = build(model, optimizer)
    batches = split(*batch(model, batch_size), micro)
    for _ in range(3):
        train_step(m, opt, batches)
    del m, opt, batches
    tt.clear_cache()
    gc.collect()
    baseline = psutil.Process().memory_info().rss
    m, opt = build(model, optimizer)
    batches = split(*batch(model, batch_size), micro)
    rep = memory_report(lambda: train_step(m, opt, batches), m, opt, baseline_rss=baseline)
    times = []
    with RssSampler() as rss:
        for _ in range(repeats):
            t = time.perf_counter()
            train_step(m, opt, batches).numpy()
            times.append(time.perf_counter() - t)
    return {"batch": batch_size, "micro_batches": micro, "micro_batch": batch_size // micro,
            "planned": rep.planned, "arena": rep.arena, "activations": rep.activations,
            "programs": rep.programs, "other_programs": rep.other_programs,
            "rss_peak": max(rss.peak, rep.rss_peak) - baseline,
            "step_ms": statistics.median(times) * 1e3}


def accumulate_rows(model: str = "mlp", batch_size: int = 256, steps: int = 4, optimizer: str = "adam",
                    repeats: int = 10, inline: bool = False) -> list:
    """Gradient accumulation against one larger batch at the same effective batch: one step of `batch_size`,
    and one step of `steps` accumulated micro-batches of batch_size // steps."""
    if steps < 1 or batch_size % steps:
        raise SystemExit(f"accumulate: --batch {batch_size} must split into --steps {steps} equal micro-batches")
    rows = []
    for micro in (1, steps):
        if inline:
            rows.append(measure_config(model, optimizer, batch_size, micro, repeats))
            continue
        cmd = [sys.executable, "-m", "tinytorch.tools.memory", "_one", "--model", model, "--optimizer", optimizer,
               "--batch", str(batch_size), "--steps", str(micro), "--repeats", str(repeats),
               "--backend", tt.get_backend()]
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(MMAP_THRESHOLD))
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def print_accumulate(rows, model: str, optimizer: str) -> None:
    print(f"{model!r} with {optimizer}, effective batch {rows[0]['batch']}: one batch against accumulation "
          f"(MB; planned = parameters, gradients, state, inputs, outputs and arenas; measured = peak RSS above the "
          f"process before the model was built)")
    print(f"{'configuration':<22} {'programs':>8} {'arena':>9} {'activations':>11} {'planned':>9} "
          f"{'+other progs':>12} {'measured':>9} {'step ms':>8}")
    for r in rows:
        what = "one batch" if r["micro_batches"] == 1 else f"{r['micro_batches']} x {r['micro_batch']} accumulated"
        print(f"{what:<22} {r['programs']:>8} {r['arena'] / MB:>9.2f} {r['activations'] / MB:>11.2f} "
              f"{r['planned'] / MB:>9.2f} {r['other_programs'] / MB:>12.2f} {r['rss_peak'] / MB:>9.2f} "
              f"{r['step_ms']:>8.2f}")


def add_arguments(ap: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The commands and options on `ap` (this module's `main`, and `tinytorch memory`)."""
    sub = ap.add_subparsers(dest="what", required=True, metavar="{optimizers,accumulate,report}")
    o = sub.add_parser("optimizers", help="optimizer state of SGD / momentum / Adam / AdamW")
    o.add_argument("--model", default="mlp", choices=list(MODELS))
    a = sub.add_parser("accumulate", help="gradient accumulation against one larger batch")
    r = sub.add_parser("report", help="the memory report of one training step")
    one = sub.add_parser("_one")  # one accumulate configuration, run by `accumulate` in a fresh process
    for p in (a, r, one):
        p.add_argument("--model", default="mlp", choices=list(MODELS))
        p.add_argument("--optimizer", default="adam", choices=list(OPTIMIZERS))
        p.add_argument("--batch", type=int, default=256 if p is not r else 64)
        p.add_argument("--backend", default=None, help="numpy or llvm (default: TINYTORCH_BACKEND)")
    for p in (a, one):
        p.add_argument("--steps", type=int, default=4, help="micro-batches the batch is split into")
        p.add_argument("--repeats", type=int, default=10)
    a.add_argument("--inline", action="store_true", help="measure in this process, not a fresh one each")
    return ap


def run(args) -> int:
    """Carry out the command `add_arguments` parsed."""
    if getattr(args, "backend", None):
        tt.set_backend(args.backend)
    if args.what == "optimizers":
        print_optimizers(optimizer_rows(args.model), args.model)
    elif args.what == "accumulate":
        print_accumulate(accumulate_rows(args.model, args.batch, args.steps, args.optimizer, args.repeats,
                                         args.inline), args.model, args.optimizer)
    elif args.what == "_one":
        print(json.dumps(measure_config(args.model, args.optimizer, args.batch, args.steps, args.repeats)))
    else:
        m, opt = build(args.model, args.optimizer)
        batches = [batch(args.model, args.batch)]
        print(memory_report(lambda: train_step(m, opt, batches), m, opt))
    return 0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tinytorch.tools.memory", description=__doc__.split("\n")[0])
    run(add_arguments(ap).parse_args(argv))


if __name__ == "__main__":
    main()
