"""Where dataset files are looked for, and the errors that say what is missing and how to get it.

Order: the `root` argument if given; otherwise `$TINYTORCH_DATA`, then
`~/.cache/tinytorch`. A file that is found nowhere raises
`DatasetNotFoundError` listing every path tried and how to obtain the file.
"""
from __future__ import annotations

import os
import pathlib

from ..runtime import config


class DatasetNotFoundError(FileNotFoundError):
    pass


class DatasetCorruptError(OSError):
    pass


def cache_dir() -> pathlib.Path:
    return pathlib.Path(os.path.expanduser("~")) / ".cache" / "tinytorch"


def data_root(root=None) -> list:
    """The directories searched, in order."""
    if root is not None:
        return [pathlib.Path(root).expanduser()]
    configured = config.get("TINYTORCH_DATA")
    return [configured, cache_dir()] if configured is not None else [cache_dir()]


def download_dir(root=None) -> pathlib.Path:
    """Where `download=True` writes: the first directory of the search order."""
    return data_root(root)[0]


def find_or_fetch(layouts, root, dataset: str, how: str, download: bool, fetch):
    """`find_file`, and when nothing is there and `download` is set, `fetch(download_dir(root))` then look again."""
    try:
        return find_file(layouts, root, dataset, how)
    except DatasetNotFoundError:
        if not download:
            raise
        fetch(download_dir(root))
        return find_file(layouts, root, dataset, how)


def find_file(layouts, root=None, dataset: str = "dataset", how: str = ""):
    """The first layout whose files all exist, searching each directory in order.

    `layouts` is a list of tuples of relative paths; returns (directory, layout index, [paths]).
    """
    dirs = data_root(root)
    for d in dirs:
        for k, layout in enumerate(layouts):
            paths = [d / rel for rel in layout]
            if all(p.is_file() for p in paths):
                return d, k, paths
    raise DatasetNotFoundError(missing_message(dataset, dirs, layouts, root, how))


def missing_message(dataset, dirs, layouts, root, how) -> str:
    where = "the root you passed" if root is not None else "$TINYTORCH_DATA, then ~/.cache/tinytorch"
    looked = "\n  ".join(" + ".join(layout) for layout in layouts)
    return (f"{dataset}: not found in {', '.join(map(str, dirs))} (searched {where}). "
            f"Looked in each for one of:\n  {looked}\n"
            f"To get it: {how or 'place the file in one of these directories'}; "
            "or pass root=DIR, or set TINYTORCH_DATA=DIR.")
