"""The hyperparameter checks the optimizers share: one clear message naming the optimizer and the value."""
from __future__ import annotations


def non_negative(owner: str, **values) -> None:
    for name, v in values.items():
        if not v >= 0:
            raise ValueError(f"{owner}: {name} must be >= 0, got {v}")


def betas_in_range(owner: str, betas) -> tuple:
    betas = tuple(betas)
    if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"{owner}: betas must be two numbers in [0, 1), got {betas}")
    return betas
