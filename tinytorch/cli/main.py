"""`tinytorch COMMAND ...`: the argparse front of the subcommand modules, in the order `--help` lists them.

A command that passes its arguments on (`bench` to benchmarks/run.py, `explain` to a script) sets `passthrough`;
it receives the arguments it does not declare as `args.extra`. Any other command refuses them, as argparse does.
A dataset found nowhere ends the command with the loader's message (the file, every directory searched) and the
command line's ways out, not a traceback."""
from __future__ import annotations

import argparse
import sys

from tinytorch.data.paths import DatasetNotFoundError

from . import bench, course, demo, doctor, explain, graph, memory, milestones, profile
from .datasets_status import WAYS_OUT

COMMANDS = (demo, milestones, bench, explain, graph, memory, profile, doctor, course)

EPILOG = """start with:
  tinytorch demo        train an MLP compiled on the bundled digits, then see the graph, kernels and times
  tinytorch doctor      what this machine has: NumPy's BLAS, LLVM, CPU features, renderer, caches, datasets"""


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="tinytorch", description="TinyTorch: a deep-learning framework whose core is "
                                 "a graph compiler. Every command takes --help.", epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return ap


def main(argv=None) -> int:
    ap = build_parser()
    args, extra = ap.parse_known_args(argv)
    if extra and not getattr(args, "passthrough", False):
        ap.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return args.func(args) or 0
    except DatasetNotFoundError as missing:
        print(f"tinytorch {args.command}: {missing}\nFrom the command line: {WAYS_OUT}; `tinytorch doctor` lists "
              f"which datasets are found where.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
