"""Language-modelling data: a token stream split into train/validation, random batches, and windows.

`TextDataset` reads a text (a file, a known corpus name or `text=`), encodes it once with a tokenizer (a
`CharTokenizer` of the text unless one is given) and splits the token stream: the first `split` fraction is
`train`, the rest `val` (deterministic, as nanoGPT does, so no window of one split reads a token of the other).
`get_batch(split, batch_size, block_size)` draws nanoGPT's random windows: (x, y) int64 tensors of shape
(B, T), y the tokens that follow x by one. The draws come from `generator=` (a NumPy Generator or a
`tinytorch.Generator`), or `seed=`, else tinytorch's global stream, so `tinytorch.manual_seed` reproduces a run.

`LMDataset` is one split as a map-style `tinytorch.data.Dataset` for the DataLoader: sample i is
(ids[i : i+T], ids[i+1 : i+T+1]); `ds.train` and `ds.val` are those of the two splits.
"""
from __future__ import annotations

import numpy as np

from ..creation import RNG
from ..data.dataset import Dataset
from ..tensor import Tensor
from .char import CharTokenizer
from .corpus import load_text

SPLITS = ("train", "val")


class LMDataset(Dataset):
    def __init__(self, ids, block_size: int, name: str = "LMDataset"):
        self.ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        self.block_size = int(block_size)
        self.name = name
        if self.block_size < 1:
            raise ValueError(f"{name}: block_size must be >= 1, got {block_size}")
        if len(self.ids) <= self.block_size:
            raise ValueError(f"{name}: {len(self.ids)} tokens hold no window of block_size {self.block_size} plus "
                             "the next token; use a smaller block_size, a longer text or a larger split")

    def __len__(self):
        return len(self.ids) - self.block_size

    def __getitem__(self, i):
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"{self.name}: index {i} out of range for {n} windows")
        chunk = self.ids[i % n:i % n + self.block_size + 1]
        return chunk[:-1], chunk[1:]

    def __getitems__(self, indices):
        starts = np.asarray(indices, dtype=np.int64).reshape(-1, 1)
        windows = self.ids[starts + np.arange(self.block_size + 1)]
        return windows[:, :-1], windows[:, 1:]


def _generator(generator, seed) -> np.random.Generator:
    if generator is not None and seed is not None:
        raise ValueError("get_batch: pass generator= or seed=, not both")
    if seed is not None:
        return np.random.default_rng(seed)
    if generator is None:
        return RNG.gen
    return getattr(generator, "gen", generator)  # a tinytorch.Generator holds a NumPy one


class TextDataset:
    def __init__(self, source=None, tokenizer=None, *, text: str | None = None, split: float = 0.9,
                 block_size: int = 64, root=None, download: bool = False):
        if (source is None) == (text is None):
            raise ValueError("TextDataset: give a file (a path, or a corpus name such as 'tinyshakespeare') "
                             "or text=, exactly one")
        if text is None:
            text = load_text(source, root, download)
        if not 0.0 < float(split) < 1.0:
            raise ValueError(f"TextDataset: split is the train fraction, strictly between 0 and 1; got {split}")
        self.tokenizer = tokenizer if tokenizer is not None else CharTokenizer.from_text(text)
        self.ids = self.tokenizer.encode_array(text)
        cut = int(len(self.ids) * float(split))
        self.splits = {"train": self.ids[:cut], "val": self.ids[cut:]}
        self.block_size = int(block_size)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def _split(self, split: str) -> np.ndarray:
        if split not in SPLITS:
            raise ValueError(f"TextDataset: split must be 'train' or 'val', got {split!r}")
        return self.splits[split]

    def windows(self, split: str, block_size: int | None = None) -> LMDataset:
        """Split `split` as a Dataset of (context, next tokens) windows, for a DataLoader."""
        return LMDataset(self._split(split), self.block_size if block_size is None else block_size,
                         f"TextDataset {split!r} split")

    @property
    def train(self) -> LMDataset:
        return self.windows("train")

    @property
    def val(self) -> LMDataset:
        return self.windows("val")

    def get_batch(self, split: str, batch_size: int, block_size: int | None = None, generator=None,
                  seed: int | None = None) -> tuple:
        """(x, y): `batch_size` windows at random starts of split `split`, int64 tensors of shape (B, T)."""
        data = self.windows(split, block_size)
        if int(batch_size) < 1:
            raise ValueError(f"TextDataset.get_batch: batch_size must be >= 1, got {batch_size}")
        starts = _generator(generator, seed).integers(0, len(data), size=int(batch_size))
        x, y = data.__getitems__(starts)
        return Tensor(x, dtype=x.dtype), Tensor(y, dtype=y.dtype)
