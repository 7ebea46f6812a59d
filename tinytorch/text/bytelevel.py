"""GPT-2's byte-level view of text: the pre-tokenizer that cuts text into words, and the byte <-> symbol map.

`split_words` cuts a string the way GPT-2's regex does: English contractions ('s 't 're 've 'm 'll 'd), a run
of letters, of digits, or of other non-space characters, each with at most one leading space, and runs of
whitespace (the last space of a run before a word stays with the word). GPT-2 writes \\p{L} and \\p{N}, which
Python's `re` lacks: here a letter is a word character that is neither a decimal digit nor '_', so a few
numeric characters (superscripts, Roman numerals) count as letters. Every character of the input lands in
exactly one piece, so joining the pieces gives the text back: merges never cross a piece, and any string
round-trips.

`BYTE_TO_SYMBOL` is GPT-2's `bytes_to_unicode`: each of the 256 bytes as one printable character (the
printable Latin-1 ones as themselves, the rest shifted past U+0100; a space is 'Ġ', a newline 'Ċ'), so a
merges file is readable text with one merge per line and two space-separated tokens on it.
"""
from __future__ import annotations

import re

WORD_PATTERN = re.compile(r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def split_words(text: str) -> list:
    return WORD_PATTERN.findall(text)


def _bytes_to_unicode() -> dict:
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("\u00a1"), ord("\u00ac") + 1),
                 *range(ord("\u00ae"), ord("\u00ff") + 1)]
    shifted = [b for b in range(256) if b not in printable]
    table = {b: chr(b) for b in printable}
    table.update({b: chr(256 + k) for k, b in enumerate(shifted)})
    return dict(sorted(table.items()))


BYTE_TO_SYMBOL = _bytes_to_unicode()
SYMBOL_TO_BYTE = {s: b for b, s in BYTE_TO_SYMBOL.items()}


def to_symbols(token: bytes) -> str:
    return "".join(BYTE_TO_SYMBOL[b] for b in token)


def from_symbols(symbols: str) -> bytes:
    """The bytes of a token written as symbols; KeyError names a character that is not a byte's symbol."""
    return bytes(SYMBOL_TO_BYTE[s] for s in symbols)
