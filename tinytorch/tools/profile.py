"""Where a training step's time goes, as a command.

    python -m tinytorch.tools.profile --model lenet5 --batch 64 --steps 5 --trace lenet.json --roofline

`profile_step` returns the `tinytorch.profile()` of `steps` steady training steps (after warm-up steps that
compile); `main` prints its table (and, with --roofline, the kernels on this machine's roofline) and writes
the Chrome trace.
"""
from __future__ import annotations

import argparse

import tinytorch as tt
from tinytorch.profiler import SORT_KEYS
from tinytorch.tools.models import MODELS, OPTIMIZERS, batch, build, train_step

WARMUP = 3  # an optimizer's first steps build graphs of their own; then every step reruns one Program


def profile_step(model: str = "lenet5", optimizer: str = "momentum", batch_size: int = 64, steps: int = 5):
    m, opt = build(model, optimizer)
    batches = [batch(model, batch_size)]
    for _ in range(WARMUP):
        train_step(m, opt, batches).numpy()
    with tt.profile() as prof:
        for _ in range(steps):
            train_step(m, opt, batches).numpy()
    return prof


def add_arguments(ap: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options on `ap` (this module's `main`, and `tinytorch profile`)."""
    ap.add_argument("--model", default="lenet5", choices=list(MODELS))
    ap.add_argument("--optimizer", default="momentum", choices=list(OPTIMIZERS))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--sort", default="time", choices=list(SORT_KEYS))
    ap.add_argument("--rows", type=int, default=20)
    ap.add_argument("--trace", default=None, help="write the Chrome trace (Perfetto, chrome://tracing) here")
    ap.add_argument("--roofline", action="store_true", help="place the kernels on this machine's roofline")
    ap.add_argument("--backend", default=None, help="numpy or llvm (default: TINYTORCH_BACKEND)")
    return ap


def run(args) -> int:
    """Profile as `add_arguments`'s options say; print the table (and roofline), write the trace."""
    if args.backend:
        tt.set_backend(args.backend)
    prof = profile_step(args.model, args.optimizer, args.batch, args.steps)
    print(f"{args.model}, {args.optimizer}, batch {args.batch}, {args.steps} steps on {tt.get_backend()}:")
    print(prof.table(sort_by=args.sort, row_limit=args.rows))
    if args.roofline:
        print(tt.roofline().table(prof, row_limit=args.rows))
    if args.trace:
        prof.export_chrome_trace(args.trace)
        print(f"trace: {args.trace} ({len(prof.runs)} kernel runs)")
    return 0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tinytorch.tools.profile", description=__doc__.split("\n")[0])
    run(add_arguments(ap).parse_args(argv))


if __name__ == "__main__":
    main()
