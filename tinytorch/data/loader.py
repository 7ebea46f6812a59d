"""DataLoader: batches of a Dataset, shuffled reproducibly, transformed in NumPy, handed over as tensors.

Shuffling: each epoch's order is a permutation drawn from
`np.random.default_rng((seed, epoch))`, so a run with the same seed sees the
same batches, and a resumed run (`set_epoch`) sees the batches it would have
seen. Pass `generator=` (a NumPy Generator) to draw from your own stream
instead. Without a seed, one is drawn from tinytorch's generator, so
`tinytorch.manual_seed` makes the loader reproducible too.

Batches are marked dynamic (`tinytorch.mark_dynamic`, `dynamic=False` to opt out): a training step compiled
for full batches also serves the last partial one, without compiling again.
"""
from __future__ import annotations

import math

import numpy as np

from ..creation import RNG, SEED_HIGH
from ..dynamic import mark_dynamic
from ..tensor import Tensor


class DataLoader:
    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 transform=None, target_transform=None, seed: int | None = None, generator=None,
                 to_tensor: bool = True, dynamic: bool = True):
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.transform = transform
        self.target_transform = target_transform
        self.generator = generator
        if seed is None and generator is None:
            seed = int(RNG.gen.integers(0, SEED_HIGH))
        self.seed = seed
        self.to_tensor = to_tensor
        self.dynamic = dynamic  # mark each batch's leading dim dynamic: one compile serves a partial last batch
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """The next iteration uses epoch `epoch`'s order (resume a run where it stopped)."""
        self.epoch = int(epoch)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self, epoch: int) -> np.ndarray:
        # BEGIN EXERCISE m08.order
        # STUB: return np.arange(len(self.dataset))  # never shuffles: every epoch sees the data in file order
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = self.generator if self.generator is not None else np.random.default_rng((self.seed, epoch))
        return rng.permutation(n)
        # END EXERCISE m08.order

    def __iter__(self):
        # BEGIN EXERCISE m08.batches
        order = self._order(self.epoch)
        self.epoch += 1
        stop = len(self) * self.batch_size
        for start in range(0, min(stop, len(order)), self.batch_size):
            yield self._batch(order[start:start + self.batch_size])
        # END EXERCISE m08.batches

    def _batch(self, idx):
        fields = self.dataset.__getitems__(idx)
        single = not isinstance(fields, tuple)
        fields = [fields] if single else list(fields)
        if self.transform is not None:
            fields[0] = self.transform(fields[0])
        if self.target_transform is not None and len(fields) > 1:
            fields[1] = self.target_transform(fields[1])
        fields = [_settle_dtype(np.asarray(f), k) for k, f in enumerate(fields)]
        if self.to_tensor:
            fields = [Tensor(f, dtype=f.dtype) for f in fields]
            if self.dynamic:
                fields = [mark_dynamic(t) if t.ndim else t for t in fields]
        return fields[0] if single else tuple(fields)


def _settle_dtype(a: np.ndarray, position: int) -> np.ndarray:
    """float64 -> float32 (the default float); integer targets -> int64 (what cross_entropy indexes with)."""
    if a.dtype == np.float64:
        return a.astype(np.float32)
    if position > 0 and a.dtype.kind in "iu" and a.dtype != np.int64:
        return a.astype(np.int64)
    return a
