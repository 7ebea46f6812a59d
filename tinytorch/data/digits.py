"""The 8x8 handwritten digits (UCI, 1,797 images, pixels 0..16): the dataset that needs no download.

Read from sklearn_digits.npz in a data directory; otherwise from
scikit-learn's `load_digits()`, which ships the real UCI file in every wheel
(scikit-learn is imported only here, only then). There is no official split:
`train=True/False` takes a fixed, seeded 80/20 split, `train=None` everything.
"""
from __future__ import annotations

import numpy as np

from .checksums import verify_file
from .dataset import TensorDataset
from .paths import DatasetCorruptError, DatasetNotFoundError, check_labels, find_file, read_npz

HOW = "copy sklearn_digits.npz (the shared datasets folder) into the directory, or `pip install scikit-learn`"


def load_digits(root=None, verify: str = "size"):
    """(images uint8 (1797, 8, 8) with values 0..16, labels uint8 (1797,))."""
    try:
        _, _, (path,) = find_file([("sklearn_digits.npz",)], root, "digits", HOW)
    except DatasetNotFoundError as missing:
        try:
            from sklearn.datasets import load_digits as sk_load
        except ImportError:
            raise DatasetNotFoundError(f"{missing}\n(scikit-learn is not installed either, so its copy of the "
                                       "digits could not be used)") from None
        d = sk_load()
        return d.images.astype(np.uint8), d.target.astype(np.uint8)
    verify_file(path, full=verify == "sha256", how=HOW)
    x, y = read_npz(path, ("x", "y"), HOW)
    if x.shape[1:] != (8, 8) or len(x) != len(y):
        raise DatasetCorruptError(f"{path}: images {x.shape}, labels {y.shape}; expected (N, 8, 8) and (N,); {HOW}")
    check_labels(y, 10, path, HOW)
    return x.astype(np.uint8), y.astype(np.uint8)


class Digits(TensorDataset):
    """`ds[i] = (image uint8 (8, 8), label)`; `train` picks the fixed 80% / 20% split (seed `split_seed`)."""

    classes = tuple(str(d) for d in range(10))

    def __init__(self, root=None, train: bool | None = None, test_fraction: float = 0.2, split_seed: int = 0,
                 verify: str = "size"):
        x, y = load_digits(root, verify)
        if train is not None:
            perm = np.random.default_rng(split_seed).permutation(len(x))
            n_test = int(round(len(x) * test_fraction))
            keep = np.sort(perm[n_test:] if train else perm[:n_test])
            x, y = x[keep], y[keep]
        self.data, self.targets = x, y
        super().__init__(x, y)
