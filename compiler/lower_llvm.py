"""Lower a Program's kernels to native code: one LLVM module, one object file, one table of pointers.

Every kernel becomes one or more stages (compiler/llvm/kernelgen.py): an elementwise chain, a reduction
with its producers and consumers, a row kernel (several reductions per row, then a loop over the row), scatter_add/fold, pad, gather, arange, rand, copies and assigns are
native loops; a matmul calls BLAS (np.matmul into its output buffer) and its epilogue (bias, activation,
residual) is a native loop over the matmul's result, in place where it reads it at the same index. A kernel
is split into stages where fusion handed over an awkward shape: a reduction or matmul whose value is read
through a movement op is first materialized in scratch; an assign whose value reads its own target at
another index is computed into scratch and then copied. A kernel no stage can express raises NotLowerable:
nothing falls back to NumPy.

The runtime side binds a table of pointers (Program slots, then constants, then scratch) once: arena
entries at the first run, inputs and fresh outputs at each run. Consecutive stages too small to split across
threads run as ONE native call (a generated segment function that calls each in turn); a big stage runs
alone, split across TINYTORCH_NUM_THREADS threads by compiler/llvm/parallel.py.
"""
from __future__ import annotations

import ctypes
import math
import sys
import time

import numpy as np
from llvmlite import ir

from ..runtime import config
from . import ops as O
from .llvm import jit, parallel
from .llvm import scalar  # noqa: F401  (installs the op table's llvm lowerings)
from .llvm.kernelgen import INDEX_ERROR, NotLowerable, Placement, Stage, emit_segment, emit_stage

PLACEHOLDER = "tt_program_symbol"
_CFUNC = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)


class MatmulStage:
    """BLAS through NumPy: out <- a @ b, the operands seen through their movement chains."""
    kind = "matmul"

    def __init__(self, core: int, dst: int, operands: dict):
        self.core, self.dst = core, dst
        self.operands = operands  # src position -> table index of a materialized fused producer
        self.extent, self.work, self.name = 1, 0, ""


class _Layout:
    """Table entries: the Program's slots, then per-kernel constants and scratch."""

    def __init__(self, kernels, n_inputs, inputs_info):
        self.n_slots = n_inputs + len(kernels)
        self.dtypes, self.sizes, self.fixed = {}, {}, {}
        for i, info in enumerate(inputs_info):
            self._set(i, info.shape, info.dtype)
        for k in kernels:
            self._set(k.out_slot, k.shape, k.dtype)
        self.count = self.n_slots

    def _set(self, t, shape, dtype):
        self.dtypes[t] = np.dtype(dtype)
        self.sizes[t] = math.prod(shape)

    def new(self, array: np.ndarray) -> int:
        t = self.count
        self.count += 1
        self._set(t, array.shape, array.dtype)
        self.fixed[t] = array
        return t


def out_entry(k) -> int:
    """The table entry a kernel writes: an assign's target, the input it overwrites in place, or its slot."""
    if k.out_kind == "target":
        return k.inputs[k.ops[-1].srcs[0].index].slot
    if k.inplace_of >= 0:
        return k.inputs[k.inplace_of].slot
    return k.out_slot


def _core(k):
    cores = [j for j, o in enumerate(k.ops) if o.info.op in O.OPS and O.OPS[o.info.op].kind in ("reduce", "matmul")]
    if len(cores) > 1:
        raise NotLowerable(f"kernel k{k.index} has {len(cores)} reductions/matmuls")
    return cores[0] if cores else -1


def _reads_after_chain_free(k, c) -> bool:
    """Ops after `c` have c's shape and read c and each other at their own index (no chain)."""
    shape = k.ops[c].info.shape
    for j in range(c + 1, len(k.ops)):
        if k.ops[j].info.shape != shape:
            return False
        for r in k.ops[j].srcs:
            if r.kind == "t" and r.index >= c and r.chain:
                return False
            if r.kind == "t" and r.index < c:
                return False
    return True


def _target_hazard(k, c) -> bool:
    """An assign whose value reads its own target other than elementwise at the output's index."""
    if k.out_kind != "target":
        return False
    tgt = k.ops[-1].srcs[0].index
    for j, o in enumerate(k.ops):
        for pos, r in enumerate(o.srcs):
            if j == len(k.ops) - 1 and pos == 0:
                continue
            if r.kind == "in" and r.index == tgt and (any(i.op != "detach" for i in r.chain) or 0 <= c and j <= c):
                return True
    return False


