"""Lower an ElementwiseKernel or ReduceKernel spec to LLVM IR text: one loop nest the vectorizer can use.

The generated function is
    i32 @KERNEL(out* noalias, in0* noalias, ..., i64 start, i64 stop [, i64 n_out, i64 n_in0, ...])
and runs the outermost loop over [start, stop) only, so parallel.py can split it across threads. It
returns 0, or with bounds checks on (TINYTORCH_CHECK_BOUNDS=1, the trailing element counts are then
passed) 1 + the index of the first array (0 = out) that an address fell outside of.

Loop order: the output (kept) dims outermost, reduced dims inside them, each in their original order.
Adjacent dims of one kind merge when every view and the output step through them as one dim (so a
contiguous or broadcast operand gives a single flat loop with stride 1 or 0, which LLVM vectorizes), and
size-1 dims vanish. A reduction accumulates in a stack slot (promoted to a register by SROA) of the
reduced value's register type; a float sum's add carries the fast-math flags 'reassoc contract' so the
vectorizer may split it into partial sums: the result then differs from a sequential sum by rounding
order only (relative error within ~n*eps in the worst case, far smaller in practice).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from llvmlite import ir

from .. import ops
from . import mathfns as M
from . import scalar
from .loops import counted_loop
from .spec import ElementwiseKernel, ReduceKernel, validate
from ..kernel import contiguous_strides as scalar_strides

SYMBOL = "tt_kernel_symbol"  # replaced by the cache-keyed symbol in jit.py
REDUCE_FLAGS = ["reassoc", "contract"]


@dataclass(frozen=True)
class Dim:
    extent: int
    strides: tuple  # one per input view, then the output's
    reduced: bool


@dataclass(frozen=True)
class Generated:
    ir: str  # the module, function named SYMBOL
    outer_extent: int  # the range [start, stop) of the outermost loop covers [0, outer_extent)
    work: int  # points in the iteration space: the parallel split's size measure
    check_bounds: bool


def loop_dims(k) -> list[Dim]:
    """The iteration space in loop order, size-1 dims dropped and mergeable neighbours merged."""
    shape = k.shape if isinstance(k, ElementwiseKernel) else k.in_shape
    axes = () if isinstance(k, ElementwiseKernel) else k.axes
    out_strides = scalar_strides(k.shape)
    dims = []
    for d, n in enumerate(shape):
        red = d in axes
        strides = tuple(_view_stride(v, d) for v in k.views)
        dims.append(Dim(n, strides + (0 if red else out_strides[d],), red))
    order = [d for d in dims if not d.reduced] + [d for d in dims if d.reduced]
    merged: list[Dim] = []
    for d in order:
        if d.extent == 1:
            continue
        if merged and merged[-1].reduced == d.reduced and all(
                so == si * d.extent for so, si in zip(merged[-1].strides, d.strides)):
            merged[-1] = Dim(merged[-1].extent * d.extent, d.strides, d.reduced)
        else:
            merged.append(d)
    if not merged or merged[0].reduced:  # the parallel (outermost) loop must be a kept dim
        merged.insert(0, Dim(1, (0,) * (len(k.views) + 1), False))
    return merged


def _view_stride(view, d):
    """A view's step along iteration dim d: epilogue views (keepdims shape) stay put along reduced dims."""
    return 0 if view.shape[d] == 1 else view.strides[d]


