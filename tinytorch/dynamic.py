"""`mark_dynamic(x)`: the leading dim of a data tensor is the batch size, so one compile serves every size.

A realized tensor is a Buffer leaf; marking it tells the compiler (compiler/symbolic.py) that the graphs
reading it belong to one family over the batch size N: a Program compiled at batch 128 then serves the last
partial batch of an epoch and batch-1 inference without compiling again. `DataLoader` marks the batches it
yields. Only the leading dim can be dynamic, as with `torch._dynamo.mark_dynamic(x, 0)`.
"""
from __future__ import annotations

from . import compiler as C
from . import lazy


def mark_dynamic(x, dim: int = 0):
    """Mark `x`'s leading dim as the batch size (realizing it if it is lazy); returns `x`."""
    if dim != 0:
        raise ValueError(f"mark_dynamic: only dim 0 (the batch) can be dynamic, got dim={dim} for a tensor of "
                         f"shape {tuple(x.shape)}; move the batch to the front first")
    if not x.shape:
        raise ValueError("mark_dynamic: a 0-d tensor has no batch dim; mark the batched tensor instead")
    if not C.is_computed(x._node):
        lazy.realize(x)
    C.symbolic.mark_dynamic(C.buffer_of(x._node))
    return x
