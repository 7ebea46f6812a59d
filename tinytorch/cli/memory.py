"""`tinytorch memory ...`: `python -m tinytorch.tools.memory` as a subcommand (its options and code, not a copy):
what optimizers keep, gradient accumulation against one big batch, and the memory report of a training step."""
from __future__ import annotations

import argparse

from tinytorch.tools import memory
from tinytorch.tools.models import MODELS, OPTIMIZERS

EPILOG = f"""examples:
  tinytorch memory optimizers --model mlp          # bytes SGD / momentum / Adam / AdamW keep after a step
  tinytorch memory accumulate --batch 256 --steps 4   # 4 micro-batches of 64 against one batch of 256
  tinytorch memory report --model lenet5 --batch 64   # parameters, gradients, state, activations per layer

models: {', '.join(MODELS)}; optimizers: {', '.join(OPTIMIZERS)}. Each command takes --help."""


def add_parser(sub) -> None:
    p = sub.add_parser("memory", help="optimizer state, gradient accumulation, a step's memory report",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    memory.add_arguments(p)
    p.set_defaults(func=memory.run)
