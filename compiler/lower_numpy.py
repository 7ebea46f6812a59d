"""Lower a Kernel to a Python callable over NumPy: `fn(out, *inputs) -> out`.

Each kernel becomes the source of one small Python function (kept in
`Lowered.code`, printed by TINYTORCH_DEBUG=4), compiled once: a straight line of
NumPy calls, each writing with `out=` into the output, a scratch array or a
fresh temporary, so running a kernel costs its NumPy calls and little else.

- The spine (see `spine`) writes straight into the output, and an optimizer
  update computes its last op straight into the parameter it assigns.
- A kernel whose intermediates are big runs in blocks of rows of axis 0
  (`plan_blocks`): each block's intermediates live in scratch arrays that are
  allocated once and reused by later ops once their value is dead, so a fused
  chain reads its inputs and writes its output once, from cache. The ops after
  a reduction (on the small reduced shape) run once, after the blocks.
- A uniform constant is a NumPy scalar, and a broadcast (`expand`) as the last
  view of a ufunc's operand is left to the ufunc: both skip building a strided
  view, and a broadcast row then stays one small array every block shares.
- A sum or max over axes of a few elements (pooling windows) is unrolled into
  elementwise ufuncs over slices: NumPy's reduce is slow over short strided
  axes. A sum of a product is one einsum (no product array). Other
  reductions are `ufunc.reduce` with `out=`.
- fold and erf have in-place versions (numpy_routines.py) that write `out`; an op with an `into` routine
  (convolution, compiler/ops/conv.py) is that call.
"""
from __future__ import annotations

import math
import threading

import numpy as np

from ..runtime import NumpyExecutable, NumpyStep, gemm
from .kernel import Kernel, Lowered, Ref
from .layout import info_of
from .numpy_blocks import assigned_in_place, plan_blocks, products, spine, UFUNCS
from .numpy_routines import erf_into, fold_into, overlaps
from .ops import GROUPS, OPS

SMALL_REDUCE = 8  # reductions over at most this many elements per output are unrolled


def lower(k: Kernel):
    """Decide blocking and the spine, generate the kernel's function: returns (fn, Lowered)."""
    writes_out = set(spine(k)) | {len(k.ops) - 1, assigned_in_place(k)} - {-1}
    fused = products(k, SMALL_REDUCE)
    blocks = plan_blocks(k, frozenset(fused.values()))
    gen = _Gen(k, writes_out - set(fused.values()), blocks, fused)
    src = gen.source()
    env = gen.env
    exec(compile(src, f"<tinytorch kernel k{k.index}>", "exec"), env)  # noqa: S102 - our own generated code
    return env["kernel"], Lowered("numpy", tuple(src.splitlines()), blocks.rows if blocks else 0,
                                  gen.scratch_bytes)


def lower_program(kernels, n_inputs, outputs, plan, frees):
    """The NumpyExecutable of a Program's kernels, and each kernel's Lowered record."""
    offsets = {b.name: b.offset for b in plan.buffers}
    steps, lowered = [], []
    for k in kernels:
        fn, low = lower(k)
        lowered.append(low)
        out = {"arena": "arena", "output": "fresh", "target": "target"}[k.out_kind]
        steps.append(NumpyStep(fn, tuple(i.slot for i in k.inputs), k.out_slot, out, k.shape, k.dtype,
                               offsets.get(f"k{k.index}", -1),
                               k.ops[-1].srcs[0].index if out == "target" else -1, frees[k.index]))
    exe = NumpyExecutable(n_inputs, tuple(steps), tuple(outputs), plan.peak_bytes,
                          tuple(k.describe() for k in kernels))
    return exe, tuple(lowered)


