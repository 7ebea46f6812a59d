"""The merges file: GPT-2's merges.txt layout, one merge per line, readable, with a header line.

    #version: 0.2 tinytorch ByteLevelBPE: ids 0-255 are the bytes; each new token gets the next id
    Ġ t
    h e

Each token is written with GPT-2's byte symbols (`bytelevel.BYTE_TO_SYMBOL`), so a space is 'Ġ' and a line
never holds a raw space or newline inside a token. Line k (after the header) is the merge of rank k. Reading
checks that each line has two tokens made of byte symbols, each of them a token the lines above it made.
"""
from __future__ import annotations

import pathlib

from .bytelevel import from_symbols, to_symbols

HEADER = "#version: 0.2 tinytorch ByteLevelBPE: ids 0-255 are the bytes; each new token gets the next id"


def write_merges(path, merges) -> None:
    lines = [HEADER, *(f"{to_symbols(a)} {to_symbols(b)}" for a, b in merges)]
    pathlib.Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_merges(path) -> list:
    """The merges of the file at `path`, as (left bytes, right bytes); a malformed file is one ValueError
    naming the file, the line and what is wrong."""
    try:
        lines = pathlib.Path(path).read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as e:
        raise ValueError(f"ByteLevelBPE.load: {path} is not UTF-8 text ({e}); write it with "
                         "ByteLevelBPE.save") from None
    if not lines[0].startswith("#version"):
        raise ValueError(f"ByteLevelBPE.load: {path} does not start with a '#version' header line (it starts "
                         f"{lines[0][:40]!r}); not a merges file, write it with ByteLevelBPE.save")
    known = {bytes([b]) for b in range(256)}
    merges = []
    for n, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        parts = line.split(" ")
        try:
            if len(parts) != 2:
                raise ValueError(f"{len(parts)} space-separated tokens, expected 2")
            pair = tuple(from_symbols(p) for p in parts)
        except KeyError as e:
            raise ValueError(f"ByteLevelBPE.load: {path} line {n}: {e.args[0]!r} is not one of GPT-2's byte "
                             "symbols; the file is not a byte-level merges file") from None
        except ValueError as e:
            raise ValueError(f"ByteLevelBPE.load: {path} line {n}: {e}") from None
        unknown = [to_symbols(t) for t in pair if t not in known]
        if unknown:
            raise ValueError(f"ByteLevelBPE.load: {path} line {n}: token {unknown[0]!r} is made by no line above "
                             "it; the merges are out of order or the file is cut")
        known.add(pair[0] + pair[1])
        merges.append(pair)
    return merges
