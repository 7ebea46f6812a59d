"""A named model's training step (the models of `tinytorch/tools/models.py`), built lazily for `tinytorch
explain` and `tinytorch graph`: forward, loss, backward and the optimizer's update on a random batch."""
from __future__ import annotations

from tinytorch.tools.models import MODELS, OPTIMIZERS, batch, build
from tinytorch.tools.step_graph import training_step

DEFAULT_BATCH = 64


def add_arguments(p) -> None:
    p.add_argument("--optimizer", default="adam", choices=list(OPTIMIZERS), help="the update (default adam)")
    p.add_argument("--batch", type=int, default=DEFAULT_BATCH, help=f"batch size (default {DEFAULT_BATCH})")


def model_names() -> str:
    return ", ".join(MODELS)


def build_step(model: str, optimizer: str, batch_size: int) -> list:
    """[loss, *assigns] of one step of `model`, not run (realize it when done looking: `tinytorch.realize`)."""
    m, opt = build(model, optimizer)
    return training_step(m, opt, *batch(model, batch_size))
