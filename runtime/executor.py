"""Run a compiled Program: bind its inputs and outputs, own its arena, dispatch its kernels.

`make_runner(executable)` gives the runner for either backend. A runner allocates the Program's arena on
its first run and reuses it on every later one; outputs are fresh arrays, so nothing the user keeps ever
lives in the arena. `run(arrays, timed=False)` returns the output arrays; a timed run (or any run while
`timing.kernel_times()` watches) records each kernel's seconds in `kernel_s`.
"""
from __future__ import annotations

import time

import numpy as np

from . import timing
from .arena import Arena
from .errors import KernelError
from .executable import NativeExecutable
from .native_runner import NativeRunner


class NumpyRunner:
    """Runs a NumpyExecutable: one generated Python function per kernel, over slots."""

    def __init__(self, exe):
        self.exe = exe
        self.arena = None
        self.last_run_s = 0.0
        self.kernel_s: list = []
        self._outs = ()

    def _bind(self):
        self.arena = Arena(self.exe.arena_bytes)
        self._outs = tuple(self.arena.view(s.arena_offset, s.shape, s.dtype) if s.out == "arena" else None
                           for s in self.exe.steps)

    def run(self, arrays, timed: bool = False) -> list:
        if self.arena is None:
            self._bind()
        timed = timed or bool(timing.WATCHERS)
        times = [0.0] * len(self.exe.steps) if timed else None
        calls = []
        slots = list(arrays) + [None] * len(self.exe.steps)
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):  # log(0) is -inf without a warning, as in eager mode and PyTorch
            for i, step in enumerate(self.exe.steps):
                ins = [slots[s] for s in step.inputs]
                out = self._outs[i] if step.out == "arena" else ins[step.target] if step.out == "target" \
                    else np.empty(step.shape, step.dtype)
                t = time.perf_counter() if timed else 0.0
                try:
                    slots[step.out_slot] = step.fn(out, *ins)
                except Exception as e:  # data-dependent failures: name the kernel, keep the cause
                    raise KernelError(f"{self.exe.kernel_names[i]} failed at run time: {e}") from e
                if timed:
                    times[i] = time.perf_counter() - t
                    calls.append(((i,), t, times[i]))
                for s in step.frees:
                    slots[s] = None
        self.last_run_s = time.perf_counter() - t0
        if timed:
            self.kernel_s = times
            timing.report(self, times, calls)
        return [slots[s] if view is None else view(slots[s]) for s, view in self.exe.outputs]


def make_runner(exe):
    """The runner for `exe`'s backend."""
    return NativeRunner(exe) if isinstance(exe, NativeExecutable) else NumpyRunner(exe)
