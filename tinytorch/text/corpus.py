"""Text corpora by name or path: where they are looked for, how to get them, and reading them as text.

`CORPORA` is the registry of known corpora (file name, source URL, sha256, size). `load_text("tinyshakespeare")`
looks for its file where every dataset is looked for (`root`, else `$TINYTORCH_DATA`, then
`~/.cache/tinytorch`; `tinytorch.data.paths`), checks its size (and the sha256 with `verify="sha256"`), and
with `download=True` fetches it when it is nowhere. A path to an existing file is read as is; any other name is
looked for in the data directories. A missing file is one `DatasetNotFoundError` naming the file, every
directory searched, and `TINYTORCH_DATA` as the way out.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass

from ..data.checksums import verify_file
from ..data.download import download_url
from ..data.paths import DatasetCorruptError, find_or_fetch


@dataclass(frozen=True)
class Corpus:
    file: str
    url: str
    sha256: str
    size: int


CORPORA = {
    "tinyshakespeare": Corpus(
        "tinyshakespeare.txt",
        "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/"
        "data/tinyshakespeare/input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", 1115394),
}


def find_text(source, root=None, download: bool = False, verify: str = "size") -> pathlib.Path:
    """The path of the text file `source` names: an existing path, a known corpus, or a file name to look for."""
    if verify not in ("size", "sha256"):
        raise ValueError(f"find_text: verify must be 'size' or 'sha256', got {verify!r}")
    path = pathlib.Path(source).expanduser()
    if path.is_file():
        return path
    name = str(source)
    corpus = CORPORA.get(name.removesuffix(".txt"))
    if corpus is None:
        how = f"put {name} in one of these directories, or pass the path of an existing file"
        _, _, (path,) = find_or_fetch([(name,)], root, f"text file {name}", how, False, None)
        return path
    how = (f"pass download=True to fetch {corpus.file} ({corpus.size:,} bytes) from {corpus.url}, or copy it "
           "into the directory")
    _, _, (path,) = find_or_fetch([(corpus.file,)], root, corpus.file, how, download,
                                  lambda dest: download_url(corpus.url, dest / corpus.file, corpus.sha256))
    verify_file(path, corpus.size, corpus.sha256, full=verify == "sha256", how=how)
    return path


def load_text(source, root=None, download: bool = False, verify: str = "size") -> str:
    """The contents of the text file `source` names (see `find_text`), decoded as UTF-8."""
    path = find_text(source, root, download, verify)
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DatasetCorruptError(f"{path}: not UTF-8 text (byte {data[e.start]:#04x} at offset {e.start}); "
                                  "convert it to UTF-8, or read it yourself and pass text=") from None
