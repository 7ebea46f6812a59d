"""`tinytorch COMMAND ...`: the argparse front of the subcommand modules, in the order `--help` lists them."""
from __future__ import annotations

import argparse
import sys

from . import bench, course, demo, doctor, explain, graph, memory, milestones, profile

COMMANDS = (demo, milestones, bench, explain, graph, memory, profile, doctor, course)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="tinytorch", description="TinyTorch: a deep-learning framework whose core is "
                                 "a graph compiler. Every command takes --help.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
