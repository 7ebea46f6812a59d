"""CIFAR-10 from any of its real formats: the official binary or python batches, or the shared .npz parts.

Searched in each data directory, in this order:
  cifar10_train_part1.npz + cifar10_train_part2.npz / cifar10_test.npz  (the shared folder)
  cifar-10-batches-bin/data_batch_{1..5}.bin / test_batch.bin           (official binary version)
  cifar-10-batches-py/data_batch_{1..5} / test_batch                    (official python version)
(the batch files may also sit directly in the directory). Images come back as
uint8 (N, 32, 32, 3), labels as uint8 (N,), as torchvision's `CIFAR10.data`.
The python batches are pickles: they are read with a restricted unpickler
(`safe_pickle`) that builds only plain data and arrays.
"""
from __future__ import annotations

import pickle

import numpy as np

from .checksums import verify_file
from .dataset import TensorDataset
from .download import download_url, extract_archive
from .paths import DatasetCorruptError, check_labels, find_or_fetch, read_npz
from .safe_pickle import UnsafePickleError, safe_load

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
HOW = ("pass download=True to fetch the official binary version (cifar-10-binary.tar.gz, 170 MB) from "
       "www.cs.toronto.edu/~kriz/cifar.html; or copy cifar10_train_part1.npz, cifar10_train_part2.npz and "
       "cifar10_test.npz (the shared datasets folder), or the official cifar-10-batches-bin/ or "
       "cifar-10-batches-py/ folder, into the directory")
_RECORD = 1 + 3 * 32 * 32


def _layouts(train: bool):
    batches = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    npz = ("cifar10_train_part1.npz", "cifar10_train_part2.npz") if train else ("cifar10_test.npz",)
    return [("npz", npz),
            ("bin", tuple(f"cifar-10-batches-bin/{b}.bin" for b in batches)),
            ("bin", tuple(f"{b}.bin" for b in batches)),
            ("py", tuple(f"cifar-10-batches-py/{b}" for b in batches)),
            ("py", tuple(batches))]


def _chw_rows_to_nhwc(rows: np.ndarray) -> np.ndarray:
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def read_cifar_bin(path):
    """One official binary batch: records of 1 label byte + 3072 pixel bytes (R, G, B planes, row-major)."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % _RECORD:
        raise DatasetCorruptError(f"{path}: {raw.size} bytes is not a whole number of {_RECORD}-byte CIFAR-10 "
                                  f"records (truncated?); {HOW}")
    rec = raw.reshape(-1, _RECORD)
    if rec[:, 0].max() > 9:
        raise DatasetCorruptError(f"{path}: label byte {int(rec[:, 0].max())} > 9, not a CIFAR-10 binary batch; {HOW}")
    return np.ascontiguousarray(_chw_rows_to_nhwc(rec[:, 1:])), rec[:, 0].copy()


def read_cifar_py(path):
    """One official python batch: a pickled dict with b'data' (N, 3072) uint8 and b'labels'."""
    try:
        d = safe_load(path)
    except UnsafePickleError:
        raise  # names the file and the refused global already
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, AttributeError,
            RecursionError, MemoryError) as e:  # what a garbage or truncated pickle raises
        raise DatasetCorruptError(f"{path}: not a readable python batch ({type(e).__name__}: {e}); {HOW}") from None
    if not isinstance(d, dict):
        raise DatasetCorruptError(f"{path}: expected a dict, found {type(d).__name__}; {HOW}")
    data = d.get(b"data", d.get("data"))
    labels = d.get(b"labels", d.get("labels"))
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072 or labels is None \
            or len(labels) != len(data):
        raise DatasetCorruptError(f"{path}: no (N, 3072) 'data' array with N 'labels'; not a CIFAR-10 python "
                                  f"batch; {HOW}")
    labels = check_labels(np.asarray(labels), 10, path, HOW)
    return np.ascontiguousarray(_chw_rows_to_nhwc(data.astype(np.uint8))), labels.astype(np.uint8)


def read_cifar_npz(path, train: bool):
    key = "train" if train else "test"
    x, y = read_npz(path, (f"x_{key}", f"y_{key}"), HOW)
    return x, check_labels(y, 10, path, HOW)


def load_cifar10(root=None, train: bool = True, download: bool = False, verify: str = "size"):
    """(images uint8 (N, 32, 32, 3), labels uint8 (N,)) for the training (50,000) or test (10,000) split."""
    layouts = _layouts(train)
    _, k, paths = find_or_fetch([paths for _, paths in layouts], root, "CIFAR-10", HOW, download,
                                lambda dest: extract_archive(download_url(URL, dest / "cifar-10-binary.tar.gz",
                                                                          SHA256), dest))
    kind = layouts[k][0]
    xs, ys = [], []
    for p in paths:
        if kind == "npz":
            verify_file(p, full=verify == "sha256", how=HOW)
            x, y = read_cifar_npz(p, train)
        elif kind == "bin":
            x, y = read_cifar_bin(p)
        else:
            x, y = read_cifar_py(p)
        xs.append(x)
        ys.append(y)
    x, y = np.concatenate(xs), np.concatenate(ys)
    if x.shape[1:] != (32, 32, 3) or x.dtype != np.uint8:
        raise DatasetCorruptError(f"{paths[0]}: images are {x.dtype} {x.shape}, expected uint8 (N, 32, 32, 3); {HOW}")
    return x, y.astype(np.uint8)


class CIFAR10(TensorDataset):
    """`ds[i] = (image uint8 (32, 32, 3), label)`; `.data`, `.targets`, `.classes` as in torchvision."""

    classes = CLASSES

    def __init__(self, root=None, train: bool = True, download: bool = False, verify: str = "size"):
        self.data, self.targets = load_cifar10(root, train, download, verify)
        super().__init__(self.data, self.targets)
