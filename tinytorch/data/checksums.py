"""File checks: byte size always (cheap), sha256 on request, against a MANIFEST.json beside the file.

The shared dataset folder ships a MANIFEST.json giving each file's byte size
and sha256; a truncated copy or a different version is caught here, with the
file named, instead of as a confusing shape error deep in a loader.
"""
from __future__ import annotations

import hashlib
import json
import pathlib

from .paths import DatasetCorruptError


def sha256_file(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                return h.hexdigest()
            h.update(block)


def manifest_entry(path) -> dict | None:
    """The MANIFEST.json entry for `path` from its own directory, if there is one."""
    path = pathlib.Path(path)
    manifest = path.parent / "MANIFEST.json"
    if not manifest.is_file():
        return None
    try:
        entries = json.loads(manifest.read_text())
    except (OSError, ValueError, RecursionError) as e:  # RecursionError: JSON nested too deeply
        raise DatasetCorruptError(f"{manifest}: cannot read the manifest ({type(e).__name__}); restore it or "
                                  f"delete it") from None
    entry = entries.get(path.name) if isinstance(entries, dict) else None
    if not isinstance(entry, dict):
        return None
    if not isinstance(entry.get("bytes", 0), int) or not isinstance(entry.get("sha256", ""), str):
        raise DatasetCorruptError(f"{manifest}: the entry for {path.name} is {entry!r}, expected an int 'bytes' and "
                                  f"a string 'sha256'; restore the manifest or delete it")
    return entry


def verify_file(path, size: int | None = None, sha256: str | None = None, full: bool = False,
                how: str = "download it again") -> None:
    """Raise DatasetCorruptError if `path` has the wrong size (or, with `full`, the wrong sha256).

    Expected values come from the arguments, else from MANIFEST.json beside the file; no expectation, no check.
    """
    path = pathlib.Path(path)
    entry = manifest_entry(path) or {}
    size = entry.get("bytes") if size is None else size
    sha256 = entry.get("sha256") if sha256 is None else sha256
    if size is not None:
        got = path.stat().st_size
        if got != size:
            raise DatasetCorruptError(f"{path}: {got} bytes, expected {size} (truncated or a different file); "
                                      f"{how}")
    if full and sha256 is not None:
        got = sha256_file(path)
        if got != sha256.lower():
            raise DatasetCorruptError(f"{path}: sha256 {got}, expected {sha256.lower()}; {how}")
