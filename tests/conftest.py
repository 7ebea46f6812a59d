"""Shared test helpers: where the real datasets are, and a fresh eager/lazy state per test."""
import os
import pathlib

import numpy as np
import pytest

import tinytorch as tt

ROOT = pathlib.Path(__file__).resolve().parents[1]

if not os.environ.get("TINYTORCH_BACKEND"):  # numpy, also for child processes: LLVM compile time would multiply
    os.environ["TINYTORCH_BACKEND"] = "numpy"  # over ~2000 distinct test programs (test_llvm_backend covers llvm)
    tt.set_backend("numpy")


def data_dir():
    """TINYTORCH_DATA, then ../shared/datasets; skip (or fail under CI=true) when neither exists."""
    for cand in (os.environ.get("TINYTORCH_DATA"), ROOT.parent / "shared" / "datasets"):
        if cand and pathlib.Path(cand).is_dir():
            return pathlib.Path(cand)
    if os.environ.get("CI") == "true":
        pytest.fail("the real datasets are missing: set TINYTORCH_DATA or provide ../shared/datasets")
    pytest.skip("real datasets not found: set TINYTORCH_DATA or place them in ../shared/datasets")


@pytest.fixture(autouse=True)
def _fresh_state():
    tt.manual_seed(0)
    with tt.eager(False):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
