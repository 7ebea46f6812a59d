"""Lower a Program's kernels to native code: one LLVM module, one object file, one table of pointers.

Every kernel becomes one or more stages (compiler/llvm/kernelgen.py): an elementwise chain, a reduction
with its producers and consumers, a row kernel (several reductions per row, then a loop over the row),
scatter_add/fold, pad, gather, arange, rand, copies and assigns are native loops; a matmul calls BLAS
(np.matmul into its output buffer) and its epilogue (bias, activation, residual) is a native loop over the
matmul's result, in place where it reads it at the same index; an op with an `into` routine (a convolution:
BLAS per tile, with the native window copy of llvm/im2col.py) is a call of that routine. A kernel is split into stages where fusion
handed over an awkward shape: a reduction or matmul whose value is read through a movement op is first
materialized in scratch; an assign whose value reads its own target at another index is computed into
scratch and then copied. A kernel no stage can express raises NotLowerable:
nothing falls back to NumPy.

The result is a NativeExecutable (runtime/executable.py): the object code, the layout of the table of
pointers every function reads (Program slots, then constants, then scratch) and the calls in order.
Consecutive stages too small to split across threads become ONE native call (a generated segment function
that calls each in turn); a big stage is a call of its own, which the runtime (runtime/native_runner.py)
splits across TINYTORCH_NUM_THREADS threads.
"""
from __future__ import annotations

import functools
import math
import sys
import time

import numpy as np
from llvmlite import ir

from ..runtime import NativeCall, NativeExecutable, Operand, config, parallel
from ..runtime.widen import compute_dtype
from . import ops as O
from .kernel import Lowered
from .llvm import im2col, jit
from .llvm.kernelgen import INDEX_ERROR, NotLowerable, Placement, Stage, emit_segment, emit_stage

PLACEHOLDER = "tt_program_symbol"
CALLED = ("matmul", "routine")  # stages the runner calls from Python (BLAS), not generated functions


class MatmulStage:
    """BLAS through NumPy: out <- a @ b, the operands seen through their movement chains."""
    kind = "matmul"

    def __init__(self, core: int, dst: int, operands: dict):
        self.core, self.dst = core, dst
        self.operands = operands  # src position -> table index of a materialized fused producer
        self.extent, self.work, self.name = 1, 0, ""


class RoutineStage:
    """An op written straight into its output by its `OpDef.into` (a convolution: BLAS per tile), called by
    the runner with its operands seen through their movement chains."""
    kind = "routine"

    def __init__(self, core: int, dst: int):
        self.core, self.dst = core, dst
        self.extent, self.work, self.name = 1, 0, ""


class _Layout:
    """Table entries: the Program's slots, then per-kernel constants and scratch."""

    def __init__(self, kernels, n_inputs, inputs_info):
        self.n_slots = n_inputs + len(kernels)
        self.dtypes, self.sizes = {}, {}
        self.constants, self.scratches = [], []
        for i, info in enumerate(inputs_info):
            self._set(i, info.shape, info.dtype)
        for k in kernels:
            self._set(k.out_slot, k.shape, k.dtype)
        self.count = self.n_slots

    def _set(self, t, shape, dtype):
        self.dtypes[t] = np.dtype(dtype)
        self.sizes[t] = math.prod(shape)

    def _new(self, shape, dtype) -> int:
        t = self.count
        self.count += 1
        self._set(t, shape, dtype)
        return t

    def constant(self, array: np.ndarray) -> int:
        t = self._new(array.shape, array.dtype)
        array = np.ascontiguousarray(array)
        array.setflags(write=False)
        self.constants.append((t, array))
        return t

    def scratch(self, shape, dtype) -> int:
        t = self._new(shape, dtype)
        self.scratches.append((t, tuple(shape), np.dtype(dtype)))
        return t


def out_entry(k) -> int:
    """The table entry a kernel writes: an assign's target, the input it overwrites in place, or its slot."""
    if k.out_kind == "target":
        return k.inputs[k.ops[-1].srcs[0].index].slot
    if k.inplace_of >= 0:
        return k.inputs[k.inplace_of].slot
    return k.out_slot


