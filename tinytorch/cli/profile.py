"""`tinytorch profile`: `python -m tinytorch.tools.profile` as a subcommand (its options and code, not a copy):
the kernels of a steady training step by time, FLOPs or bytes, optionally on this machine's roofline, and its
Chrome trace."""
from __future__ import annotations

import argparse

from tinytorch.tools import profile
from tinytorch.tools.models import MODELS

EPILOG = f"""examples:
  tinytorch profile                                     # LeNet-5, SGD with momentum, batch 64, 5 steps
  tinytorch profile --model mlp --sort flops --rows 10
  tinytorch profile --model lenet5 --roofline --trace lenet.json   # open in https://ui.perfetto.dev

models: {', '.join(MODELS)}"""


def add_parser(sub) -> None:
    p = sub.add_parser("profile", help="where a training step's time goes, kernel by kernel",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    profile.add_arguments(p)
    p.set_defaults(func=profile.run)
