"""Gradient checkpointing, the user's side: a memory budget for the compiler, and regions to recompute.

The work is the compiler's checkpoint pass (compiler/passes/checkpoint.py):
it duplicates the forward ops whose values the backward reads, so the
originals die in the forward. Here the user asks for it:

- `with tinytorch.memory_budget(nbytes):` around a step (its realize, or
  `tinytorch.plan`): the pass keeps what it can and recomputes the rest so
  the planned arena peak is at most `nbytes`, or raises `BudgetTooSmall`
  naming the smallest peak it reaches. `nbytes=None` applies the strategy
  without a budget (`"sqrt"`: Chen et al.'s segments; `"mincut"`: recompute
  only what is cheap against the bytes it frees).
- `tinytorch.checkpoint(fn, *args)`: as `torch.utils.checkpoint`, the values
  built inside `fn` are recomputed in the backward instead of kept.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools

from . import compiler as C
from .compiler.passes.checkpoint import STRATEGIES, BudgetTooSmall, Policy
from .compiler.program import CONFIG
from .compiler.realizer import MARKED
from .tensor_base import TensorBase


@contextlib.contextmanager
def memory_budget(nbytes: "int | None" = None, strategy: str = "mincut"):
    """Compile the Programs realized inside the block so their planned arena peak fits `nbytes`."""
    before = CONFIG.options
    CONFIG.options = dataclasses.replace(before, remat=Policy(None if nbytes is None else int(nbytes), strategy))
    try:
        yield
    finally:
        CONFIG.options = before


def with_budget(fn, nbytes: "int | None", strategy: str = "mincut"):
    """`fn` run inside `memory_budget(nbytes, strategy)` (what `Trainer` and `tinytorch.compile` wrap)."""
    Policy(None if nbytes is None else int(nbytes), strategy)  # a bad budget or strategy fails here

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with memory_budget(nbytes, strategy):
            return fn(*args, **kwargs)
    return run


def checkpoint(fn, *args, use_reentrant=None, preserve_rng_state=True, **kwargs):
    """`fn(*args, **kwargs)`, with every value built inside it, short of its outputs, recomputed in the
    backward rather than kept (the torch.utils.checkpoint keywords are accepted; a `rand` inside, dropout's
    mask, is kept, never drawn again, so the gradients are those of the forward that ran)."""
    out = fn(*args, **kwargs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    given = {id(a._node) for a in list(args) + list(kwargs.values()) if isinstance(a, TensorBase)}
    nodes = [o._node for o in outs if isinstance(o, TensorBase)]
    kept = given | {id(n) for n in nodes}  # as torch: the region's inputs and outputs are what the next one reads
    for n in C.ir.toposort(nodes, stop=lambda n: id(n) in given or C.is_computed(n)):
        if id(n) not in kept and not C.is_computed(n):
            MARKED.add(n)
    return out


__all__ = ["memory_budget", "with_budget", "checkpoint", "BudgetTooSmall", "STRATEGIES"]
