"""Which backend compiled programs run on: `set_backend("numpy" | "llvm")`, `get_backend()`.

The default is TINYTORCH_BACKEND (see runtime/config.py; a bad value fails `import tinytorch`). Programs
are cached per backend, so switching back and forth recompiles nothing already compiled. Eager mode always
dispatches straight to NumPy, whatever the backend.
"""
from __future__ import annotations

import contextlib

from .compiler.program import BACKENDS, CONFIG, Options


def set_backend(name: str) -> None:
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    CONFIG.options = Options(backend=name, disabled=CONFIG.options.disabled, remat=CONFIG.options.remat)


def get_backend() -> str:
    return CONFIG.options.backend


@contextlib.contextmanager
def using_backend(name: str):
    """`with tinytorch.using_backend("llvm"):` compiles and runs on that backend inside the block."""
    before = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(before)


__all__ = ["set_backend", "get_backend", "using_backend", "BACKENDS"]