def plan_stages(k, layout: _Layout) -> list:
    root = len(k.ops) - 1
    out = out_entry(k)
    if k.row_axes:  # fusion never puts an assign (or a view of another row) in a row kernel
        return [Stage("row", root, out)]
    c = _core(k)
    hazard = _target_hazard(k, c)
    dst = layout.new(np.empty(k.shape, k.dtype)) if hazard else out
    root_op = k.ops[root].info.op
    if c < 0:
        kind = {"scatter_add": "accumulate", "fold": "accumulate", "rand": "rand"}.get(root_op, "pointwise")
        stages = [Stage(kind, root, dst)]
    elif O.OPS[k.ops[c].info.op].kind == "reduce":
        if _reads_after_chain_free(k, c):
            stages = [Stage("reduce", root, dst, core=c)]
        else:
            s = layout.new(np.empty(k.ops[c].info.shape, k.ops[c].info.dtype))
            stages = [Stage("reduce", c, s, core=c), Stage("pointwise", root, dst, materialized={c: s})]
    else:
        info = k.ops[c].info
        stages, operands = [], {}
        for pos, r in enumerate(k.ops[c].srcs):  # fused producers of an operand: materialized for BLAS
            if r.kind == "t":
                pi = k.ops[r.index].info
                s = layout.new(np.empty(pi.shape, pi.dtype))
                stages.append(Stage("pointwise", r.index, s))
                operands[pos] = s
        if c == root:
            stages.append(MatmulStage(c, dst, operands))
        else:
            inplace = (_reads_after_chain_free(k, c) and info.dtype == k.dtype and info.shape == k.shape
                       and k.out_kind != "target")
            mm = dst if inplace else layout.new(np.empty(info.shape, info.dtype))
            stages += [MatmulStage(c, mm, operands), Stage("pointwise", root, dst, materialized={c: mm})]
    if hazard:
        stages.append(Stage("pointwise", root, out, materialized={root: dst}))
    return stages


