"""Downloading dataset archives for users who are online: streamed, checked by sha256, with a progress bar.

Tests never use the network: they pass a file:// URL or their own `opener`.
The file is written to `<name>.part` and renamed only after its sha256
matches, so an interrupted download never looks like a finished one.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
import tarfile
import urllib.request

from .checksums import sha256_file
from .paths import DatasetCorruptError


def download_url(url: str, dest, sha256: str | None = None, progress: bool = True, opener=None,
                 chunk: int = 1 << 16) -> pathlib.Path:
    """Fetch `url` to the file `dest` unless a copy with the right sha256 is there already."""
    from tqdm import tqdm

    dest = pathlib.Path(dest)
    if dest.is_file() and (sha256 is None or sha256_file(dest) == sha256.lower()):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    h = hashlib.sha256()
    with (opener or urllib.request.urlopen)(url) as resp:
        total = getattr(resp, "length", None) or int(getattr(resp, "headers", {}).get("Content-Length", 0) or 0)
        with open(part, "wb") as f, tqdm(total=total or None, unit="B", unit_scale=True, desc=dest.name,
                                         disable=not progress) as bar:
            while True:
                block = resp.read(chunk)
                if not block:
                    break
                f.write(block)
                h.update(block)
                bar.update(len(block))
    if sha256 is not None and h.hexdigest() != sha256.lower():
        part.unlink()
        raise DatasetCorruptError(f"{url}: downloaded file has sha256 {h.hexdigest()}, expected {sha256.lower()}; "
                                  f"nothing was written to {dest}. Try again, or fetch it by hand and place it there")
    os.replace(part, dest)
    return dest


def extract_archive(path, dest) -> pathlib.Path:
    """Unpack a .tar / .tar.gz into `dest`, refusing members that would land outside it."""
    path, dest = pathlib.Path(path), pathlib.Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    with tarfile.open(path) as tar:
        for m in tar.getmembers():
            target = (dest / m.name).resolve()
            if root not in target.parents and target != root or m.issym() or m.islnk() or m.isdev():
                raise DatasetCorruptError(f"{path}: member {m.name!r} is a link, a device or escapes {dest}; "
                                          "refusing to extract")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # Python without PEP 706; the members were checked above
            tar.extractall(dest)
    return dest