class _Emitter:
    def __init__(self, k, check_bounds: bool, attributes: tuple):
        validate(k)
        self.k, self.check = k, check_bounds
        self.dims = loop_dims(k)
        self.module = ir.Module(name=k.name)
        arrays = (k.out_dtype,) + tuple(k.inputs)
        args = [scalar.mem_type(d).as_pointer() for d in arrays] + [M.I64, M.I64]
        if check_bounds:
            args += [M.I64] * len(arrays)
        self.fn = ir.Function(self.module, ir.FunctionType(M.I32, args), name=SYMBOL)
        self.fn.attributes.add("nounwind")
        for a in attributes:  # raw string attributes: llvmlite's add() only knows the keyword ones
            set.add(self.fn.attributes, a)
        self.ptrs = self.fn.args[:len(arrays)]
        for p in self.ptrs:
            p.add_attribute("noalias")
        self.start, self.stop = self.fn.args[len(arrays):len(arrays) + 2]
        self.sizes = self.fn.args[len(arrays) + 2:]
        self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.fail_blocks: dict[int, ir.Block] = {}

    # ---- addresses

    def address(self, array: int, offset):
        if self.check:
            b = self.b
            ok = b.icmp_unsigned("<", offset, self.sizes[array])
            cont = self.fn.append_basic_block("in_bounds")
            b.cbranch(ok, cont, self._fail(array))
            b.position_at_end(cont)
        return self.b.gep(self.ptrs[array], [offset])

    def _fail(self, array: int) -> ir.Block:
        if array not in self.fail_blocks:
            blk = self.fn.append_basic_block(f"out_of_bounds_{array}")
            ir.IRBuilder(blk).ret(ir.Constant(M.I32, array + 1))
            self.fail_blocks[array] = blk
        return self.fail_blocks[array]

    # ---- loops

    def loop(self, lo, hi, body):
        counted_loop(self.b, self.fn, lo, hi, body)

    def nest(self, dims, offsets, inner, outermost=False):
        """Loops over `dims` (the outermost one over [start, stop) when `outermost`); `offsets` holds the
        running element offset of each view, then the output's."""
        if not dims:
            return inner(offsets)
        d = dims[0]
        lo, hi = (self.start, self.stop) if outermost else (ir.Constant(M.I64, 0), ir.Constant(M.I64, d.extent))

        def body(i):
            offs = [o if s == 0 else self.b.add(o, self.b.mul(i, ir.Constant(M.I64, s)))
                    for o, s in zip(offsets, d.strides)]
            self.nest(dims[1:], offs, inner)
        self.loop(lo, hi, body)

    # ---- scalar bodies

    def evaluate(self, body, offsets, acc=None):
        b, vals = self.b, []
        for s in body:
            if s.op == "load":
                mem = b.load(self.address(s.arg + 1, offsets[s.arg]))
                v = scalar.load_convert(b, mem, self.k.inputs[s.arg])
            elif s.op == "const":
                v = scalar.constant(s.arg, s.dtype)
            elif s.op == "acc":
                v = acc
            else:
                args = [vals[i] for i in s.srcs]
                in_dtype = body[s.srcs[-1]].dtype
                v = ops.OPS[s.op].llvm(b, args, in_dtype, s.dtype)
            vals.append(v)
        return vals

    def store(self, value, dtype, offset):
        self.b.store(scalar.store_convert(self.b, value, dtype), self.address(0, offset))

    # ---- kernels

    def elementwise(self):
        k = self.k

        def inner(offs):
            vals = self.evaluate(k.body, offs)
            self.store(vals[k.out], k.out_dtype, offs[-1])
        self.nest(self.dims, self._initial_offsets(), inner, outermost=True)

    def reduce(self):
        k, b = self.k, self.b
        acc_dtype = k.body[-1].dtype
        acc_ty = scalar.reg_type(acc_dtype)
        with b.goto_block(self.fn.entry_basic_block):
            slot = b.alloca(acc_ty, name="acc")
        first_reduced = next((i for i, d in enumerate(self.dims) if d.reduced), len(self.dims))
        kept, reduced = self.dims[:first_reduced], self.dims[first_reduced:]
        combine = self._combiner(acc_dtype)

        def per_output(offs):
            b.store(self._identity(acc_dtype), slot)

            def per_input(in_offs):
                v = self.evaluate(k.body, in_offs)[-1]
                b.store(combine(b.load(slot), v), slot)
            self.nest(reduced, offs, per_input)
            acc = b.load(slot)
            value = self.evaluate(k.epilogue, offs, acc)[-1] if k.epilogue else acc
            self.store(value, k.out_dtype, offs[-1])

        self.nest(kept, self._initial_offsets(), per_output, outermost=True)

    def _initial_offsets(self):
        return [ir.Constant(M.I64, v.offset) for v in self.k.views] + [ir.Constant(M.I64, 0)]

    def _identity(self, dtype):
        dtype = np.dtype(dtype)
        if self.k.reduce_op == "sum" or scalar.is_bool(dtype):
            return scalar.constant(0, dtype)
        if scalar.is_float(dtype):
            return scalar.constant(-math.inf, dtype)
        return scalar.constant(np.iinfo(dtype).min, dtype)

    def _combiner(self, dtype):
        b = self.b
        if self.k.reduce_op == "max" and scalar.is_float(dtype):
            return lambda a, v: M.call(b, "maximum", a, v)  # NaN-propagating, like np.max
        if self.k.reduce_op == "sum" and scalar.is_float(dtype):
            def fsum(a, v):
                r = b.fadd(a, v)
                r.flags += REDUCE_FLAGS
                return r
            return fsum
        lowering = ops.OPS["add" if self.k.reduce_op == "sum" else "maximum"].llvm
        return lambda a, v: lowering(b, [a, v], dtype, dtype)

    def finish(self) -> str:
        self.b.ret(ir.Constant(M.I32, 0))
        return str(self.module)


def generate(k, check_bounds: bool = False, attributes: tuple = ()) -> Generated:
    """IR for spec `k`; `attributes` are raw LLVM function attributes such as '"prefer-vector-width"="512"'."""
    e = _Emitter(k, check_bounds, attributes)
    if isinstance(k, ElementwiseKernel):
        e.elementwise()
    elif isinstance(k, ReduceKernel):
        e.reduce()
    else:
        raise TypeError(f"not a kernel spec: {type(k).__name__}")
    shape = k.shape if isinstance(k, ElementwiseKernel) else k.in_shape
    return Generated(e.finish(), e.dims[0].extent, math.prod(shape), check_bounds)
