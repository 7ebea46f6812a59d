"""Run a NativeExecutable: load its object code, keep its table of pointers, dispatch its calls.

Every generated function reads one table of pointers: the Program's slots, then constants and scratch.
Constants, scratch and arena entries are bound once (the arena at the first run); inputs and fresh
outputs at each run. Each `NativeCall` is then one foreign call (ctypes releases the GIL for it), one
big stage split across threads (parallel.py), a BLAS matmul (gemm.py: np.matmul into the entry's array) or a
routine the compiler made (a convolution) writing the entry's array.
A non-zero return code means a stage failed a check; the call's `explain` (made by the compiler) says
which and why, and the runner raises it as a KernelError naming the kernel.
"""
from __future__ import annotations

import ctypes
import time

import numpy as np

from . import gemm, native_loader, parallel, timing
from .arena import Arena
from .errors import KernelError

_CFUNC = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)


class NativeRunner:
    def __init__(self, exe):
        self.exe = exe
        self.module = module = native_loader.load(exe.object_key, exe.object_code, exe.symbols)  # keeps it mapped
        self.cfuncs = {name: _CFUNC(addr) for name, addr in module.addresses.items()}
        n = max(exe.n_entries, 1)
        self.table = (ctypes.c_void_p * n)()
        self.sizes = (ctypes.c_int64 * (n + 1))(exe.batch, *exe.sizes)  # sizes[-1] is the batch N
        self.head = [ctypes.addressof(self.table), ctypes.addressof(self.sizes) + ctypes.sizeof(ctypes.c_int64)]
        self.arrays = [None] * n
        for t, a in exe.constants:
            self._put(t, a)
        for t, shape, dtype in exe.scratch:
            self._put(t, np.empty(shape, dtype))
        self.arena = None
        self.last_run_s = 0.0
        self.kernel_s: list = []

    def _put(self, t, a):
        self.arrays[t] = a
        self.table[t] = a.ctypes.data

    def _bind(self):
        self.arena = Arena(self.exe.arena_bytes)
        for slot, offset, shape, dtype in self.exe.arena:
            self._put(slot, self.arena.view(offset, shape, dtype))

    def run(self, inputs, timed: bool = False) -> list:
        exe, put = self.exe, self._put
        if self.arena is None:
            self._bind()
        t0 = time.perf_counter()
        copied_targets = []
        for i, a in enumerate(inputs):
            if not a.flags.c_contiguous:
                c = np.ascontiguousarray(a)
                copied_targets.append((a, c))
                a = c
            put(i, a)
        for tgt, readers in exe.target_readers:  # another input viewing an assign's target: read a copy
            for r in readers:
                if np.may_share_memory(self.arrays[tgt], self.arrays[r]):
                    put(r, self.arrays[r].copy())
        for slot, shape, dtype in exe.fresh:
            put(slot, np.empty(shape, dtype))
        for slot, src in exe.aliases:
            self.arrays[slot] = self.arrays[src]
            self.table[slot] = self.table[src]
        if timed or timing.WATCHERS:
            self._run_timed()
        else:
            for call in exe.calls:
                self._call(call)
        for orig, c in copied_targets:  # an assign into a non-contiguous buffer went to its copy
            if orig.flags.writeable:
                np.copyto(orig, c)
        outs = [self.arrays[s] if view is None else view(self.arrays[s]) for s, view in exe.outputs]
        for i in range(len(inputs)):
            self.arrays[i] = None
        for slot, _, _ in exe.fresh:
            self.arrays[slot] = None
        self.last_run_s = time.perf_counter() - t0
        return outs

    def _call(self, call):
        if call.kind == "matmul":
            gemm.matmul(self._operand(call.a), self._operand(call.b), self.arrays[call.dst])
            return
        if call.kind == "routine":
            call.routine(self.arrays[call.dst], *[self._operand(o) for o in (call.a, call.b, *call.more)
                                                  if o is not None])
            return
        if call.kind == "parallel":
            rc = max(parallel.run(self.cfuncs[call.function], self.head, call.extent, call.work, []))
        else:
            rc = self.cfuncs[call.function](*self.head, 0, 0)
        if rc:
            kernel, err = call.explain(rc, self.arrays)
            raise KernelError(f"{self.exe.kernel_names[kernel]} failed at run time: {err}") from err

    def _operand(self, op):
        return op.view(op.const if op.entry < 0 else self.arrays[op.entry])

    def _run_timed(self):
        times, calls = [0.0] * len(self.exe.kernel_names), []
        for call in self.exe.timed_calls:
            t = time.perf_counter()
            self._call(call)
            dt = time.perf_counter() - t
            times[call.kernels[0]] += dt
            calls.append((call.kernels, t, dt))
        self.kernel_s = times
        timing.report(self, times, calls)
