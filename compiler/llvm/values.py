"""The value of a kernel's op at an index, as LLVM IR: what every stage evaluates inside its loops.

A value of the same kernel seen through a movement op is recomputed at the moved index: elementwise
producers are cheap, and lower_llvm materializes reductions and matmuls first (a stage then loads such a
value from its table entry, `Stage.materialized`). Values are memoized per (op, index) within one loop
body (`scope`), since code after a loop cannot use what was computed inside it. Elementwise ops lower
through the op table's `llvm` slot (scalar.py); pad, gather (its index checked: out of range, the stage
returns INDEX_ERROR) and arange are lowered here.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from llvmlite import ir

from .. import ops
from ..kernel import contiguous_strides
from . import mathfns as M
from . import scalar
from .addressing import is_int
from .stage import INDEX_ERROR, NotLowerable

F16 = np.dtype(np.float16)
F16_COMPARISONS = ("cmplt", "cmpeq")  # compared as float16 bits (scalar.compare_f16)
POINTWISE_OPS = ops.GROUPS.elementwise | ops.GROUPS.assign | {"copy"}  # "copy": a kernel-only op (kernelize)


def _loaded_f16(v) -> bool:
    """v is a float16 value widened straight from memory, so already exactly a float16."""
    return getattr(v, "opname", None) == "fpext" and isinstance(v.operands[0].type, ir.HalfType)


class Values:
    def __init__(self, fn, mem, k, stage):
        self.fn, self.b, self.mem, self.k, self.st = fn, fn.b, mem, k, stage
        self.memo = {}
        self.acc = None  # (op index, value): a reduction's result while its epilogue is evaluated

    @contextmanager
    def scope(self):
        """Values computed inside are forgotten after: they do not dominate the code after a loop."""
        saved = dict(self.memo)
        yield
        self.memo = saved

    @contextmanager
    def reduced(self, j, value):
        """Op j (a reduction) is `value` inside."""
        self.acc = (j, value)
        yield
        self.acc = None

    def ref(self, r, idx):
        """The value of operand `r` at index `idx` (a list over the operand's shape after its chain)."""
        if r.kind == "t":
            return self.value(r.index, self.mem.source_index(r, idx))
        return self.mem.read(r, idx)

    @staticmethod
    def _key(j, idx):
        return (j, tuple(v if is_int(v) else id(v) for v in idx))

    def value(self, j, idx):
        key = self._key(j, idx)
        if key not in self.memo:
            self.memo[key] = self._compute(j, idx)
        return self.memo[key]

    def remember(self, j, idx, value) -> None:
        """Op j at `idx` is `value` (computed by the stage itself) for the rest of this scope."""
        self.memo[self._key(j, idx)] = value

    def _compute(self, j, idx):
        if j in self.st.materialized:
            t = self.st.materialized[j]
            return self.mem.load(t, self.mem.affine(idx, contiguous_strides(self.k.ops[j].info.shape)))
        if self.acc is not None and self.acc[0] == j:
            return self.acc[1]
        o = self.k.ops[j]
        info, op = o.info, o.info.op
        if op == "assign":
            return self.ref(o.srcs[1], idx)
        if op == "copy":
            return self.ref(o.srcs[0], idx)
        if op in POINTWISE_OPS:
            args = [self.ref(r, idx) for r in o.srcs]
            in_dtype = self.mem.dtype_of(o.srcs[-1])
            if in_dtype == F16 and op in F16_COMPARISONS:
                # float16 values live unrounded in float registers; a comparison sees them rounded as stored,
                # so a value fusion recomputes here equals its stored copy (max-pool's backward compares the
                # recomputed input with the stored max; rounding is monotonic, so round(max) = max(round))
                bits = [scalar.f16_bits(self.b, a, a.operands[0] if _loaded_f16(a) else None) for a in args]
                return scalar.compare_f16(self.b, op, *bits)
            if in_dtype == F16 and info.dtype.kind == "b":
                args = [a if _loaded_f16(a) else scalar.round_f16(self.b, a) for a in args]
            return ops.OPS[op].llvm(self.b, args, in_dtype, info.dtype)
        if op == "pad":
            return self._pad(o, idx)
        if op == "gather":
            return self._gather(o, idx)
        if op == "arange":
            return self._arange(info, idx)
        raise NotLowerable(f"op {op!r} inside a fused kernel")

    def _pad(self, o, idx):
        b = self.b
        pads, fill = o.info.arg
        src = self.mem.final_shape(o.srcs[0])
        ok, inner = None, []
        for i, (lo, hi), n in zip(idx, pads, src):
            if lo == 0 and hi == 0:
                inner.append(i)
                continue
            s = b.sub(self.mem.i64(i), ir.Constant(M.I64, lo))
            valid = b.icmp_unsigned("<", s, ir.Constant(M.I64, n))
            ok = valid if ok is None else b.and_(ok, valid)
            inner.append(b.select(valid, s, ir.Constant(M.I64, 0)))
        v = self.ref(o.srcs[0], inner)
        return v if ok is None else b.select(ok, v, scalar.constant(fill, o.info.dtype))

    def index(self, r, idx, size):
        """An integer operand as an i64 index, checked against [0, size)."""
        b = self.b
        v = self.ref(r, idx)
        dt = self.mem.dtype_of(r)
        if v.type.width < 64:
            v = b.zext(v, M.I64) if scalar.is_unsigned(dt) else b.sext(v, M.I64)
        self.fn.check_below(v, ir.Constant(M.I64, size), INDEX_ERROR, "index_ok")
        return v

    def _gather(self, o, idx):
        axis = o.info.arg
        x, ix = o.srcs
        src = list(idx)
        src[axis] = self.index(ix, idx, self.mem.final_shape(x)[axis])
        return self.ref(x, src)

    def _arange(self, info, idx):
        start, step, _, dtype = info.arg
        b, i = self.b, self.mem.i64(idx[0])
        if scalar.is_float(dtype):
            v = b.fadd(M.c(M.F64, float(start)), b.fmul(M.c(M.F64, float(step)), b.sitofp(i, M.F64)))
            return ops.OPS["cast"].llvm(b, [v], np.dtype("float64"), dtype)
        v = b.add(ir.Constant(M.I64, int(start)), b.mul(i, ir.Constant(M.I64, int(step))))
        return ops.OPS["cast"].llvm(b, [v], np.dtype("int64"), dtype)
