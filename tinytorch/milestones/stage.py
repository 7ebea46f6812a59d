"""What a milestone hands the runner: `Settings` (what the user asked for) in, `Stage`s (what to train) out.

A milestone is one or more stages trained in order (the perceptron: separable points, then digits 0 vs 1; XOR:
the single layer that fails, then the two layers that solve it). Each stage is a model, its optimizer (and
scheduler, stepped once per batch), a training loader and the set its figure is measured on.
"""
from __future__ import annotations

import dataclasses
import pathlib


@dataclasses.dataclass(frozen=True)
class Settings:
    dataset: str                  # one of the milestone's datasets
    root: pathlib.Path | None     # data directory (None: TINYTORCH_DATA, then ~/.cache/tinytorch)
    download: bool = False
    quick: bool = False           # a few steps on a small slice (tests)
    epochs: int = 1
    seed: int = 0


@dataclasses.dataclass
class Stage:
    name: str
    model: object
    optimizer: object
    train: object                 # DataLoader of (x, y)
    test: object                  # DataLoader the figure is measured on
    loss_fn: object = None        # None: cross entropy
    scheduler: object = None      # stepped after every batch
    augment: tuple = ()           # random transforms whose generators the checkpoint keeps
    compile: bool = True          # capture the step (tinytorch.compile)
