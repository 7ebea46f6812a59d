"""Where dataset files are looked for, and the errors that say what is missing and how to get it.

Order: the `root` argument if given; otherwise `$TINYTORCH_DATA`, then
`~/.cache/tinytorch`. A file that is found nowhere raises
`DatasetNotFoundError` listing every path tried and how to obtain the file.
"""
from __future__ import annotations

import os
import pathlib
import zipfile
import zlib

import numpy as np

from ..runtime import config


class DatasetNotFoundError(FileNotFoundError):
    pass


class DatasetCorruptError(OSError):
    pass


def read_npz(path, keys, how: str) -> tuple:
    """The arrays `keys` of the .npz at `path`, read without pickles.

    Whatever makes the file unreadable (not a zip, a plain .npy, a truncated or corrupt member, a missing
    key, an object array) is one DatasetCorruptError naming the file and how to get a good copy; never
    NumPy's own error, whose advice to pass allow_pickle=True would run code from the file."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
        if magic == b"\x93NUMPY":
            raise DatasetCorruptError(f"{path}: a single .npy array, not an .npz archive; {how}")
        if not magic.startswith(b"PK"):  # else NumPy would try it as a pickle and talk about allow_pickle
            raise DatasetCorruptError(f"{path}: not a readable .npz archive (starts with bytes {magic.hex()}, "
                                      f"not a zip); {how}")
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise DatasetCorruptError(f"{path}: has arrays {sorted(f.files)}, expected {', '.join(keys)}; {how}")
            return tuple(f[k] for k in keys)
    except DatasetCorruptError:
        raise
    except ValueError as e:
        what = "holds pickled (object) arrays, which are never loaded" if "pickle" in str(e) else f"unreadable ({e})"
        raise DatasetCorruptError(f"{path}: {what}; {how}") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as e:
        raise DatasetCorruptError(f"{path}: not a readable .npz archive ({type(e).__name__}: {e}); {how}") from None


def check_labels(labels: np.ndarray, num_classes: int, path, how: str) -> np.ndarray:
    """`labels` as given when they are integers in [0, num_classes); otherwise a DatasetCorruptError naming the
    file: a label of 200 would index past the model's classes (or be cast to uint8 and wrap) much later."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu" or labels.ndim != 1:
        raise DatasetCorruptError(f"{path}: labels are {labels.dtype} {labels.shape}, expected integers (N,); {how}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = int(labels.min()) if labels.min() < 0 else int(labels.max())
        raise DatasetCorruptError(f"{path}: label {bad} is outside 0..{num_classes - 1}; the file is corrupt or not "
                                  f"this dataset; {how}")
    return labels


def cache_dir() -> pathlib.Path:
    return pathlib.Path(os.path.expanduser("~")) / ".cache" / "tinytorch"


def data_root(root=None) -> list:
    """The directories searched, in order."""
    if root is not None:
        return [pathlib.Path(root).expanduser()]
    configured = config.get("TINYTORCH_DATA")
    return [configured, cache_dir()] if configured is not None else [cache_dir()]


def download_dir(root=None) -> pathlib.Path:
    """Where `download=True` writes: the first directory of the search order."""
    return data_root(root)[0]


def find_or_fetch(layouts, root, dataset: str, how: str, download: bool, fetch):
    """`find_file`, and when nothing is there and `download` is set, `fetch(download_dir(root))` then look again."""
    try:
        return find_file(layouts, root, dataset, how)
    except DatasetNotFoundError:
        if not download:
            raise
        fetch(download_dir(root))
        return find_file(layouts, root, dataset, how)


def find_file(layouts, root=None, dataset: str = "dataset", how: str = ""):
    """The first layout whose files all exist, searching each directory in order.

    `layouts` is a list of tuples of relative paths; returns (directory, layout index, [paths]).
    """
    dirs = data_root(root)
    for d in dirs:
        for k, layout in enumerate(layouts):
            paths = [d / rel for rel in layout]
            if all(p.is_file() for p in paths):
                return d, k, paths
    raise DatasetNotFoundError(missing_message(dataset, dirs, layouts, root, how))


def missing_message(dataset, dirs, layouts, root, how) -> str:
    where = "the root you passed" if root is not None else "$TINYTORCH_DATA, then ~/.cache/tinytorch"
    looked = "\n  ".join(" + ".join(layout) for layout in layouts)
    return (f"{dataset}: not found in {', '.join(map(str, dirs))} (searched {where}). "
            f"Looked in each for one of:\n  {looked}\n"
            f"To get it: {how or 'place the file in one of these directories'}; "
            "or pass root=DIR, or set TINYTORCH_DATA=DIR.")
