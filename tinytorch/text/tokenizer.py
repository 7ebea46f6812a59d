"""What every tokenizer shares: ids in and out as plain ints, checked once, and the array form of `encode`.

A tokenizer answers `encode(text) -> list[int]`, `decode(ids) -> str` and `vocab_size`; `encode_array` is
`encode` as an int64 NumPy array (what a dataset stores). `decode` takes a list, a NumPy array or a tinytorch
tensor of any shape (a model's sampled (1, T) tensor decodes as is) and refuses ids outside the vocabulary with
one message, instead of an IndexError deep in a lookup table.
"""
from __future__ import annotations

import numpy as np


class Tokenizer:
    vocab_size: int

    def encode(self, text: str) -> list:
        raise NotImplementedError(f"{type(self).__name__} must implement encode")

    def decode(self, ids) -> str:
        raise NotImplementedError(f"{type(self).__name__} must implement decode")

    def encode_array(self, text: str) -> np.ndarray:
        return np.asarray(self.encode(text), dtype=np.int64)


def as_ids(ids, vocab_size: int, who: str) -> list:
    """`ids` (list, array or tensor of integers, any shape) as a flat list of Python ints in [0, vocab_size)."""
    arr = ids.numpy() if hasattr(ids, "numpy") and not isinstance(ids, np.ndarray) else np.asarray(ids)
    if arr.size == 0:
        return []
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{who}: token ids must be integers, got an array of {arr.dtype} with shape {arr.shape}; "
                        "pass the ids the tokenizer's encode returned (or a model's sampled int64 tensor)")
    arr = arr.reshape(-1)
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= vocab_size:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{who}: token id {bad} is outside the vocabulary 0..{vocab_size - 1}; the ids come from "
                         "another tokenizer or a model with a different vocab_size")
    return arr.tolist()


def check_utf8(text, who: str) -> bytes:
    """`text` as UTF-8 bytes; a non-str or a lone surrogate (a str UTF-8 cannot hold) is one clear error."""
    if not isinstance(text, str):
        raise TypeError(f"{who}: expected a str, got {type(text).__name__}; decode bytes first "
                        "(data.decode('utf-8'))")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{who}: the text holds {text[e.start]!r} (a lone surrogate) at index {e.start}, which is "
                         "not valid Unicode and has no UTF-8 bytes; fix the text (e.g. read the file with "
                         "errors='replace')") from None
