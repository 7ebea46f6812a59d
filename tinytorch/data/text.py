"""A character-level dataset from any text file (e.g. tinyshakespeare.txt): vocab, encode/decode, windows.

The vocabulary is the sorted set of characters of the whole file; sample i is
(x, y) = (ids[i : i+block_size], ids[i+1 : i+block_size+1]), the next-character
targets a language model trains on. `split="train"/"val"` keeps the first
(1 - val_fraction) of the text or the rest, with the vocabulary of the whole.
"""
from __future__ import annotations

import pathlib

import numpy as np

from .dataset import Dataset
from .paths import find_file


class CharDataset(Dataset):
    def __init__(self, source=None, block_size: int = 64, root=None, text: str | None = None,
                 split: str | None = None, val_fraction: float = 0.1):
        if text is None:
            if source is None:
                raise ValueError("CharDataset: give a file (path or name in the data directory) or text=")
            path = pathlib.Path(source).expanduser()
            if not path.is_file():
                _, _, (path,) = find_file([(str(source),)], root, f"text file {source}",
                                          f"put {source} in the directory, or pass a path to an existing file")
            text = path.read_text(encoding="utf-8")
        if not text:
            raise ValueError("CharDataset: the text is empty")
        codepoints = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        uniq, ids = np.unique(codepoints, return_inverse=True)
        self.chars = [chr(c) for c in uniq]
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.itos = dict(enumerate(self.chars))
        ids = ids.astype(np.int64).reshape(-1)
        if split is not None:
            if split not in ("train", "val"):
                raise ValueError(f"CharDataset: split must be 'train', 'val' or None, got {split!r}")
            cut = int(len(ids) * (1 - val_fraction))
            ids = ids[:cut] if split == "train" else ids[cut:]
        if len(ids) <= block_size:
            raise ValueError(f"CharDataset: {len(ids)} characters is too short for block_size {block_size}")
        self.data = ids
        self.block_size = int(block_size)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, s: str) -> np.ndarray:
        try:
            return np.array([self.stoi[c] for c in s], dtype=np.int64)
        except KeyError as e:
            raise KeyError(f"CharDataset.encode: character {e.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        return "".join(self.itos[int(i)] for i in np.asarray(ids).reshape(-1))

    def __len__(self):
        return len(self.data) - self.block_size

    def __getitem__(self, i):
        i = int(i)
        if not -len(self) <= i < len(self):
            raise IndexError(f"CharDataset index {i} out of range for {len(self)} windows")
        i %= len(self)
        chunk = self.data[i:i + self.block_size + 1]
        return chunk[:-1], chunk[1:]

    def __getitems__(self, indices):
        w = self.data[np.asarray(indices)[:, None] + np.arange(self.block_size + 1)]
        return w[:, :-1], w[:, 1:]