class _Gen:
    """Writes one kernel's function: names its views, places each value, emits one line per op."""

    def __init__(self, k: Kernel, writes_out: set, blocks, fused: dict):
        self.k, self.writes_out, self.blocks, self.fused = k, writes_out, blocks, fused
        self.elided = frozenset(fused.values())
        self.env = {"np": np, "_copyto": np.copyto, "_empty": np.empty, "_bc": np.broadcast_to, "_einsum": np.einsum,
                    "_matmul": gemm.matmul, "_fold_into": fold_into, "_overlaps": overlaps,
                    "_erf_into": erf_into}
        self.loop = blocks.loop if blocks else frozenset()
        self.views = {}  # (ref, chain length) -> name of the whole-array view made at entry
        self.head, self.scratch_bytes = [], 0
        self.consts = [_scalar(c) for c in k.consts]
        self.place = self._places()

    # ---------------------------------------------------------------- where each value lives

    def _places(self) -> list:
        """Per op: ("out",) | ("block", name) (a block's scratch) | ("whole", name) (a whole array: per call
        on whole-array kernels, allocated once on blocked ones)."""
        ops, loop = self.k.ops, self.loop
        order = [i for i in range(len(ops)) if i in loop] + \
            [i for i in range(len(ops)) if i not in loop and i not in self.elided]
        pos = {i: p for p, i in enumerate(order)}
        last = [-1] * len(ops)
        for i in order:
            srcs = ops[self.fused[i]].srcs if i in self.fused else ops[i].srcs  # an einsum reads the mul's operands
            for r in srcs:
                if r.kind == "t":
                    last[r.index] = pos[i]
        crossing = {r.index for i, o in enumerate(ops) if i not in loop and i not in self.elided for r in o.srcs
                    if r.kind == "t"}
        place, free, self.buffers = [None] * len(ops), [], {}
        for i in order:
            if i in self.writes_out:
                place[i] = ("out",)
                continue
            info = ops[i].info
            where = "block" if i in loop and i not in crossing else "whole"
            shape = (self.blocks.rows,) + info.shape[1:] if where == "block" else info.shape
            key = (where, shape, info.dtype)
            in_place = set()
            if info.op in UFUNCS:  # may overwrite an operand that dies here, read at the same index
                in_place = {r.index for r in ops[i].srcs if r.kind == "t"}
                in_place -= {r.index for r in ops[i].srcs if r.kind == "t" and r.chain}
            name = None
            for j, (buf, bkey, v) in enumerate(free):
                if bkey == key and (last[v] < pos[i] or last[v] == pos[i] and v in in_place):
                    name = buf
                    free.pop(j)
                    break
            if name is None:
                name = f"s{len(self.buffers)}"
                self.buffers[name] = key
                self.scratch_bytes += math.prod(shape) * info.dtype.itemsize
            free.append((name, key, i))
            place[i] = (where, name)
        return place

    def value(self, i: int, in_loop: bool) -> str:
        p = self.place[i]
        if p[0] == "out":
            return "o" if in_loop else "out"
        if p[0] == "whole" and self.blocks and in_loop:
            return "w" + p[1][1:]  # the block's rows of a whole array
        return p[1]

    # ---------------------------------------------------------------- operands

    def _const(self, value, prefix) -> str:
        name = f"{prefix}{len(self.env)}"
        self.env[name] = value
        return name

    def _chain(self, expr: str, chain, block: bool = False) -> str:
        """`expr` seen through `chain`; `block`: expr is one block of rows (chain is row-preserving)."""
        for info in _compose_permutes(chain):
            op, arg = info.op, tuple(info.arg) if isinstance(info.arg, (tuple, list)) else info.arg
            if op == "reshape":
                expr = f"{expr}.reshape({((-1,) + arg[1:]) if block else arg!r})"
            elif op == "permute":
                expr = f"{expr}.transpose({arg!r})"
            elif op == "expand":
                expr = f"_bc({expr}, (r1 - r0,) + {arg[1:]!r})" if block else f"_bc({expr}, {arg!r})"
            elif op == "slice":
                sl = tuple(slice(*s) for s in arg)
                expr = f"{expr}[{self._const((slice(None),) + sl[1:] if block else sl, 'SL')}]"
            elif op != "detach":
                expr = f"{self._const(OPS[op].numpy, 'MV')}({self._const(info, 'I')}, {expr})"
        return expr

    def operand(self, r: Ref, ufunc: bool, in_loop: bool) -> str:
        chain = r.chain
        if ufunc and chain and chain[-1].op == "expand":
            chain = chain[:-1]  # the ufunc broadcasts the operand itself
        if r.kind == "c" and ufunc and self.consts[r.index] is not None:
            return self._const(self.consts[r.index], "C")
        if r.kind == "t":
            return self._chain(self.value(r.index, in_loop), chain, block=in_loop)
        key = (r, len(chain))
        if key not in self.views:
            base = f"in{r.index}" if r.kind == "in" else self._const(self.k.consts[r.index], "CA")
            self.views[key] = f"x{len(self.views)}"
            self.head.append(f"    {self.views[key]} = {self._chain(base, chain)}")
        name = self.views[key]
        shape = chain[-1].shape if chain else self._base_shape(r)
        return f"{name}[r0:r1]" if in_loop and shape and shape[0] == self.blocks.n0 else name

    def _base_shape(self, r: Ref):
        if r.kind == "t":
            return self.k.ops[r.index].info.shape
        return self.k.inputs[r.index].base.shape if r.kind == "in" else self.k.consts[r.index].shape

    def _base_dtype(self, r: Ref):
        if r.kind == "t":
            return self.k.ops[r.index].info.dtype
        return self.k.inputs[r.index].base.dtype if r.kind == "in" else self.k.consts[r.index].dtype

    # ---------------------------------------------------------------- the function

    def source(self) -> str:
        k, blocks = self.k, self.blocks
        loop_lines, tail_lines, made = [], [], set()
        for i, o in enumerate(k.ops):
            if i in self.elided:
                continue
            in_loop = i in self.loop
            p = self.place[i]
            if not blocks and p[0] == "whole" and p[1] not in made:
                made.add(p[1])
                _, shape, dtype = self.buffers[p[1]]
                tail_lines.append(f"    {p[1]} = _empty({shape!r}, {self._const(dtype, 'DT')})")
            line = self.emit(i, o, self.value(i, in_loop), in_loop)
            (loop_lines if in_loop else tail_lines).append(("        " if in_loop else "    ") + line)
        params = "".join(f", in{j}" for j in range(len(k.inputs)))
        how = (f"blocks of {blocks.rows} rows of axis 0, then the ops after the reduction once" if blocks
               else "whole arrays")
        lines = [f"# kernel k{k.index}: {k.op} -> {k.dtype}{list(k.shape)}; {how}", f"def kernel(out{params}):"]
        guard = k.out_kind == "target" and (blocks is not None or any(
            self.place[i] is not None and self.place[i][0] == "out" for i in range(len(k.ops) - 1)))
        if guard:  # the target is written before the last op: nothing may read it under another name
            chained = sorted({r.index for o in k.ops for r in o.srcs if r.kind == "in" and r.chain})
            plain = sorted({r.index for o in k.ops for r in o.srcs if r.kind == "in"} - set(chained)
                           - {k.ops[-1].srcs[0].index})
            lines += ["    target = out",
                      f"    if _overlaps(out, ({''.join(f'in{j}, ' for j in chained)}), "
                      f"({''.join(f'in{j}, ' for j in plain)})):",
                      "        out = _empty(target.shape, target.dtype)"]
        if blocks:
            scratch = _Scratch(blocks, self.buffers)
            self.env["_scratch"] = scratch
            lines.append(f"    {''.join(n + ', ' for n in scratch.whole)}blocks, = _scratch.arrays()")
        lines += self.head
        if blocks:
            names = ["r0", "r1"] + list(scratch.block) + ["w" + n[1:] for n in scratch.whole]
            lines.append(f"    for {', '.join(names)} in blocks:")
            if any(self.place[i][0] == "out" for i in self.loop):
                lines.append("        o = out[r0:r1]")
            lines += loop_lines
        lines += tail_lines
        if guard:
            lines += ["    if out is not target:", "        _copyto(target, out)", "    return target"]
        else:
            lines.append("    return out")
        return "\n".join(lines) + "\n"

    def emit(self, i, o, d, in_loop) -> str:
        info, op = o.info, o.info.op
        uf = UFUNCS.get(op)
        args = [self.operand(r, uf is not None, in_loop) for r in o.srcs] if i not in self.fused else []
        if uf is not None:
            return f"{self._const(uf, 'UF')}({', '.join(args)}, out={d})"
        if op == "cast":
            return f"_copyto({d}, {args[0]}, casting='unsafe')"
        if op == "copy":
            return f"_copyto({d}, {args[0]})"
        if op == "assign":
            if o.srcs[1].kind == "t" and self.place[o.srcs[1].index][0] == "out":
                return "pass  # the value was computed in the target"
            return f"_copyto({d}, {args[1]})"
        if op == "matmul":
            return f"_matmul({args[0]}, {args[1]}, out={d})"
        if i in self.fused:
            return self._einsum(info, self.k.ops[self.fused[i]], d, in_loop)
        if op in GROUPS.reduce:
            return self._reduce(info, o, args[0], d)
        if op == "erf":
            return f"_erf_into({d}, {args[0]})"
        if OPS[op].into is not None:  # written straight into d (a convolution: BLAS per tile)
            return f"{self._const(OPS[op].into, 'NP')}({d}, {', '.join(args)}, arg={self._const(info.arg, 'A')})"
        if op == "fold":
            self.scratch_bytes += math.prod(info.shape) * info.dtype.itemsize  # the accumulator, at most
            return f"_fold_into({d}, {args[0]}, {self._const(info, 'I')})"
        if op == "where" and self.place[i][0] != "out":  # scratch never aliases an operand
            return f"_copyto({d}, {args[2]}); _copyto({d}, {args[1]}, where={args[0]})"
        fn = self._const(OPS[op].numpy, "NP")
        return f"_copyto({d}, {fn}({self._const(info, 'I')}{''.join(', ' + a for a in args)}))"

    def _einsum(self, info, mul, d, in_loop) -> str:
        """sum(a * b) over `info.arg` as one einsum into `d` (viewed without the reduced axes)."""
        letters = "abcdefghijklmnopqrstuvwxyz"[:len(mul.info.shape)]
        kept = "".join(c for ax, c in enumerate(letters) if ax not in info.arg)
        shape = tuple(n for ax, n in enumerate(info.shape) if ax not in info.arg)
        if in_loop:
            shape = (-1,) + shape[1:]
        a, b = (self.operand(r, False, in_loop) for r in mul.srcs)
        return f"_einsum('{letters},{letters}->{kept}', {a}, {b}, out={d}.reshape({shape!r}))"

    def _reduce(self, info, o, a, d) -> str:
        axes = tuple(info.arg)
        r = o.srcs[0]
        src = r.chain[-1].shape if r.chain else self._base_shape(r)
        extent = math.prod(src[ax] for ax in axes)
        uf = self._const(np.add if info.op == "sum" else np.maximum, "UF")
        if 1 < extent <= SMALL_REDUCE and (info.op == "max" or self._base_dtype(r) == info.dtype):
            picks = [self._const(tuple(slice(j, j + 1) if ax in axes else slice(None) for ax, j in enumerate(idx)),
                                 "SL") for idx in _window_indices(src, axes)]
            lines = [f"red = {a}", f"{uf}(red[{picks[0]}], red[{picks[1]}], out={d})"]
            return "; ".join(lines + [f"{uf}({d}, red[{p}], out={d})" for p in picks[2:]])
        dtype = f", dtype={self._const(info.dtype, 'DT')}" if info.op == "sum" else ""
        return f"{uf}.reduce({a}, axis={axes!r}{dtype}, out={d}, keepdims=True)"