class NativeProgram:
    """The native half of a Program: the compiled module, the pointer table and the steps to run."""

    def __init__(self, kernels, n_inputs, inputs_info, output_slots):
        t0 = time.perf_counter()
        self.kernels, self.n_inputs, self.output_slots = kernels, n_inputs, output_slots
        self.check = config.get("TINYTORCH_CHECK_BOUNDS")
        layout = _Layout(kernels, n_inputs, inputs_info)
        module = ir.Module(name="tinytorch_program")
        attrs = jit.function_attributes()
        self.stages = []  # (kernel, stage)
        for k in kernels:
            const_entries = [None if _uniform(a) else layout.new(np.ascontiguousarray(a)) for a in k.consts]
            place = Placement([i.slot for i in k.inputs], const_entries, layout.dtypes)
            code = []
            for n, st in enumerate(plan_stages(k, layout)):
                if st.kind != "matmul":
                    st.name = f"{PLACEHOLDER}_k{k.index}_s{n}"
                    before = len(module.functions)
                    emit_stage(module, k, st, place, self.check, attrs)
                    code += [str(f) for f in module.functions[before:]]
                else:
                    code.append(f"; stage {n}: BLAS matmul (np.matmul) into table entry {st.dst}")
                self.stages.append((k, st))
            k.backend = "llvm"
            k.code = [f"kernel k{k.index}: {len(code)} llvm stage(s)"] + "\n".join(code).splitlines()
        self.layout = layout
        self.segments = self._segment(module)
        self.emit_s = time.perf_counter() - t0
        functions = [st.name for _, st in self.stages if st.kind != "matmul"] + \
                    [seg[1] for seg in self.segments if seg[0] == "segment"]
        t1 = time.perf_counter()
        self.loaded = jit.compile_module(str(module), "program", PLACEHOLDER, functions)
        self.compile_s = time.perf_counter() - t1
        self.cfuncs = {name: _CFUNC(addr) for name, addr in self.loaded.addresses.items()}
        n = layout.count
        self.table = (ctypes.c_void_p * max(n, 1))()
        self.sizes = (ctypes.c_int64 * max(n, 1))(*[layout.sizes.get(t, 0) for t in range(n)])
        self.table_addr = ctypes.addressof(self.table)
        self.sizes_addr = ctypes.addressof(self.sizes)
        self.arrays = [None] * n
        for t, a in layout.fixed.items():
            self._put(t, a)
        self.fresh = [(k.out_slot, k.shape, k.dtype) for k in kernels if k.out_kind == "output"]
        self.aliases = [(k.out_slot, out_entry(k)) for k in kernels if out_entry(k) != k.out_slot]
        self.target_readers = [(out_entry(k), [i.slot for i in k.inputs if i.slot < n_inputs and i.slot != out_entry(k)])
                               for k in kernels if k.out_kind == "target"]
        self.bound = False

    def _segment(self, module):
        """Runs of consecutive small native stages become one generated function each."""
        threads = parallel.num_threads()
        out, run = [], []

        def flush():
            if run:
                name = f"{PLACEHOLDER}_seg{len(out)}"
                emit_segment(module, name, [st for _, st in run])
                out.append(("segment", name, list(run)))
                run.clear()
        for k, st in self.stages:
            big = st.kind != "matmul" and threads > 1 and st.extent > 1 and st.work >= parallel.MIN_PARALLEL_WORK
            if st.kind == "matmul" or big:
                flush()
                out.append((st.kind if st.kind == "matmul" else "parallel", st.name, [(k, st)]))
            else:
                run.append((k, st))
        flush()
        return out

    def _put(self, t, a):
        self.arrays[t] = a
        self.table[t] = a.ctypes.data

    def bind(self, arena, offsets):
        for k in self.kernels:
            if k.out_kind == "arena":
                self._put(k.out_slot, arena.view(offsets[f"k{k.index}"], k.shape, k.dtype))
        self.bound = True

    def run(self, inputs, describe, timed_into=None):
        put = self._put
        copied_targets = []
        for i, a in enumerate(inputs):
            if not a.flags.c_contiguous:
                c = np.ascontiguousarray(a)
                copied_targets.append((a, c))
                a = c
            put(i, a)
        for tgt, readers in self.target_readers:  # another input viewing an assign's target: read a copy
            for r in readers:
                if np.may_share_memory(self.arrays[tgt], self.arrays[r]):
                    put(r, self.arrays[r].copy())
        for slot, shape, dtype in self.fresh:
            put(slot, np.empty(shape, dtype))
        for slot, src in self.aliases:
            self.arrays[slot] = self.arrays[src]
            self.table[slot] = self.table[src]
        if timed_into is not None:
            self._run_timed(describe, timed_into)
        else:
            for kind, name, members in self.segments:
                if kind == "matmul":
                    self._matmul(*members[0])
                    continue
                if kind == "parallel":
                    k, st = members[0]
                    codes = parallel.run(self.cfuncs[name], [self.table_addr, self.sizes_addr], st.extent, st.work, [])
                    rc = max(codes)
                else:
                    rc = self.cfuncs[name](self.table_addr, self.sizes_addr, 0, 0)
                if rc:
                    self._fail(members, rc, describe)
        for orig, c in copied_targets:  # an assign into a non-contiguous buffer went to its copy
            if orig.flags.writeable:
                np.copyto(orig, c)
        outs = [self.arrays[s] for s in self.output_slots]
        for i in range(len(inputs)):
            self.arrays[i] = None
        for slot, _, _ in self.fresh:
            self.arrays[slot] = None
        return outs

    def _run_timed(self, describe, times):
        for k, st in self.stages:
            t = time.perf_counter()
            if st.kind == "matmul":
                self._matmul(k, st)
            else:
                codes = parallel.run(self.cfuncs[st.name], [self.table_addr, self.sizes_addr], st.extent, st.work, [])
                rc = max(codes)
                if rc:
                    self._fail([(k, st)], (1 << 20) | rc, describe)
            times[k.index] += time.perf_counter() - t

    def _matmul(self, k, st):
        o = k.ops[st.core]
        a, b = (self._operand(k, r, st.operands.get(pos)) for pos, r in enumerate(o.srcs))
        np.matmul(a, b, out=self.arrays[st.dst])

    def _operand(self, k, r, entry=None):
        if entry is not None:
            base = self.arrays[entry]
        else:
            base = self.arrays[k.inputs[r.index].slot] if r.kind == "in" else k.consts[r.index]
        return _apply(base, r.chain)

    def _fail(self, members, rc, describe):
        from ..runtime import KernelError
        pos, code = (rc >> 20) - 1, rc & 0xFFFFF
        k, st = members[pos]
        if code == INDEX_ERROR:
            err = self._index_error(k)
        else:
            t = code - 1
            what = "the output" if t == out_entry(k) or t == st.dst else f"table entry {t}"
            err = IndexError(f"kernel k{k.index}: an address fell outside {what} ({self.layout.sizes[t]} elements); "
                             f"its index arithmetic is wrong")
        raise KernelError(f"{describe(k.index)} failed at run time: {err}") from err

    def _index_error(self, k):
        for o in k.ops:
            if o.info.op == "gather":
                r, size = o.srcs[1], (o.srcs[0].chain[-1].shape if o.srcs[0].chain else None)
                if size is None:
                    size = k.inputs[o.srcs[0].index].base.shape if o.srcs[0].kind == "in" else \
                        k.consts[o.srcs[0].index].shape
                size = size[o.info.arg]
            elif o.info.op == "scatter_add":
                r, size = o.srcs[0], o.info.arg[1]
            else:
                continue
            if r.kind == "t":
                continue
            try:
                O._check_range(np.asarray(self._operand(k, r)), size, o.info.op)
            except IndexError as e:
                return e
        return IndexError(f"kernel k{k.index}: a gather/scatter index is out of range")


def _apply(a, chain):
    """A matmul operand as NumPy sees it: the movement chain applied to the array (views where NumPy can)."""
    for info in chain:
        a = O.OPS[info.op].numpy(info, a)
    return a


def _uniform(a: np.ndarray) -> bool:
    """A constant every element of which is the same value: embedded in the code, not read from memory."""
    return a.size <= 1 or all(s == 0 for s in a.strides)


def lower_program(kernels, n_inputs, inputs_info, output_slots) -> NativeProgram:
    prog = NativeProgram(kernels, n_inputs, inputs_info, output_slots)
    if config.get("TINYTORCH_DEBUG") >= 4:
        print(f"; llvm: {len(kernels)} kernels, emit {prog.emit_s * 1e3:.1f} ms, "
              f"{'object from cache' if prog.loaded.from_disk else 'compile'} {prog.compile_s * 1e3:.1f} ms",
              file=sys.stderr)
    return prog
