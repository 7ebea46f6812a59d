"""Shared test helpers: where the real datasets are, and a fresh eager/lazy state per test."""
import os
import pathlib

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.runtime import config

ROOT = pathlib.Path(__file__).resolve().parents[1]

# numpy unless TINYTORCH_BACKEND names a backend, for child processes too: LLVM compile time would multiply over
# ~2000 distinct test programs (test_llvm_backend covers llvm)
if not os.environ.get("TINYTORCH_BACKEND", "").strip():
    os.environ["TINYTORCH_BACKEND"] = "numpy"
tt.set_backend(config.get("TINYTORCH_BACKEND"))


def data_dir():
    """TINYTORCH_DATA, then ../shared/datasets; skip (or fail under CI=true) when neither exists."""
    for cand in (config.get("TINYTORCH_DATA"), ROOT.parent / "shared" / "datasets"):
        if cand is not None and cand.is_dir():
            return cand
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
