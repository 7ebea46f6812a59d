"""CharTokenizer: one id per character of a corpus, the vocabulary sorted (nanoGPT's shakespeare_char).

The vocabulary is the sorted set of the corpus's characters, so the same corpus always gives the same ids.
A character outside it is an `UnknownCharacterError` naming the character, its code point and position, and
what to do. `save` writes a readable JSON file ({"type", "version", "chars"}); `load` checks it.
"""
from __future__ import annotations

import json
import pathlib

from .tokenizer import Tokenizer, as_ids

FORMAT = "tinytorch.CharTokenizer"
VERSION = 1


class UnknownCharacterError(ValueError):
    pass


class CharTokenizer(Tokenizer):
    def __init__(self, chars):
        chars = list(chars)
        if any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError("CharTokenizer: the vocabulary must be single characters")
        if chars != sorted(set(chars)):
            raise ValueError("CharTokenizer: the vocabulary must be sorted with no repeats; "
                             "use CharTokenizer.from_text(corpus)")
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.from_text: expected a str, got {type(text).__name__}")
        return cls(sorted(set(text)))

    @classmethod
    def from_file(cls, path, encoding: str = "utf-8") -> "CharTokenizer":
        return cls.from_text(pathlib.Path(path).read_text(encoding=encoding))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def __repr__(self):
        return f"CharTokenizer(vocab_size={self.vocab_size})"

    def encode(self, text: str) -> list:
        # BEGIN EXERCISE m18.char_encode
        stoi = self.stoi
        try:
            return [stoi[c] for c in text]
        except KeyError:
            pos = next(i for i, c in enumerate(text) if c not in stoi)
            c = text[pos]
            raise UnknownCharacterError(
                f"CharTokenizer.encode: character {c!r} (U+{ord(c):04X}) at position {pos} is not in the "
                f"vocabulary of {self.vocab_size} characters; build the tokenizer from text that contains it "
                "(CharTokenizer.from_text), or use ByteLevelBPE, which encodes any string") from None
        # END EXERCISE m18.char_encode

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in as_ids(ids, self.vocab_size, "CharTokenizer.decode"))

    def save(self, path) -> None:
        doc = {"type": FORMAT, "version": VERSION, "chars": self.chars}
        pathlib.Path(path).write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path) -> "CharTokenizer":
        try:
            doc = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise ValueError(f"CharTokenizer.load: {path} is not a JSON file ({type(e).__name__}: {e}); "
                             "write it with CharTokenizer.save") from None
        if not isinstance(doc, dict) or doc.get("type") != FORMAT or not isinstance(doc.get("chars"), list):
            raise ValueError(f"CharTokenizer.load: {path} is not a saved CharTokenizer (expected a JSON object with "
                             f"\"type\": \"{FORMAT}\" and a \"chars\" list); write it with CharTokenizer.save")
        if doc.get("version") != VERSION:
            raise ValueError(f"CharTokenizer.load: {path} has version {doc.get('version')!r}, this TinyTorch reads "
                             f"version {VERSION}")
        return cls(doc["chars"])
