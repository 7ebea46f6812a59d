"""The repository around an editable install: the folders that live beside the package, not inside it.

`benchmarks/` and a `../shared/datasets` folder next to the repository exist only in a checkout (a wheel
installs the package alone), so each lookup returns None when the folder is not there.
"""
from __future__ import annotations

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]  # tinytorch/tools/checkout.py -> the repository root


def in_repo(*parts) -> pathlib.Path | None:
    """`REPO/parts` if it exists (this is a checkout that has it), else None."""
    path = REPO.joinpath(*parts)
    return path if path.exists() else None


def shared_datasets() -> pathlib.Path | None:
    """The `shared/datasets` folder next to the repository, where the project's datasets are kept."""
    path = REPO.parent / "shared" / "datasets"
    return path if path.is_dir() else None
