"""What the compiler hands the runtime: an immutable description of how to run one Program.

Slots number a Program's values: its inputs first (0..n_inputs-1), then one per kernel output. A value
lives in the arena (a temporary, at the offset the memory plan chose), in a fresh array (an output the
user keeps), or in an input (an `assign` writes its target in place).

- `NumpyExecutable`: one `NumpyStep` per kernel, each a generated Python function of NumPy calls.
- `NativeExecutable`: one object file (compiled once, kept in the disk cache) whose functions read a table
  of pointers (entries: the slots, then constants and scratch); the run is a list of `NativeCall`s, each
  one native call (several small stages at once, or one big stage split over threads) or a BLAS matmul.

Nothing here is written after the compiler builds it; everything that changes while a Program runs (the
arena, the pointer table, timings) belongs to a runner (runtime/executor.py, runtime/native_runner.py).
Callables here were made by the compiler (a kernel, a NumPy view of a matmul operand, an explanation of
a native failure), so the runtime runs them without knowing the op table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np


@dataclass(frozen=True)
class NumpyStep:
    """One kernel: `fn(out, *inputs) -> out`."""
    fn: Callable
    inputs: tuple  # the slots it reads, in the order fn takes them
    out_slot: int
    out: str  # "arena" | "fresh" | "target" (the input at position `target` is written in place)
    shape: tuple
    dtype: np.dtype
    arena_offset: int = -1
    target: int = -1
    frees: tuple = ()  # slots whose last reader this is: dropped after it, so their memory can go


@dataclass(frozen=True)
class NumpyExecutable:
    n_inputs: int
    steps: tuple  # NumpyStep, in schedule order (step i is kernel i)
    outputs: tuple  # per output: (slot, None) or (slot, a view to apply: reshape/permute of a fresh array)
    arena_bytes: int
    kernel_names: tuple  # "kernel 3 (add+mul -> float32[4, 4])", for errors and timings


@dataclass(frozen=True)
class Operand:
    """A matmul operand: the array in table entry `entry` (or the constant `const`), seen through `view`."""
    entry: int
    const: Optional[np.ndarray]
    view: Callable  # ndarray -> ndarray (the movement chain as NumPy views or copies)


@dataclass(frozen=True)
class NativeCall:
    """One thing the dispatch loop does. kind "segment": one call of a generated function that runs several
    small stages in turn; "parallel": one big stage over [0, extent), split across threads; "matmul": BLAS
    (np.matmul) into table entry `dst`; "routine": `routine` writes table entry `dst` from operands a, b
    (b None for a routine of one operand)."""
    kind: str
    function: str = ""
    extent: int = 1
    work: int = 0
    kernels: tuple = ()  # the kernel index of each stage it runs
    a: Optional[Operand] = None
    b: Optional[Operand] = None
    dst: int = -1
    routine: Optional[Callable] = None  # kind "routine": routine(out, a, b, *more), made by the compiler
    more: tuple = ()  # kind "routine": its operands after a and b (attention's v and mask)
    explain: Optional[Callable] = None  # (return code, table arrays) -> (kernel index, the exception)


@dataclass(frozen=True)
class NativeExecutable:
    n_inputs: int
    n_entries: int  # table entries: the slots, then constants and scratch
    object_key: str
    object_code: bytes
    symbols: dict  # function name -> its symbol in the object code
    sizes: tuple  # elements per table entry (the generated code checks addresses against them when asked)
    constants: tuple  # (entry, read-only array)
    scratch: tuple  # (entry, shape, dtype): a runner's own working memory
    arena: tuple  # (slot, offset, shape, dtype)
    fresh: tuple  # (slot, shape, dtype): outputs allocated on every run
    aliases: tuple  # (slot, entry): a kernel output that lives in another entry (assign target, in place)
    target_readers: tuple  # (target entry, input slots): inputs that may view an assign's target
    calls: tuple  # NativeCall, in order
    timed_calls: tuple  # NativeCall per stage, alone, for a timed run (each time goes to its kernel)
    outputs: tuple  # per output: (slot, None) or (slot, a view to apply)
    arena_bytes: int
    kernel_names: tuple
    batch: int = 0  # a family Program's batch size N: its code reads N from sizes[-1]
