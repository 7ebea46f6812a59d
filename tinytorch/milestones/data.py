"""The milestones' data: where it is looked for, the standard transforms, loaders, and the small slices of --quick.

Root order: --data-dir, else $TINYTORCH_DATA, else the checkout's ../shared/datasets, else ~/.cache/tinytorch
(the readers' own fallback, where --download writes). A file found nowhere raises `MissingData`: the reader's
message (which file, where it looked) plus the three ways out.
"""
from __future__ import annotations

import pathlib

import numpy as np

from .. import data as D
from ..data import transforms as T
from ..runtime import config

SHARED = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
EVAL_BATCH = 1000
QUICK_STEPS = 4      # batches per epoch under --quick
QUICK_BATCH = 32     # the largest batch under --quick
QUICK_TEST = 64      # evaluation images under --quick
CIFAR_NOTE = "CIFAR-10 here is decoded from JPEG versions of the real images, test set sorted by class"


class MissingData(FileNotFoundError):
    """A dataset file is nowhere; the message says which, where it looked and how to get it."""


def data_root(explicit=None) -> pathlib.Path | None:
    if explicit:
        return pathlib.Path(explicit).expanduser()
    configured = config.get("TINYTORCH_DATA")
    if configured is not None:
        return pathlib.Path(configured)
    return SHARED if SHARED.is_dir() else None


def open_dataset(make):
    """`make()` (a dataset reader call) with DatasetNotFoundError turned into MissingData naming the ways out."""
    try:
        return make()
    except D.DatasetNotFoundError as e:
        raise MissingData(f"{e}\nWays out: add --download to fetch it, pass --data-dir DIR (a directory holding the "
                          f"file), or set TINYTORCH_DATA=DIR.") from None


def mnist_tf(pad: int = 0, flatten: bool = False):
    steps = [T.ToTensor(), T.Normalize(MNIST_MEAN, MNIST_STD)]
    if pad:
        steps.append(Pad(pad))
    if flatten:
        steps.append(T.Flatten())
    return T.Compose(steps)


def cifar_tf(flatten: bool = False, augment: tuple = ()):
    steps = [T.ToTensor(), *augment, T.Normalize(CIFAR_MEAN, CIFAR_STD)]
    if flatten:
        steps.append(T.Flatten())
    return T.Compose(steps)


class Pad:
    """Zero-pad the last two axes by `p` (LeNet-5 read MNIST's 28x28 digits centred in 32x32)."""

    def __init__(self, p: int):
        self.p = p

    def __call__(self, x):
        return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(self.p, self.p)] * 2)


def image_sets(settings):
    """(train, test) datasets of the named image set."""
    reader = {"mnist": D.MNIST, "cifar10": D.CIFAR10}[settings.dataset]
    return tuple(open_dataset(lambda train=train: reader(settings.root, train=train, download=settings.download))
                 for train in (True, False))


def loaders(train_ds, test_ds, settings, batch: int, train_tf, test_tf, quick_train: int | None = None):
    """The training loader (shuffled by the seed, whole batches) and the evaluation loader; --quick cuts both
    (batches of at most QUICK_BATCH, `quick_train` training items, default QUICK_STEPS batches)."""
    if settings.quick:
        batch = min(batch, QUICK_BATCH)
        train_ds = sample(train_ds, quick_train or batch * QUICK_STEPS, settings.seed)
        test_ds = sample(test_ds, QUICK_TEST, settings.seed + 1)
    train = D.DataLoader(train_ds, batch, shuffle=True, drop_last=True, transform=train_tf, seed=settings.seed)
    test = D.DataLoader(test_ds, EVAL_BATCH, transform=test_tf, seed=settings.seed)
    return train, test


def sample(ds, n: int, seed: int):
    """`n` items drawn without replacement (the CIFAR-10 test set is sorted by class: a head would be one class)."""
    if len(ds) <= n:
        return ds
    return D.Subset(ds, np.sort(np.random.default_rng(seed).choice(len(ds), n, replace=False)))
