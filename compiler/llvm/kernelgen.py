"""LLVM IR for the pipeline's Kernels: each stage of a kernel becomes one function in a shared module.

A stage function is `i32 NAME(i8** table, i64* sizes, i64 start, i64 stop)`. `table` holds one pointer per
array of the whole Program (its slots, embedded constants, scratch), so a stage knows at compile time which
entries it reads and writes, and the runtime binds the table once per run instead of once per kernel. It
loads its pointers and calls `NAME.body`, whose pointer parameters are `noalias` (distinct table entries
never overlap: lower_llvm maps an in-place output onto the entry it overwrites) and which is inlined. The
outermost loop runs over [start, stop) only, so parallel.py can split it across threads. The return value is
0, or 1 + the table index of an array an address fell outside of (TINYTORCH_CHECK_BOUNDS=1), or INDEX_ERROR
when a gather/scatter index is out of range.

Operands are read where they live: a Ref's chain of movement ops becomes index arithmetic. The longest
prefix of the chain that is a strided View gives an affine offset (stride 0 for a broadcast, permuted
strides, slice offsets, unfold windows); a reshape no View expresses is linearized and split again by
division by constants. A value of the same kernel seen through a movement op is recomputed at the moved
index (elementwise producers are cheap; lower_llvm materializes reductions and matmuls first).

Loop nests keep the innermost loop unit-stride where they can: axes that every operand reads as one run
in memory are looped as one, and a parallel outer loop too short to share evenly over threads is merged
with the next.

Stage kinds: `pointwise` (one loop nest over the stored value's shape), `reduce` (kept dims outside,
reduced dims inside, the elementwise ops after the reduction evaluated once per output element; where
kept dims follow the reduced ones, as in a bias gradient or a pooling window, a row of accumulators over
those kept dims instead, each reduced index adding a row into it), `row`
(a row kernel: per index of the kept dims, one loop over the reduced dims per reduction, each reduced
value a scalar once its loop ends, then one loop storing the root over the row),
`accumulate` (scatter_add and fold: zero the output, then one serial read-modify-write loop; a fold
walks its source in memory order) and `rand`
(NumPy's SeedSequence + PCG64 + random(), bit for bit, so both backends draw the same numbers).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from llvmlite import ir

from .. import ops
from ..kernel import View, contiguous_strides as scalar_strides
from . import mathfns as M
from . import scalar
from .loops import counted_loop

I8P = ir.IntType(8).as_pointer()
I128 = ir.IntType(128)
INDEX_ERROR = 0xFFFFF  # a stage's return code: a gather/scatter index out of range
REDUCE_FLAGS = ["reassoc", "contract"]
PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645  # NumPy's PCG64 (XSL-RR) multiplier
SEEDSEQ = dict(init_a=0x43b0d7e5, mult_a=0x931e8875, init_b=0x8b51f9dd, mult_b=0x58f38ded,
               mix_l=0xca01f9dd, mix_r=0x4973f715)
ROW_COSTLY = frozenset({"exp", "log", "tanh", "erf", "sin", "cos", "pow"})  # a row kernel stores, not redoes
MIN_OUTER_EXTENT = 16  # a shorter outermost loop is merged with the next, so threads get even shares
MIN_ROW_WIDTH = 8  # a reduction over outer axes loops rows at least this long, else one output at a time
MAX_ROW_ACC = 1 << 13  # accumulators on the stack (64 KB of float64) of a reduction over outer axes
POINTWISE_OPS = frozenset(n for n, d in ops.OPS.items() if d.kind in ops.ELEMENTWISE) | {"assign", "copy"}


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


def _int(v):
    return isinstance(v, (int, np.integer))


class StageEmitter:
    def __init__(self, module, k, stage: Stage, place: Placement, check: bool, attributes=()):
        self.k, self.st, self.place, self.check = k, stage, place, check
        self.arrays = sorted(self._arrays())
        self.param = {t: i for i, t in enumerate(self.arrays)}
        ptypes = [scalar.mem_type(place.dtypes[t]).as_pointer() for t in self.arrays]
        body_ty = ir.FunctionType(M.I32, ptypes + [M.I64.as_pointer(), M.I64, M.I64])
        self.fn = ir.Function(module, body_ty, name=stage.name + ".body")
        self.fn.linkage = "internal"
        self.fn.attributes.add("alwaysinline")
        self.fn.attributes.add("nounwind")
        for a in attributes:
            set.add(self.fn.attributes, a)
        for p in self.fn.args[:len(ptypes)]:
            p.add_attribute("noalias")
        self.ptrs = self.fn.args[:len(ptypes)]
        self.sizes, self.start, self.stop = self.fn.args[len(ptypes):]
        entry = self.fn.append_basic_block("entry")
        self.eb = ir.IRBuilder(entry)
        self.body_block = self.fn.append_basic_block("body")
        self.b = ir.IRBuilder(self.body_block)
        self.memo, self.acc, self.fails = {}, None, {}
        self._wrapper(module, ptypes)

    def _arrays(self):
        out = {self.st.dst}
        out.update(self.st.materialized.values())
        out.update(t for t in self.place.inputs)
        out.update(t for t in self.place.consts if t is not None)
        return out

    def _wrapper(self, module, ptypes):
        ty = ir.FunctionType(M.I32, [I8P.as_pointer(), M.I64.as_pointer(), M.I64, M.I64])
        fn = ir.Function(module, ty, name=self.st.name)
        fn.attributes.add("nounwind")
        table, sizes, start, stop = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        args = [b.bitcast(b.load(b.gep(table, [ir.Constant(M.I64, t)])), pt) for t, pt in zip(self.arrays, ptypes)]
        b.ret(b.call(self.fn, args + [sizes, start, stop]))

    # ---- integers (Python ints fold)

    def add(self, a, c):
        if _int(a) and _int(c):
            return int(a) + int(c)
        if _int(c) and c == 0:
            return a
        if _int(a) and a == 0:
            return c
        return self.b.add(self.i64(a), self.i64(c))

    def mul(self, a, c: int):
        if _int(a):
            return int(a) * c
        return a if c == 1 else 0 if c == 0 else self.b.mul(a, ir.Constant(M.I64, c))

    def i64(self, v):
        return ir.Constant(M.I64, int(v)) if _int(v) else v

    def affine(self, idx, strides, offset=0):
        acc = offset
        for i, s in zip(idx, strides):
            acc = self.add(acc, self.mul(i, s))
        return acc

    # ---- memory

    def address(self, t, offset):
        p = self.param[t]
        off = self.i64(offset)
        if self.check:
            b = self.b
            size = self._size(t)
            cont = self.fn.append_basic_block("in_bounds")
            b.cbranch(b.icmp_unsigned("<", off, size), cont, self._fail(t + 1))
            b.position_at_end(cont)
        return self.b.gep(self.ptrs[p], [off])

    def _size(self, t):
        key = ("size", t)
        if key not in self.fails:
            self.fails[key] = self.eb.load(self.eb.gep(self.sizes, [ir.Constant(M.I64, t)]))
        return self.fails[key]

    def _fail(self, code):
        if code not in self.fails:
            blk = self.fn.append_basic_block(f"fail_{code}")
            ir.IRBuilder(blk).ret(ir.Constant(M.I32, code))
            self.fails[code] = blk
        return self.fails[code]

    def load(self, t, offset):
        dtype = self.place.dtypes[t]
        return scalar.load_convert(self.b, self.b.load(self.address(t, offset)), dtype)

    def store(self, t, offset, value):
        dtype = self.place.dtypes[t]
        self.b.store(scalar.store_convert(self.b, value, dtype), self.address(t, offset))

    # ---- loops

    def loop(self, lo, hi, body):
        counted_loop(self.b, self.fn, lo, hi, body)

    def nest(self, dims, shape, body, outer, inner_loop=True):
        """Loops over the axes `dims` of `shape` (the first over [start, stop) when `outer`); body(env) gets
        a dict axis -> index value. Returns the outer loop's extent. A short outer loop is merged with the
        next ones, all of them unless `inner_loop` (the body loops no further itself)."""
        def rec(i, env):
            if i == len(dims):
                saved = dict(self.memo)
                body(env)
                self.memo = saved
                return
            d = dims[i]
            lo, hi = ((self.start, self.stop) if outer and i == 0
                      else (ir.Constant(M.I64, 0), ir.Constant(M.I64, shape[d])))
            self.loop(lo, hi, lambda v: rec(i + 1, {**env, d: v}))
        if outer and not dims:
            b = self.b
            run = self.fn.append_basic_block("once")
            done = self.fn.append_basic_block("done")
            b.cbranch(b.icmp_signed("<", self.start, self.stop), run, done)
            b.position_at_end(run)
            rec(0, {})
            b.branch(done)
            b.position_at_end(done)
            return 1
        if outer and len(dims) > 1 and shape[dims[0]] < MIN_OUTER_EXTENT:
            return self._merged_outer(dims, shape, body, len(dims) - 1 if inner_loop else len(dims))
        rec(0, {})
        return shape[dims[0]] if outer else 1

    def _merged_outer(self, dims, shape, body, most):
        """A parallel loop too short to split evenly over threads: one loop over up to `most` leading dims
        together, each index recovered by division."""
        m = 1
        while m < most and math.prod(shape[d] for d in dims[:m]) < MIN_OUTER_EXTENT:
            m += 1
        lead, rest = dims[:m], dims[m:]
        extent = math.prod(shape[d] for d in lead)

        def outer(i):
            env, q = {}, i
            for d in reversed(lead):
                n = ir.Constant(M.I64, shape[d])
                env[d] = q if d == lead[0] else self.b.urem(q, n)
                if d != lead[0]:
                    q = self.b.udiv(q, n)
            self.nest(rest, shape, lambda e: body({**env, **e}), outer=False)
        saved = dict(self.memo)
        self.loop(self.start, self.stop, outer)
        self.memo = saved
        return extent

    # ---- values

    def operand(self, r):
        """What operand `r` names (an op's Info, an input's base Info or a constant array): shape, dtype."""
        if r.kind == "t":
            return self.k.ops[r.index].info
        if r.kind == "in":
            return self.k.inputs[r.index].base
        return self.k.consts[r.index]

    def shape_of(self, r):
        return self.operand(r).shape

    def dtype_of(self, r):
        return self.operand(r).dtype

    def ref(self, r, idx):
        """The value of operand `r` at index `idx` (a list over the operand's shape after its chain)."""
        base = self.shape_of(r)
        if r.kind == "c" and self.place.consts[r.index] is None:
            c = self.k.consts[r.index]
            return scalar.constant(c.reshape(-1)[0] if c.size else 0, c.dtype)
        shapes = [tuple(base)] + [tuple(c.shape) for c in r.chain]
        if r.kind == "t":
            for c, src in zip(reversed(r.chain), reversed(shapes[:-1])):
                idx = self.unmove(c, src, idx)
            return self.value(r.index, idx)
        view, n = View.contiguous(base), 0
        for c in r.chain:
            nxt = view.apply(c)
            if nxt is None:
                break
            view, n = nxt, n + 1
        for c, src in zip(reversed(r.chain[n:]), reversed(shapes[n:-1])):
            idx = self.unmove(c, src, idx)
        t = self.place.inputs[r.index] if r.kind == "in" else self.place.consts[r.index]
        return self.load(t, self.affine(idx, view.strides, view.offset))

    def unmove(self, info, src, idx):
        """Index into a movement op's source, from an index into its result."""
        op, arg = info.op, info.arg
        if op == "detach":
            return idx
        if op == "permute":
            out = [0] * len(idx)
            for k, a in enumerate(arg):
                out[a] = idx[k]
            return out
        if op == "expand":
            return [0 if s == 1 else i for s, i in zip(src, idx)]
        if op == "slice":
            return [self.add(self.mul(i, step), start) for i, (start, _, step) in zip(idx, arg)]
        if op == "unfold":
            (_, _), (sh, sw), (dh, dw) = arg
            lead = list(idx[:-4])
            i, j, oh, ow = idx[-4:]
            return lead + [self.add(self.mul(oh, sh), self.mul(i, dh)), self.add(self.mul(ow, sw), self.mul(j, dw))]
        if op == "reshape":
            lin = self.affine(idx, scalar_strides(info.shape))
            out = []
            for d, (n, st) in enumerate(zip(src, scalar_strides(src))):
                if n == 1:
                    out.append(0)
                    continue
                q = lin // st if _int(lin) else (lin if st == 1 else self.b.udiv(lin, ir.Constant(M.I64, st)))
                if d > 0:
                    q = q % n if _int(q) else self.b.urem(q, ir.Constant(M.I64, n))
                out.append(q)
            return out
        raise NotLowerable(f"movement op {op!r} in an operand chain")

    @staticmethod
    def _key(j, idx):
        return (j, tuple(v if _int(v) else id(v) for v in idx))

    def value(self, j, idx):
        key = self._key(j, idx)
        if key not in self.memo:
            self.memo[key] = self._compute(j, idx)
        return self.memo[key]

    def _compute(self, j, idx):
        if j in self.st.materialized:
            t = self.st.materialized[j]
            return self.load(t, self.affine(idx, scalar_strides(self.k.ops[j].info.shape)))
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
            return ops.OPS[op].llvm(self.b, args, self.dtype_of(o.srcs[-1]), info.dtype)
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
        src = self.shape_of(o.srcs[0]) if not o.srcs[0].chain else o.srcs[0].chain[-1].shape
        ok, inner = None, []
        for i, (lo, hi), n in zip(idx, pads, src):
            if lo == 0 and hi == 0:
                inner.append(i)
                continue
            s = b.sub(self.i64(i), ir.Constant(M.I64, lo))
            valid = b.icmp_unsigned("<", s, ir.Constant(M.I64, n))
            ok = valid if ok is None else b.and_(ok, valid)
            inner.append(b.select(valid, s, ir.Constant(M.I64, 0)))
        v = self.ref(o.srcs[0], inner)
        return v if ok is None else b.select(ok, v, scalar.constant(fill, o.info.dtype))

    def index(self, r, idx, size):
        """An integer operand as an i64 index, checked against [0, size)."""
        b = self.b
        v = self.ref(r, idx)
        dt = self.dtype_of(r)
        if v.type.width < 64:
            v = b.zext(v, M.I64) if scalar.is_unsigned(dt) else b.sext(v, M.I64)
        cont = self.fn.append_basic_block("index_ok")
        b.cbranch(b.icmp_unsigned("<", v, ir.Constant(M.I64, size)), cont, self._fail(INDEX_ERROR))
        b.position_at_end(cont)
        return v

    def _gather(self, o, idx):
        axis = o.info.arg
        x, ix = o.srcs
        src = list(idx)
        src[axis] = self.index(ix, idx, self._final_shape(x)[axis])
        return self.ref(x, src)

    def _final_shape(self, r):
        return r.chain[-1].shape if r.chain else self.shape_of(r)

    def _arange(self, info, idx):
        start, step, _, dtype = info.arg
        b, i = self.b, self.i64(idx[0])
        if scalar.is_float(dtype):
            v = b.fadd(M.c(M.F64, float(start)), b.fmul(M.c(M.F64, float(step)), b.sitofp(i, M.F64)))
            return ops.OPS["cast"].llvm(b, [v], np.dtype("float64"), dtype)
        v = b.add(ir.Constant(M.I64, int(start)), b.mul(i, ir.Constant(M.I64, int(step))))
        return ops.OPS["cast"].llvm(b, [v], np.dtype("int64"), dtype)

    # ---- stages

    def emit(self):
        kind = self.st.kind
        if kind == "pointwise":
            self.pointwise()
        elif kind == "reduce":
            self.reduce()
        elif kind == "row":
            self.row()
        elif kind == "accumulate":
            self.accumulate()
        elif kind == "rand":
            self.rand()
        else:
            raise NotLowerable(f"stage kind {kind!r}")
        self.b.ret(ir.Constant(M.I32, 0))
        self.eb.branch(self.body_block)

    def pointwise(self):
        shape = self.k.ops[self.st.root].info.shape
        dims = [d for d, n in enumerate(shape) if n != 1]
        strides = scalar_strides(shape)
        loop_shape, dims = self._merge_elementwise(shape, dims)

        def body(env):
            idx = [env.get(d, 0) for d in range(len(shape))]
            self.store(self.st.dst, self.affine(idx, strides), self.value(self.st.root, idx))
        self.st.extent = self.nest(dims, loop_shape, body, outer=True)
        self.st.work = math.prod(shape)

    def _merge_elementwise(self, shape, dims):
        """Adjacent axes along which every operand of a purely elementwise stage is one run in memory,
        looped as one (a [16, 64, 10, 10] copy loops rows of 100, not of 10). The loop shape and axes."""
        views = []
        for j in self._stage_ops():
            o = self.k.ops[j]
            if j in self.st.materialized:
                continue
            if o.info.op not in POINTWISE_OPS or o.info.shape != tuple(shape):
                return shape, dims
            for r in o.srcs:
                if r.kind == "t" and not r.chain:
                    continue
                if r.kind == "c" and self.place.consts[r.index] is None:
                    continue
                v = self._view(r)
                if v is None:
                    return shape, dims
                views.append(v)
        return merge_runs(views, shape, dims)

    def _stage_ops(self):
        """Indices of the kernel's ops this stage evaluates: the root and what it reads, up to materialized
        values."""
        seen, todo = set(), [self.st.root]
        while todo:
            j = todo.pop()
            if j in seen:
                continue
            seen.add(j)
            if j in self.st.materialized:
                continue
            todo += [r.index for r in self.k.ops[j].srcs if r.kind == "t"]
        return sorted(seen)

    def reduce(self):
        k, st, b = self.k, self.st, self.b
        core = k.ops[st.core]
        axes = core.info.arg
        in_shape = self._final_shape(core.srcs[0])
        out_shape = core.info.shape
        dtype = core.info.dtype
        kept = [d for d, n in enumerate(in_shape) if n != 1 and d not in axes]
        red = [d for d in axes if in_shape[d] != 1]
        combine = self._combiner(core.info.op, dtype)
        strides = scalar_strides(k.ops[st.root].info.shape)
        trailing = [d for d in kept if not red or d > max(red)]
        if trailing and math.prod(in_shape[d] for d in trailing) <= MAX_ROW_ACC:
            loop_shape, rows = self._flat_rows(core, in_shape, trailing)
            if loop_shape[rows[-1]] >= MIN_ROW_WIDTH:
                self._reduce_rows(core, loop_shape, [d for d in kept if d not in trailing], red, rows, combine,
                                  strides)
                return
        slot = self.eb.alloca(scalar.reg_type(dtype), name="acc")
        red_shape, red = self._merge_runs(core.srcs[0], in_shape, red)

        def per_out(env):
            b.store(self._identity(core.info.op, dtype), slot)

            def per_in(env2):
                full = [env2.get(d, env.get(d, 0)) for d in range(len(in_shape))]
                b.store(combine(b.load(slot), self.ref(core.srcs[0], full)), slot)
            self.nest(red, red_shape, per_in, outer=False)
            self.acc = (st.core, b.load(slot))
            idx = [env.get(d, 0) for d in range(len(out_shape))]
            self.store(st.dst, self.affine(idx, strides), self.value(st.root, idx))
            self.acc = None
        st.extent = self.nest(kept, in_shape, per_out, outer=True, inner_loop=False)
        st.work = math.prod(in_shape)

    def _flat_rows(self, core, in_shape, trailing):
        """The loop shape and axes of a row reduction: with no epilogue and a strided source, trailing axes
        that lie in memory as one run are looped as one (the earlier axes' index 0, the last's the whole
        offset), so a 14 x 14 window is one loop of 196."""
        if self.st.root != self.st.core:
            return in_shape, trailing
        return self._merge_runs(core.srcs[0], in_shape, trailing)

    def _merge_runs(self, r, shape, dims):
        """Adjacent axes of `dims` along which operand `r` (a View) is one run in memory, looped as one: the
        loop shape (each run's extent on its last axis, 1 on the others) and the axes left to loop."""
        view = self._view(r)
        if view is None:
            return shape, dims
        return merge_runs([view], shape, dims)

    def _reduce_rows(self, core, in_shape, lead, red, trailing, combine, strides):
        """A reduction over axes outside some kept ones (a bias gradient, a pooling window): per index of the
        leading kept axes, a vector of accumulators over the trailing kept axes, each reduced index adding
        a whole contiguous row into it, so the innermost loop runs over kept (unit-stride) elements."""
        st, b, dtype = self.st, self.b, core.info.dtype
        width = math.prod(in_shape[d] for d in trailing)
        vec = self.eb.alloca(scalar.reg_type(dtype), size=ir.Constant(M.I64, width), name="acc_row")
        tstrides = dict(zip(trailing, scalar_strides([in_shape[d] for d in trailing])))

        def slot(env):
            return b.gep(vec, [self.i64(self.affine([env[d] for d in trailing], [tstrides[d] for d in trailing]))])

        def per_lead(env):
            self.nest(trailing, in_shape, lambda e: b.store(self._identity(core.info.op, dtype), slot(e)),
                      outer=False)

            def per_red(env2):
                def add_row(env3):
                    e = {**env, **env2, **env3}
                    full = [e.get(d, 0) for d in range(len(in_shape))]
                    p = slot(e)
                    b.store(combine(b.load(p), self.ref(core.srcs[0], full)), p)
                self.nest(trailing, in_shape, add_row, outer=False)
            self.nest(red, in_shape, per_red, outer=False)

            def store(env2):
                e = {**env, **env2}
                self.acc = (st.core, b.load(slot(e)))
                idx = [e.get(d, 0) for d in range(len(core.info.shape))]
                self.store(st.dst, self.affine(idx, strides), self.value(st.root, idx))
                self.acc = None
            self.nest(trailing, in_shape, store, outer=False)
        st.extent = self.nest(lead, in_shape, per_lead, outer=True, inner_loop=False)
        st.work = math.prod(in_shape)

    def row(self):
        k, st, b = self.k, self.st, self.b
        reds = [j for j, o in enumerate(k.ops) if o.info.op in ("sum", "max")]
        axes = k.ops[reds[0]].info.arg
        full = self._final_shape(k.ops[reds[0]].srcs[0])
        part = k.ops[reds[0]].info.shape
        kept = [d for d, n in enumerate(full) if n != 1 and d not in axes]
        red = [d for d in axes if full[d] != 1]
        scalars = [j for j, o in enumerate(k.ops) if o.info.shape == part and j not in reds]
        keep = self._row_kept(reds, full)
        strides = scalar_strides(full)

        def per_row(env):
            at = [env.get(d, 0) for d in range(len(full))]
            done = 0
            for j in reds + [len(k.ops)]:
                for s in scalars:  # the reduced values ready before this loop: computed once per row
                    if done <= s < j:
                        self.value(s, at)
                done = j
                if j == len(k.ops):
                    break
                core = k.ops[j]
                dtype = core.info.dtype
                slot = self.eb.alloca(scalar.reg_type(dtype), name="acc")
                combine = self._combiner(core.info.op, dtype)
                b.store(self._identity(core.info.op, dtype), slot)

                first = keep is not None and keep not in st.materialized and keep in self._row_deps(j)

                def per_in(env2, core=core, slot=slot, combine=combine, first=first):
                    idx = [env2.get(d, env.get(d, 0)) for d in range(len(full))]
                    b.store(combine(b.load(slot), self.ref(core.srcs[0], idx)), slot)
                    if first:
                        self.store(st.dst, self.affine(idx, strides), self.value(keep, idx))
                self.nest(red, full, per_in, outer=False)
                self.memo[self._key(j, at)] = b.load(slot)
                if first:
                    st.materialized[keep] = st.dst
            if k.ops[st.root].info.shape == part:
                self.store(st.dst, self.affine(at, scalar_strides(part)), self.value(st.root, at))
                return

            def per_out(env2):
                idx = [env2.get(d, env.get(d, 0)) for d in range(len(full))]
                self.store(st.dst, self.affine(idx, strides), self.value(st.root, idx))
            self.nest(red, full, per_out, outer=False)
        st.extent = self.nest(kept, full, per_row, outer=True, inner_loop=False)
        st.work = math.prod(full) * (len(reds) + 1)

    def _row_deps(self, j) -> set:
        """Ops of the input's shape that op j reads within one loop over a row (not through a reduction)."""
        seen, todo = set(), [j]
        while todo:
            for r in self.k.ops[todo.pop()].srcs:
                if r.kind == "t" and r.index not in seen and self.k.ops[r.index].info.op not in ("sum", "max"):
                    seen.add(r.index)
                    todo.append(r.index)
        return seen

    def _row_kept(self, reds, full):
        """The costly op (exp of softmax) that a reduction's loop computes and the output loop needs again:
        stored into the output row by the first loop, read back (from cache) by the later ones. Or None."""
        root = self.k.ops[self.st.root].info
        if root.shape != full:
            return None
        early = set().union(*(self._row_deps(j) for j in reds))
        late = self._row_deps(self.st.root)
        both = [j for j in early & late if self.k.ops[j].info.op in ROW_COSTLY
                and self.k.ops[j].info.shape == full and self.k.ops[j].info.dtype == root.dtype]
        return max(both) if both else None

    def _identity(self, op, dtype):
        dtype = np.dtype(dtype)
        if op == "sum" or scalar.is_bool(dtype):
            return scalar.constant(0, dtype)
        if scalar.is_float(dtype):
            return scalar.constant(-math.inf, dtype)
        return scalar.constant(np.iinfo(dtype).min, dtype)

    def _combiner(self, op, dtype):
        b = self.b
        if op == "max" and scalar.is_float(dtype):
            return lambda a, v: M.call(b, "maximum", a, v)  # NaN-propagating, like np.max
        if op == "sum" and scalar.is_float(dtype):
            def fsum(a, v):
                r = b.fadd(a, v)
                r.flags += REDUCE_FLAGS
                return r
            return fsum
        lowering = ops.OPS["add" if op == "sum" else "maximum"].llvm
        return lambda a, v: lowering(b, [a, v], dtype, dtype)

    def accumulate(self):
        """scatter_add / fold: zero the output, then add each source element at its computed index."""
        o = self.k.ops[self.st.root]
        info, b = o.info, self.b
        out_shape, dtype, dst = info.shape, info.dtype, self.st.dst
        ostr = scalar_strides(out_shape)
        zero = scalar.constant(0, dtype)
        n_out = math.prod(out_shape)

        def zero_all(_):
            self.loop(ir.Constant(M.I64, 0), ir.Constant(M.I64, n_out), lambda i: self.store(dst, i, zero))

        def add_at(offset, v):
            old = self.load(dst, offset)
            self.store(dst, offset, ops.OPS["add"].llvm(b, [old, v], dtype, dtype))

        if info.op == "scatter_add":
            axis, size = info.arg
            ix, src = o.srcs
            shape = self._final_shape(src)
            self.nest([], (), zero_all, outer=True)

            def body(env):
                idx = [env.get(d, 0) for d in range(len(shape))]
                tgt = list(idx)
                tgt[axis] = self.index(ix, idx, size)
                add_at(self.affine(tgt, ostr), self.ref(src, idx))
            self.nest([d for d, n in enumerate(shape) if n != 1], shape, body, outer=False)
            self.st.extent, self.st.work = 1, math.prod(shape) + n_out
            return
        if info.op != "fold":
            raise NotLowerable(f"accumulate stage for {info.op!r}")
        (kh, kw), (sh, sw), (dh, dw), _ = info.arg
        (x,) = o.srcs
        shape = self._final_shape(x)
        lead = len(shape) - 4
        per_row = math.prod(out_shape[1:]) if lead else n_out

        def block(env):
            base = self.mul(env.get(0, 0), ostr[0]) if lead else 0
            self.loop(ir.Constant(M.I64, 0), ir.Constant(M.I64, per_row),
                      lambda i: self.store(dst, self.add(base, i), zero))

            def body(env2):
                idx = [env2.get(d, env.get(d, 0)) for d in range(len(shape))]
                i, j, oh, ow = idx[-4:]
                tgt = idx[:-4] + [self.add(self.mul(oh, sh), self.mul(i, dh)), self.add(self.mul(ow, sw),
                                                                                       self.mul(j, dw))]
                add_at(self.affine(tgt, ostr), self.ref(x, idx))
            inner = [d for d in range(1 if lead else 0, len(shape)) if shape[d] != 1]
            self.nest(self._memory_order(x, inner), shape, body, outer=False)
        outer_dims = [0] if lead and shape[0] != 1 else []
        self.st.extent = self.nest(outer_dims, shape, block, outer=True)
        self.st.work = math.prod(shape) + n_out

    def _memory_order(self, r, dims):
        """`dims` ordered as operand `r` lies in memory (largest stride first), where its chain is a View:
        the reads of a fold then run through its source in order, the writes landing in a small output."""
        view = self._view(r)
        return dims if view is None else sorted(dims, key=lambda d: -abs(view.strides[d]))

    def _view(self, r):
        """Operand `r` as a strided View of the array it reads, or None (a fused value, an embedded scalar,
        a chain with a movement no View expresses)."""
        if r.kind == "t" or (r.kind == "c" and self.place.consts[r.index] is None):
            return None
        view = View.contiguous(self.shape_of(r))
        for c in r.chain:
            view = view.apply(c)
            if view is None:
                return None
        return view

    def rand(self):
        """NumPy's default_rng(seed).random(n) as float64, then cast: SeedSequence, PCG64 (XSL-RR), random()."""
        o = self.k.ops[self.st.root]
        b, info = self.b, o.info
        seed = self.ref(o.srcs[0], [])
        if seed.type != M.I64:
            seed = b.sext(seed, M.I64)
        st = self.st
        n = math.prod(info.shape)

        def body(_):
            state, inc = self._pcg_seed(seed)
            slot = self.eb.alloca(I128, name="pcg")
            self.b.store(state, slot)

            def draw(i):
                bb = self.b
                s = bb.add(bb.mul(bb.load(slot), ir.Constant(I128, PCG_MULT)), inc)
                bb.store(s, slot)
                hi = bb.trunc(bb.lshr(s, ir.Constant(I128, 64)), M.I64)
                x = bb.xor(hi, bb.trunc(s, M.I64))
                r = bb.lshr(hi, ir.Constant(M.I64, 58))
                left = bb.and_(bb.sub(ir.Constant(M.I64, 64), r), ir.Constant(M.I64, 63))
                out = bb.or_(bb.lshr(x, r), bb.shl(x, left))
                d = bb.fmul(bb.uitofp(bb.lshr(out, ir.Constant(M.I64, 11)), M.F64), M.c(M.F64, 2.0 ** -53))
                self.store(st.dst, i, ops.OPS["cast"].llvm(bb, [d], np.dtype("float64"), info.dtype))
            self.loop(ir.Constant(M.I64, 0), ir.Constant(M.I64, n), draw)
        st.extent = self.nest([], (), body, outer=True)
        st.work = n

    def _pcg_seed(self, seed):
        b, c = self.b, SEEDSEQ
        u32 = M.I32

        def k32(v):
            return ir.Constant(u32, v & 0xFFFFFFFF)
        words = [b.trunc(seed, u32), b.trunc(b.lshr(seed, ir.Constant(M.I64, 32)), u32), k32(0), k32(0)]
        h = [c["init_a"]]

        def hashmix(v):
            v = b.xor(v, k32(h[0]))
            h[0] = (h[0] * c["mult_a"]) & 0xFFFFFFFF
            v = b.mul(v, k32(h[0]))
            return b.xor(v, b.lshr(v, k32(16)))

        def mix(x, y):
            r = b.sub(b.mul(k32(c["mix_l"]), x), b.mul(k32(c["mix_r"]), y))
            return b.xor(r, b.lshr(r, k32(16)))
        pool = [hashmix(w) for w in words]
        for s in range(4):
            for d in range(4):
                if s != d:
                    pool[d] = mix(pool[d], hashmix(pool[s]))
        hb, state = c["init_b"], []
        for i in range(8):
            v = b.xor(pool[i % 4], k32(hb))
            hb = (hb * c["mult_b"]) & 0xFFFFFFFF
            v = b.mul(v, k32(hb))
            state.append(b.zext(b.xor(v, b.lshr(v, k32(16))), I128))

        def u64(i):
            return b.or_(state[2 * i], b.shl(state[2 * i + 1], ir.Constant(I128, 32)))

        def u128(i):
            return b.or_(b.shl(u64(i), ir.Constant(I128, 64)), u64(i + 1))
        initstate, initseq = u128(0), u128(2)
        inc = b.or_(b.shl(initseq, ir.Constant(I128, 1)), ir.Constant(I128, 1))
        mult = ir.Constant(I128, PCG_MULT)
        s = b.add(b.mul(ir.Constant(I128, 0), mult), inc)
        s = b.add(s, initstate)
        s = b.add(b.mul(s, mult), inc)
        return s, inc


def merge_runs(views, shape, dims):
    """Adjacent axes of `dims` along which every view is one run in memory, looped as one: the loop shape
    (each run's extent on its last axis, 1 on the others) and the axes left to loop."""
    if not dims:
        return tuple(shape), dims
    loop, runs = list(shape), [dims[0]]
    for d in dims[1:]:
        prev = runs[-1]
        if d == prev + 1 and all(v.strides[prev] == v.strides[d] * loop[d] for v in views):
            loop[d] *= loop[prev]
            loop[prev] = 1
            runs[-1] = d
        else:
            runs.append(d)
    return tuple(loop), runs


def emit_stage(module, k, stage: Stage, place: Placement, check: bool, attributes=()) -> None:
    StageEmitter(module, k, stage, place, check, attributes).emit()


def emit_segment(module, name: str, stages: list) -> None:
    """`i32 name(i8** table, i64* sizes)`: call each stage over its whole range; the first failure returns
    (position + 1) << 20 | its code."""
    ty = ir.FunctionType(M.I32, [I8P.as_pointer(), M.I64.as_pointer(), M.I64, M.I64])
    fn = ir.Function(module, ty, name=name)
    fn.attributes.add("nounwind")
    table, sizes, _, _ = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    for pos, st in enumerate(stages):
        callee = module.get_global(st.name)
        rc = b.call(callee, [table, sizes, ir.Constant(M.I64, 0), ir.Constant(M.I64, st.extent)])
        fail = fn.append_basic_block(f"fail{pos}")
        ok = fn.append_basic_block(f"ok{pos}")
        b.cbranch(b.icmp_signed("!=", rc, ir.Constant(M.I32, 0)), fail, ok)
        fb = ir.IRBuilder(fail)
        fb.ret(fb.or_(rc, ir.Constant(M.I32, (pos + 1) << 20)))
        b.position_at_end(ok)
    b.ret(ir.Constant(M.I32, 0))
