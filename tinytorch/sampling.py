"""multinomial: indices drawn from the categories of each row of (unnormalized) probabilities.

The uniform draws are a `rand` node, whose seed is a small input buffer: drawing again, with another seed
or another Generator, runs the same cached Program (no compile). With replacement (or for one draw, whose law
is the same either way), each draw is the inverse CDF: u * total is compared with the running sums of the row (`cumsum`, a sequential scan, so a category of
probability 0 repeats the previous running sum exactly and can never be drawn) and the count of running sums
at or below it is the category. Without replacement, the Gumbel-top-k trick (Efraimidis-Spirakis): each
category gets the key E / p with E = -log(1 - u) exponential, and the num_samples smallest keys, in order,
are a sequential draw without replacement; a category of probability 0 gets the key NaN, which sorts after
every number, so it comes only once the others are used up (PyTorch returns them then too, in order).

Like PyTorch on the CPU, the probabilities are checked (NaN, inf, negative, a row summing to 0): that
realizes them at this call. The method is attached to Tensor here, not by a mixin, because the seed comes
from creation.py, which imports Tensor.
"""
from __future__ import annotations

import numpy as np

from . import compiler as C
from . import dtypes
from .creation import next_seed
from .elementwise import where
from .sorting import topk
from .scan import cumsum
from .tensor import Tensor
from .tensor_base import TensorBase, wrap


def _check(probs: TensorBase, num_samples: int, replacement: bool) -> None:
    """PyTorch's checks, with its messages, plus the shape."""
    where_ = f"multinomial: probabilities of shape {tuple(probs.shape)}"
    if probs.ndim not in (1, 2):
        raise ValueError(f"{where_}: prob_dist must be 1 or 2 dim (one row of categories, or a batch of rows)")
    if probs.dtype.kind != "f":
        raise TypeError(f"{where_}: multinomial only supports floating-point dtypes for input, got: "
                        f"{probs.dtype.name}; convert with .float()")
    if not isinstance(num_samples, (int, np.integer)) or isinstance(num_samples, bool) or num_samples <= 0:
        raise ValueError(f"{where_}: cannot sample n_sample <= 0 samples (num_samples={num_samples!r})")
    if not replacement and num_samples > probs.shape[-1]:
        raise ValueError(f"{where_}: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                         f"({num_samples} > {probs.shape[-1]}); pass replacement=True")
    p = probs.numpy()
    if not np.isfinite(p).all() or (p < 0).any():
        raise RuntimeError(f"{where_}: probability tensor contains either `inf`, `nan` or element < 0")
    if p.shape[-1] == 0 or (p.reshape(-1, p.shape[-1]).sum(-1) <= 0).any():
        raise RuntimeError(f"{where_}: invalid multinomial distribution (sum of probabilities <= 0)")


def multinomial(probs: TensorBase, num_samples: int, replacement: bool = False, *, generator=None) -> TensorBase:
    """int64 indices of shape (num_samples,) for 1-d probs, (rows, num_samples) for 2-d, each row drawn from
    its own categories in proportion to the row's values; `generator` a tinytorch.Generator."""
    _check(probs, num_samples, replacement)
    rows = probs.detach().to(dtypes.float64)
    rows = rows.reshape(1, -1) if probs.ndim == 1 else rows
    by_cdf = replacement or num_samples == 1  # one draw has the same law either way; the CDF is the cheaper
    shape = (rows.shape[0], num_samples if by_cdf else rows.shape[1])
    u = wrap(C.build("rand", next_seed(generator)._node, arg=(shape, dtypes.float64)))
    if by_cdf:
        cdf = cumsum(rows, -1)
        target = u * cdf[:, -1:]
        drawn = (cdf.unsqueeze(1) <= target.unsqueeze(2)).sum(-1)
    else:
        keys = where(rows > 0, -(1.0 - u).log() / rows, float("nan"))
        drawn = topk(keys, num_samples, largest=False).indices
    return drawn.reshape(num_samples) if probs.ndim == 1 else drawn


Tensor.multinomial = multinomial