def _core(k):
    cores = [j for j, o in enumerate(k.ops) if o.info.op in O.GROUPS.reduce | O.GROUPS.matmul]
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
    root_op = k.ops[root].info.op
    if k.row_axes:  # fusion never puts an assign (or a view of another row) in a row kernel
        return [Stage("row", root, out)]
    if root_op in O.OPS and O.OPS[root_op].into is not None:  # fusion keeps such an op alone in its kernel
        return [RoutineStage(root, out)]
    c = _core(k)
    hazard = _target_hazard(k, c)
    dst = layout.scratch(k.shape, k.dtype) if hazard else out
    if c < 0:
        kind = "accumulate" if root_op in O.GROUPS.accumulating else "rand" if root_op == "rand" else "pointwise"
        stages = [Stage(kind, root, dst)]
    elif k.ops[c].info.op in O.GROUPS.reduce:
        if _reads_after_chain_free(k, c):
            stages = [Stage("reduce", root, dst, core=c)]
        else:
            s = layout.scratch(k.ops[c].info.shape, k.ops[c].info.dtype)
            stages = [Stage("reduce", c, s, core=c), Stage("pointwise", root, dst, materialized={c: s})]
    else:
        info = k.ops[c].info
        stages, operands = [], {}
        for pos, r in enumerate(k.ops[c].srcs):  # fused producers of an operand: materialized for BLAS
            if r.kind == "t":
                pi = k.ops[r.index].info
                s = layout.scratch(pi.shape, pi.dtype)
                stages.append(Stage("pointwise", r.index, s))
                operands[pos] = s
        if c == root:
            stages.append(MatmulStage(c, dst, operands))
        else:
            inplace = (_reads_after_chain_free(k, c) and info.dtype == k.dtype and info.shape == k.shape
                       and k.out_kind != "target")
            mm = dst if inplace else layout.scratch(info.shape, info.dtype)
            stages += [MatmulStage(c, mm, operands), Stage("pointwise", root, dst, materialized={c: mm})]
    if hazard:
        stages.append(Stage("pointwise", root, out, materialized={root: dst}))
    return stages


def lower_program(kernels, n_inputs, inputs_info, outputs, plan, batch: int = 0):
    """The NativeExecutable of a Program's kernels, each kernel's Lowered record, and what lowering cost
    ({"emit_s", "compile_s", "object": where the object code came from})."""
    t0 = time.perf_counter()
    check = config.get("TINYTORCH_CHECK_BOUNDS")
    layout = _Layout(kernels, n_inputs, inputs_info)
    module = ir.Module(name="tinytorch_program")
    attrs = jit.function_attributes()
    stages, lowered = [], []  # stages: (kernel, stage)
    for k in kernels:
        const_entries = [None if _uniform(a) else layout.constant(a) for a in k.consts]
        place = Placement([i.slot for i in k.inputs], const_entries, layout.dtypes)
        code, planned = [], plan_stages(k, layout)
        for n, st in enumerate(planned):
            if st.kind not in CALLED:
                st.name = f"{PLACEHOLDER}_k{k.index}_s{n}"
                before = len(module.functions)
                emit_stage(module, k, st, place, check, attrs)
                code += [str(f) for f in module.functions[before:]]
            elif st.kind == "routine":
                code.append(f"; stage {n}: {k.ops[st.core].info.op} routine into table entry {st.dst}")
            else:
                code.append(f"; stage {n}: BLAS matmul (np.matmul) into table entry {st.dst}")
            stages.append((k, st))
        lowered.append(Lowered("llvm", tuple([f"kernel k{k.index}: {len(planned)} stage(s)"]
                                             + "\n".join(code).splitlines())))
    calls = _segment(module, stages, layout)
    emit_s = time.perf_counter() - t0
    functions = [st.name for _, st in stages if st.kind not in CALLED] + [c.function for c in calls
                                                                       if c.kind == "segment"]
    t1 = time.perf_counter()
    obj = jit.object_code(str(module), "program", PLACEHOLDER)
    compile_s = time.perf_counter() - t1
    offsets = {b.name: b.offset for b in plan.buffers}
    exe = NativeExecutable(
        n_inputs=n_inputs, n_entries=layout.count, object_key=obj.key, object_code=obj.code,
        symbols={f: f.replace(PLACEHOLDER, obj.prefix) for f in functions},
        sizes=tuple(layout.sizes.get(t, 0) for t in range(max(layout.count, 1))),
        constants=tuple(layout.constants), scratch=tuple(layout.scratches),
        arena=tuple((k.out_slot, offsets[f"k{k.index}"], k.shape, k.dtype) for k in kernels
                    if k.out_kind == "arena"),
        fresh=tuple((k.out_slot, k.shape, k.dtype) for k in kernels if k.out_kind == "output"),
        aliases=tuple((k.out_slot, out_entry(k)) for k in kernels if out_entry(k) != k.out_slot),
        target_readers=tuple((out_entry(k), tuple(i.slot for i in k.inputs
                                                  if i.slot < n_inputs and i.slot != out_entry(k)))
                             for k in kernels if k.out_kind == "target"),
        calls=tuple(calls), timed_calls=tuple(_call(k, st, layout, "parallel") for k, st in stages),
        outputs=tuple(outputs), arena_bytes=plan.peak_bytes,
        kernel_names=tuple(k.describe() for k in kernels), batch=batch)
    cost = {"emit_s": emit_s, "compile_s": compile_s, "object": obj.source}
    if config.get("TINYTORCH_DEBUG") >= 4:
        print(f"; llvm: {len(kernels)} kernels, emit {emit_s * 1e3:.1f} ms, object {obj.source} "
              f"{compile_s * 1e3:.1f} ms", file=sys.stderr)
    return exe, tuple(lowered), cost


