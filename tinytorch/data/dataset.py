"""Datasets: the indexable things a DataLoader batches.

A `Dataset` answers `len()` and `ds[i]`. Batching one sample at a time is slow
in Python, so a dataset may also answer `ds.__getitems__(indices)` with the
whole batch at once (as PyTorch's map-style datasets may); array-backed
datasets do that with one fancy-indexing call per array.
"""
from __future__ import annotations

import numpy as np


class Dataset:
    """Map-style dataset: override `__getitem__` and `__len__`."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __getitems__(self, indices):
        """A batch: a tuple of stacked arrays (one per field), or one stacked array."""
        samples = [self[int(i)] for i in indices]
        if isinstance(samples[0], tuple):
            return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(samples[0])))
        return np.stack([np.asarray(s) for s in samples])


def _as_array(a) -> np.ndarray:
    if hasattr(a, "numpy") and not isinstance(a, np.ndarray):
        return a.numpy()
    return np.asarray(a)


class TensorDataset(Dataset):
    """Samples are rows of equally long arrays (NumPy arrays or tinytorch tensors): `ds[i] = (a[i], b[i], ...)`."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(_as_array(a) for a in arrays)
        n = len(self.arrays[0])
        for k, a in enumerate(self.arrays):
            if len(a) != n:
                raise ValueError(f"TensorDataset: array {k} has {len(a)} rows, array 0 has {n}; "
                                 "every array needs one row per sample")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def __getitems__(self, indices):
        idx = np.asarray(indices)
        return tuple(a[idx] for a in self.arrays)


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices):
        return self.dataset.__getitems__(self.indices[np.asarray(indices)])


def random_split(dataset, lengths, seed: int = 0):
    """Split into non-overlapping Subsets of the given lengths (or fractions summing to 1), reproducibly."""
    n = len(dataset)
    if all(isinstance(x, float) for x in lengths):
        sizes = [int(np.floor(n * f)) for f in lengths]
        sizes[0] += n - sum(sizes)
    else:
        sizes = [int(x) for x in lengths]
    if sum(sizes) != n:
        raise ValueError(f"random_split: lengths {list(lengths)} sum to {sum(sizes)}, the dataset has {n} samples")
    perm = np.random.default_rng(seed).permutation(n)
    out, start = [], 0
    for s in sizes:
        out.append(Subset(dataset, perm[start:start + s]))
        start += s
    return out
