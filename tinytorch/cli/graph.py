"""`tinytorch graph MODEL`: write the picture of a model's training-step graph (forward, loss, backward and the
optimizer's update), before or after the passes, with `tinytorch.viz`: DOT text always, rendered to SVG or PNG
when a dot renderer is found (system Graphviz, or the graphviz-pure wheel)."""
from __future__ import annotations

import argparse
import pathlib

import tinytorch as tt
from tinytorch import viz
from tinytorch.tools.models import MODELS

from . import model_step

FORMATS = ("svg", "png", "dot")

EPILOG = f"""examples:
  tinytorch graph mlp                               # mlp-step.svg (and mlp-step.dot) here
  tinytorch graph lenet5 --out /tmp/lenet.png --batch 8
  tinytorch graph mlp2 --stage before --format dot  # the graph as built, before fusion

models: {model_step.model_names()}
After the passes each kernel is a cluster; nodes are coloured forward (blue), backward (orange), update (green)."""


def add_parser(sub) -> None:
    p = sub.add_parser("graph", help="write the picture of a model's training-step graph",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL", choices=list(MODELS), help=f"one of: {model_step.model_names()}")
    p.add_argument("--out", default=None, metavar="PATH", help="the picture (default MODEL-step.FORMAT)")
    p.add_argument("--format", choices=FORMATS, default=None, help="default: --out's suffix, else svg")
    p.add_argument("--stage", choices=("before", "after"), default="after", help="the passes (default after)")
    model_step.add_arguments(p)
    p.add_argument("--backend", choices=("numpy", "llvm"), default=None, help="default: TINYTORCH_BACKEND")
    p.set_defaults(func=run)


def target_path(model: str, out, fmt) -> pathlib.Path:
    """The path to write: --out with --format's suffix; a suffix that names another format is an error."""
    path = pathlib.Path(out or f"{model}-step")
    given = path.suffix[1:]
    if given in FORMATS:
        if fmt and fmt != given:
            raise SystemExit(f"tinytorch graph: --out {out} says {given} but --format says {fmt}; drop one")
        return path
    return path.with_name(path.name + "." + (fmt or "svg"))


def run(args) -> int:
    if args.backend:
        tt.set_backend(args.backend)
    path = target_path(args.model, args.out, args.format)
    path.parent.mkdir(parents=True, exist_ok=True)
    step = model_step.build_step(args.model, args.optimizer, args.batch)
    written = viz.draw(step, path, stage=args.stage)
    tt.realize(*step)
    print(f"{args.model} training step ({args.optimizer}, batch {args.batch}), {args.stage} the passes:")
    for f in written:
        print(f"  wrote {f}")
    if path not in written:
        print(f"  no dot renderer found, so {path.suffix[1:]} was not rendered: install Graphviz or "
              f"`pip install graphviz-pure`, or render the .dot yourself: dot -T{path.suffix[1:]} {written[0]}")
    return 0
