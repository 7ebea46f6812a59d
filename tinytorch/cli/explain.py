"""`tinytorch explain SCRIPT_OR_MODEL`: what the compiler makes of a training step.

A model name (`tinytorch/tools/models.py`): build one training step of it on a random batch (forward, loss,
backward, the optimizer's update: one Program), print `tinytorch.explain` of it (the IR before and after the
passes, each kernel with the ops fused into it, the memory plan) and the pass/kernel summary, then run it.
A path to a Python script: run it (as `python SCRIPT ARGS...` would, in this process) with `TINYTORCH_DEBUG`
set to --level, so every compile prints its IR before and after the passes and every realize a line (on
stderr), then print the compiler's counters (`tinytorch.stats()`)."""
from __future__ import annotations

import argparse
import os
import pathlib
import runpy
import sys

import tinytorch as tt
from tinytorch.tools.models import MODELS
from tinytorch.tools.step_graph import summary

from . import model_step

DEBUG_LEVEL = 3  # TINYTORCH_DEBUG: a line per realize, and the IR before and after the passes on each compile

EPILOG = f"""examples:
  tinytorch explain mlp                       # one Adam step of the 784-256-256-10 MLP, batch 64
  tinytorch explain lenet5 --optimizer momentum --batch 8
  tinytorch explain examples/quickstart.py    # run a script, showing every compile's IR (stderr)
  tinytorch explain examples/train_mlp.py --level 1 --epochs 1   # other arguments go to the script

models: {model_step.model_names()}
--level is TINYTORCH_DEBUG: 1 a line per realize; 2 and each kernel's time; 3 and the IR before and
after the passes; 4 and the generated code."""


def add_parser(sub) -> None:
    p = sub.add_parser("explain", help="the IR, passes, kernels and memory plan of a model's step or a script",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="SCRIPT_OR_MODEL", help=f"a .py file, or one of: {model_step.model_names()}")
    p.add_argument("script_args", nargs="*", metavar="ARG", help="arguments for the script (options this command "
                   "does not take go to the script too; after -- all do)")
    model_step.add_arguments(p)
    p.add_argument("--level", type=int, default=DEBUG_LEVEL, help=f"TINYTORCH_DEBUG for a script "
                   f"(default {DEBUG_LEVEL})")
    p.add_argument("--backend", choices=("numpy", "llvm"), default=None, help="default: TINYTORCH_BACKEND")
    p.set_defaults(func=run, passthrough=True)


def run(args) -> int:
    if args.backend:
        tt.set_backend(args.backend)
    script_args = [*args.script_args, *args.extra]
    if "--" in script_args:  # argparse hands the separator on with what follows it
        script_args.remove("--")
    if args.target in MODELS:
        if script_args:
            raise SystemExit(f"tinytorch explain: {args.target!r} is a model; it takes no arguments "
                             f"{' '.join(script_args)}")
        return explain_model(args.target, args.optimizer, args.batch)
    path = pathlib.Path(args.target)
    if path.suffix == ".py" or path.is_file():
        if not path.is_file():
            raise SystemExit(f"tinytorch explain: no script {path} (looked in {path.resolve().parent})")
        return explain_script(path, script_args, args.level)
    raise SystemExit(f"tinytorch explain: {args.target!r} is neither a model nor a .py file; models: "
                     f"{model_step.model_names()}")


def explain_model(model: str, optimizer: str, batch_size: int) -> int:
    step = model_step.build_step(model, optimizer, batch_size)
    prog = tt.plan(*step)
    print(f"one training step of {model!r} ({optimizer}, batch {batch_size}) on the {prog.options.backend} "
          f"backend\n")
    print(tt.explain(*step))
    print("\nsummary:")
    for line in summary(prog):
        print("  " + line)
    tt.realize(*step)
    return 0


def explain_script(path: pathlib.Path, script_args: list, level: int) -> int:
    saved_argv, saved_level = sys.argv, os.environ.get("TINYTORCH_DEBUG")
    sys.argv = [str(path), *script_args]
    os.environ["TINYTORCH_DEBUG"] = str(level)
    tt.reset_stats()
    status = 0
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as done:  # the script's own exit: report its status after the counters
        status = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if not isinstance(done.code, (int, type(None))):
            print(done.code, file=sys.stderr)
    finally:
        sys.argv = saved_argv
        if saved_level is None:
            os.environ.pop("TINYTORCH_DEBUG", None)
        else:
            os.environ["TINYTORCH_DEBUG"] = saved_level
    s = tt.stats()
    print(f"\n{path}: {s['realizes']} realizes, {s['compiles']} compiles, {s['cache_hits']} cache hits, "
          f"compile {s['compile_s']:.3f}s, run {s['run_s']:.3f}s (TINYTORCH_DEBUG={level}: its lines are on stderr)")
    return status
