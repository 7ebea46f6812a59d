"""`tinytorch bench [WORKLOAD...] [--quick] [--backends ...]`: the benchmark table, `benchmarks/run.py` of the
repository run in this process with the arguments passed through unchanged. The benchmarks are not part of the
installed package: this needs a checkout (`pip install -e .` of a clone)."""
from __future__ import annotations

import argparse
import runpy

from tinytorch.tools.checkout import REPO, in_repo

RUN = ("benchmarks", "run.py")

EPILOG = """examples:
  tinytorch bench --quick                         # every workload at small sizes: a smoke run
  tinytorch bench gelu softmax --repeats 9
  tinytorch bench mlp --backends eager,compiled-llvm,torch
  tinytorch bench --plans --markdown              # kernels, memory plans and pass counts of model steps

Every argument goes to benchmarks/run.py; its own options: tinytorch bench --options."""


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="the benchmark table: eager against compiled against PyTorch",
                       usage="tinytorch bench [WORKLOAD ...] [--quick] [--backends B,...] [--repeats N] ...",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--options", action="store_true", help="show benchmarks/run.py's workloads and options")
    p.set_defaults(func=run, passthrough=True)


def run_script():
    """benchmarks/run.py's `main`, or a SystemExit saying how to get it."""
    path = in_repo(*RUN)
    if path is None:
        raise SystemExit(f"tinytorch bench: {'/'.join(RUN)} is not here ({REPO / RUN[0]} does not exist): the "
                         "benchmarks live in the repository, not in the installed package. Clone the TinyTorch "
                         "repository, `python3 -m pip install -e \".[test]\"` in it, and run tinytorch bench there "
                         "(or python3 benchmarks/run.py)")
    return runpy.run_path(str(path), run_name="tinytorch_bench")["main"]


def run(args) -> int:
    main = run_script()
    main(["--help"] if args.options else args.extra)
    return 0