class _Scratch:
    """A blocked kernel's scratch, allocated on its first run (so it is part of that run's measured memory)
    and kept: block arrays (one block of rows each) and whole arrays (values the ops after the blocks read)."""

    def __init__(self, blocks, buffers: dict):
        self.blocks = blocks
        self.block = {n: key for n, key in buffers.items() if key[0] == "block"}
        self.whole = {n: key for n, key in buffers.items() if key[0] == "whole"}
        self._local = threading.local()  # each thread that runs the kernel has scratch of its own

    def arrays(self) -> tuple:
        arrays = self._local.__dict__.get("arrays")
        if arrays is None:
            block = [np.empty(shape, dtype) for _, shape, dtype in self.block.values()]
            whole = [np.empty(shape, dtype) for _, shape, dtype in self.whole.values()]
            per_block = []
            for r0, r1 in self.blocks.ranges:
                m = r1 - r0
                per_block.append((r0, r1, *[b[:m] for b in block], *[w[r0:r1] for w in whole]))
            arrays = self._local.arrays = (*whole, per_block)
        return arrays


def _compose_permutes(chain) -> list:
    """The chain with runs of permutes made one (and dropped where they cancel: a matmul stored transposed)."""
    out = []
    for info in chain:
        if info.op == "permute" and out and out[-1].op == "permute":
            prev = out.pop()
            perm = tuple(prev.arg[d] for d in info.arg)
            if perm != tuple(range(len(perm))):
                out.append(info_of("permute", info.shape, info.dtype, perm))
        else:
            out.append(info)
    return out


def _window_indices(shape, axes):
    idx = [0] * len(shape)
    for flat in range(math.prod(shape[ax] for ax in axes)):
        rem = flat
        for ax in reversed(axes):
            idx[ax] = rem % shape[ax]
            rem //= shape[ax]
        yield tuple(idx)


def _scalar(c):
    """The NumPy scalar a uniform constant array stands for, or None."""
    if c.size and all(s == 0 for s in c.strides):
        return c.dtype.type(c.reshape(-1)[0])
    return None