def _segment(module, stages, layout) -> list:
    """The dispatch order: runs of consecutive small native stages become one generated function each; a
    big stage runs alone, split across threads; a matmul is a BLAS call."""
    threads = parallel.num_threads()
    out, run = [], []

    def flush():
        if run:
            name = f"{PLACEHOLDER}_seg{len(out)}"
            emit_segment(module, name, [st for _, st in run])
            out.append(NativeCall("segment", name, kernels=tuple(k.index for k, _ in run),
                                  explain=_explainer(list(run), layout)))
            run.clear()
    for k, st in stages:
        big = st.kind not in CALLED and threads > 1 and st.extent > 1 and st.work >= parallel.MIN_PARALLEL_WORK
        if st.kind in CALLED or big:
            flush()
            out.append(_call(k, st, layout, "parallel"))
        else:
            run.append((k, st))
    flush()
    return out


def _call(k, st, layout, kind) -> NativeCall:
    """One stage as a call of its own: a BLAS matmul, or its native function over its whole range."""
    if st.kind == "matmul":
        a, b = (_operand(k, r, st.operands.get(pos)) for pos, r in enumerate(k.ops[st.core].srcs))
        return NativeCall("matmul", kernels=(k.index,), a=a, b=b, dst=st.dst)
    if st.kind == "routine":
        o = k.ops[st.core]
        a, b, *more = [_operand(k, r) for r in o.srcs] + [None] * (2 - len(o.srcs))  # a sort has no b
        d = O.OPS[o.info.op]
        copier = im2col.copier(compute_dtype(o.info.dtype)) if d.kind == "window" else None  # convolutions
        return NativeCall("routine", kernels=(k.index,), a=a, b=b, more=tuple(more), dst=st.dst,
                          routine=functools.partial(d.into, arg=o.info.arg, copy_windows=copier))
    return NativeCall(kind, st.name, st.extent, st.work, (k.index,), explain=_explainer([(k, st)], layout))


def _operand(k, r, entry=None) -> Operand:
    """A matmul operand: a materialized producer's scratch entry, an input's slot, or a constant."""
    chain = r.chain
    view = functools.partial(O.apply_chain, chain=chain)
    if entry is not None:
        return Operand(entry, None, view)
    if r.kind == "in":
        return Operand(k.inputs[r.index].slot, None, view)
    return Operand(-1, k.consts[r.index], view)


def _explainer(members, layout):
    """(return code, table arrays) -> (kernel index, exception): which stage failed and why. A segment
    returns (member position + 1) << 20 | code; code INDEX_ERROR is a gather/scatter index out of range,
    any other code is 1 + the table entry an address fell outside of (TINYTORCH_CHECK_BOUNDS=1)."""
    def explain(rc, arrays):
        k, st = members[(rc >> 20) - 1] if len(members) > 1 else members[0]
        code = rc & 0xFFFFF
        if code == INDEX_ERROR:
            return k.index, _index_error(k, arrays)
        t = code - 1
        what = "the output" if t == out_entry(k) or t == st.dst else f"table entry {t}"
        return k.index, IndexError(f"kernel k{k.index}: an address fell outside {what} ({layout.sizes[t]} "
                                   f"elements); its index arithmetic is wrong")
    return explain


def _index_error(k, arrays):
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
        base = arrays[k.inputs[r.index].slot] if r.kind == "in" else k.consts[r.index]
        try:
            O._check_range(np.asarray(O.apply_chain(base, r.chain)), size, o.info.op)
        except IndexError as e:
            return e
    return IndexError(f"kernel k{k.index}: a gather/scatter index is out of range")


def _uniform(a: np.ndarray) -> bool:
    """A constant every element of which is the same value: embedded in the code, not read from memory."""
    return a.size <= 1 or all(s == 0 for s in a.strides)
