"""What the stage emitters are handed: a `Stage` (one native function of a kernel, planned by lower_llvm),
its `Placement` (where the kernel's operands live in the Program's table of pointers), and the two ways
emission refuses or a stage fails at run time (`NotLowerable`, `INDEX_ERROR`).

A stage function returns 0, or 1 + the table index of an array an address fell outside of (with
TINYTORCH_CHECK_BOUNDS=1), or INDEX_ERROR when a gather/scatter index is out of range.
"""
from __future__ import annotations

from dataclasses import dataclass, field

INDEX_ERROR = 0xFFFFF  # a stage's return code: a gather/scatter index out of range


class NotLowerable(NotImplementedError):
    """A kernel shape the native backend does not handle: a bug, never a silent fallback."""


@dataclass
class Stage:
    kind: str  # pointwise reduce row accumulate rand
    root: int  # op index whose value is stored
    dst: int  # table index of the array written (contiguous, the root's shape)
    core: int = -1  # reduce: the reduction op
    materialized: dict = field(default_factory=dict)  # op index -> table index of its contiguous value
    name: str = ""
    extent: int = 1  # of the outermost (parallel) loop
    work: int = 0  # iteration points


@dataclass
class Placement:
    """Where a kernel's operands live in the table: per input, per constant (None: embedded scalar)."""
    inputs: list
    consts: list
    dtypes: dict  # table index -> np.dtype
