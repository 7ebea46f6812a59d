"""MNIST from its official IDX files (plain or gzip) or from mnist.npz.

Searched in each data directory: mnist.npz, then train-images-idx3-ubyte /
train-labels-idx1-ubyte (and t10k-*) with or without .gz, directly in the
directory or under MNIST/raw/ (torchvision's layout) or mnist/. Images come
back as uint8 (N, 28, 28), labels as uint8 (N,).
"""
from __future__ import annotations

import gzip

import numpy as np

from .checksums import verify_file
from .dataset import TensorDataset
from .download import download_url
from .paths import DatasetCorruptError, check_labels, find_or_fetch, read_npz

URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
HOW = ("pass download=True to fetch mnist.npz (11 MB) from storage.googleapis.com; or copy mnist.npz (the shared "
       "datasets folder) or the four official IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
       "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into the directory")
_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path) -> np.ndarray:
    """An IDX file (LeCun's format): 2 zero bytes, a type code, the number of dims, big-endian int32 dims, data."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DatasetCorruptError(f"{path}: broken gzip data ({e}); {HOW}") from e
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_TYPES:
        raise DatasetCorruptError(f"{path}: not an IDX file (magic {raw[:4].hex()}); {HOW}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">i4"))
    dtype = _IDX_TYPES[raw[2]]
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise DatasetCorruptError(f"{path}: {len(raw)} bytes for dims {dims} of {dtype.name}, expected {expected} "
                                  f"(truncated?); {HOW}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _layouts(train: bool):
    stem = "train" if train else "t10k"
    out = [("npz", ("mnist.npz",))]
    for sub in ("", "MNIST/raw/", "mnist/"):
        for gz in ("", ".gz"):
            out.append(("idx", (f"{sub}{stem}-images-idx3-ubyte{gz}", f"{sub}{stem}-labels-idx1-ubyte{gz}")))
    return out


def load_mnist(root=None, train: bool = True, download: bool = False, verify: str = "size"):
    """(images uint8 (N, 28, 28), labels uint8 (N,)) for the training (60,000) or test (10,000) split."""
    layouts = _layouts(train)
    _, k, paths = find_or_fetch([p for _, p in layouts], root, "MNIST", HOW, download,
                                lambda dest: download_url(URL, dest / "mnist.npz", SHA256))
    key = "train" if train else "test"
    if layouts[k][0] == "npz":
        verify_file(paths[0], full=verify == "sha256", how=HOW)
        x, y = read_npz(paths[0], (f"x_{key}", f"y_{key}"), HOW)
        labels_path = paths[0]
    else:
        x, y = read_idx(paths[0]), read_idx(paths[1])
        labels_path = paths[1]
    if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
        raise DatasetCorruptError(f"{paths[0]}: images {x.shape} and labels {y.shape} are not (N, 28, 28) and (N,); "
                                  f"{HOW}")
    check_labels(y, 10, labels_path, HOW)
    return x.astype(np.uint8, copy=False), y.astype(np.uint8, copy=False)


class MNIST(TensorDataset):
    """`ds[i] = (image uint8 (28, 28), label)`; `.data`, `.targets`, `.classes` as in torchvision."""

    classes = tuple(str(d) for d in range(10))

    def __init__(self, root=None, train: bool = True, download: bool = False, verify: str = "size"):
        self.data, self.targets = load_mnist(root, train, download, verify)
        super().__init__(self.data, self.targets)
