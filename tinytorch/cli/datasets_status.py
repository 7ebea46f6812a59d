"""Which datasets are where: for `tinytorch doctor`, each dataset the project reads, the first data directory
holding one complete layout of its files (training and test), and how to get it where it is missing.

The directories are those the loaders search (`tinytorch/data/paths.py`: `$TINYTORCH_DATA`, then
`~/.cache/tinytorch`), or the one --data-dir names, and after them the repository's `../shared/datasets`
folder, which the examples and `tinytorch demo` use when `TINYTORCH_DATA` is unset."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from tinytorch.data import cifar10, digits, mnist
from tinytorch.data.paths import DatasetNotFoundError, data_root, find_file
from tinytorch.text.corpus import CORPORA
from tinytorch.tools.checkout import shared_datasets

WAYS_OUT = ("add --download where the command takes it, pass --data-dir DIR (a folder that has the files), or set "
            "TINYTORCH_DATA=DIR")


@dataclass(frozen=True)
class Known:
    name: str
    layouts: list  # tuples of relative paths; one complete tuple is the dataset
    how: str


def _both_splits(module) -> list:
    return [tuple(dict.fromkeys(train + test)) for (_, train), (_, test) in zip(module._layouts(True),
                                                                                 module._layouts(False))]


def known() -> list:
    shakespeare = CORPORA["tinyshakespeare"]
    return [Known("digits (8x8 UCI)", [("sklearn_digits.npz",)], digits.HOW),
            Known("MNIST", _both_splits(mnist), mnist.HOW),
            Known("CIFAR-10", _both_splits(cifar10), cifar10.HOW),
            Known("Tiny Shakespeare", [(shakespeare.file,)],
                  f"download=True fetches {shakespeare.file} ({shakespeare.size:,} bytes) from {shakespeare.url}")]


def directories(root=None) -> list:
    """The directories to report on, in the order they are searched."""
    dirs = data_root(root)
    shared = shared_datasets()
    if root is None and shared is not None and shared not in dirs:
        dirs.append(shared)
    return dirs


def locate(dataset: Known, dirs) -> tuple:
    """(directory, files) of the first complete layout found, or (None, None)."""
    for d in dirs:
        try:
            found, _, files = find_file(dataset.layouts, d, dataset.name, dataset.how)
            return found, files
        except DatasetNotFoundError:
            continue
    return None, None


def rows(root=None) -> list:
    """[(dataset name, where it is or 'missing', how to get it or '')] for each known dataset."""
    dirs = directories(root)
    out = []
    for dataset in known():
        where, files = locate(dataset, dirs)
        if where is not None:
            out.append((dataset.name, f"{where} ({', '.join(f.name for f in files)})", ""))
        elif dataset.name.startswith("digits") and importlib.util.find_spec("sklearn") is not None:
            out.append((dataset.name, "scikit-learn's copy (installed)", ""))
        else:
            out.append((dataset.name, "missing", f"{dataset.how}; {WAYS_OUT}"))
    return out
