"""What every stage emitter works with, built once per stage and shared by composition: the stage's
function (function.py), its operands' addresses (addressing.py), the values of the kernel's ops
(values.py) and loop nests (loops.py).

A stage kind (stage_pointwise.py, stage_reduce.py, stage_row.py, stage_accumulate.py, stage_rand.py)
subclasses StageEmitter and writes `emit_body`: the loops that compute and store the stage's value, and
the stage's `extent` (of its parallel loop) and `work` (iteration points) that the runtime splits by.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

from .addressing import Addressing
from .function import StageFunction
from .loops import LoopNest
from .values import Values


class StageEmitter(ABC):
    def __init__(self, module, k, stage, place, check: bool, attributes=()):
        self.k, self.st = k, stage
        self.fn = StageFunction(module, stage, place, attributes)
        self.b = self.fn.b
        self.mem = Addressing(self.fn, k, place, check)
        self.values = Values(self.fn, self.mem, k, stage)
        self.loops = LoopNest(self.fn, self.values.scope)

    def store_value(self, j, idx, strides) -> None:
        """Op j's value at index `idx` into the stage's output (contiguous, of `strides`) at that index."""
        self.mem.store(self.st.dst, self.mem.affine(idx, strides), self.values.value(j, idx))

    def emit(self) -> None:
        self.emit_body()
        self.fn.finish()

    @abstractmethod
    def emit_body(self) -> None:
        """The stage's loops; sets `self.st.extent` and `self.st.work`."""
