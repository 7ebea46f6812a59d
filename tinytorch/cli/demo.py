"""`tinytorch demo`: the main job on data that ships with scikit-learn (no download): train an MLP compiled on
the 8x8 UCI digits, draw the graph of the training step the compiler made, print its kernels and memory plan,
and time that step eager against compiled."""
from __future__ import annotations

import argparse
import pathlib

import tinytorch as tt
from tinytorch import viz
from tinytorch.tools import train_mlp

from . import step_timing

EPILOG = """examples:
  tinytorch demo                          # 10 epochs on the llvm backend (native code), pictures in ./tinytorch-demo
  tinytorch demo --backend numpy --epochs 3 --out /tmp/demo
  python3 examples/train_mlp.py --help    # the same job with every option (MNIST, CIFAR-10, eager, ...)

Writes DIR/step.dot and, when a dot renderer is found (system Graphviz, or the graphviz-pure wheel),
DIR/step.svg: the training step after the passes, each kernel a cluster, coloured forward / backward / update;
and DIR/memory-plan.svg: the arena buffers over the kernel steps."""


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="train an MLP compiled on the bundled digits; show the graph, kernels, times",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=("numpy", "llvm"), default=None,
                   help="where compiled Programs run (default: TINYTORCH_BACKEND, else llvm)")
    p.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    p.add_argument("--out", default="tinytorch-demo", metavar="DIR", help="where the pictures go")
    p.add_argument("--steps", type=int, default=20, help="timed steps per mode (default 20)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def draw_step(step, out: pathlib.Path) -> pathlib.Path:
    """Draw the step after the passes; returns the picture, or its DOT text when no renderer is found."""
    written = viz.draw(step, out / "step.svg", stage="after")
    return written[-1]


def run(args) -> int:
    if args.backend:
        tt.set_backend(args.backend)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    job_args = train_mlp.parse(["--epochs", str(args.epochs)] + (["--no-progress"] if args.no_progress else []))
    job = train_mlp.train(job_args)
    train_mlp.print_stats()
    pictures = []
    prog = train_mlp.explain_step(job, draw=lambda step: pictures.append(draw_step(step, out)))
    picture = pictures[0]
    if picture.suffix == ".dot":
        print(f"\ngraph of the step: {picture} (DOT text: no dot renderer found; install Graphviz or "
              f"`pip install graphviz-pure` for SVG)")
    else:
        print(f"\ngraph of the step: {picture} (each kernel a cluster; DOT text beside it)")
    print(f"memory plan: {viz.draw_memory_plan(prog, out / 'memory-plan.svg')}")
    x, y = next(iter(job.train))
    print(f"\none training step, batch {x.shape[0]}, median of {args.steps} (backend {tt.get_backend()}):")
    for line in step_timing.table(step_timing.step_times(job.model, job.optimizer, x, y, args.steps)):
        print("  " + line)
    return 0
