"""The two LLVM functions of one stage, and the blocks every stage emitter writes into.

`NAME(i8** table, i64* sizes, i64 start, i64 stop)` is what the runtime calls. `table` holds one pointer
per array of the whole Program (its slots, embedded constants, scratch), so a stage knows at compile time
which entries it reads and writes, and the runtime binds the table once per run instead of once per
kernel. NAME loads its pointers and calls `NAME.body`, which holds the loops: its pointer parameters are
`noalias` (distinct table entries never overlap: lower_llvm maps an in-place output onto the entry it
overwrites), which lets LLVM vectorize, and it is inlined back into NAME. The outermost loop runs over
[start, stop) only, so parallel.py can split it across threads.

The body begins with an entry block (stack slots, array sizes loaded once) that branches to the loop
code when the stage is finished; a failed check leaves through a block that returns its code.
"""
from __future__ import annotations

from llvmlite import ir

from ..symbolic import Sym
from . import mathfns as M
from . import scalar

I8P = ir.IntType(8).as_pointer()
TABLE_FUNCTION = ir.FunctionType(M.I32, [I8P.as_pointer(), M.I64.as_pointer(), M.I64, M.I64])


def table_entries(stage, place) -> list:
    """The table indices a stage may touch: what it writes, its materialized values, inputs and constants."""
    out = {stage.dst}
    out.update(stage.materialized.values())
    out.update(place.inputs)
    out.update(t for t in place.consts if t is not None)
    return sorted(out)


def batch_extent(b: ir.IRBuilder, sizes, k: int):
    """k * N, N read from sizes[-1] (runtime/native_runner.py stores the batch there)."""
    n = b.load(b.gep(sizes, [ir.Constant(M.I64, -1)]))
    return n if k == 1 else b.mul(n, ir.Constant(M.I64, k))


def extent_const(b: ir.IRBuilder, sizes, v):
    return batch_extent(b, sizes, v.k) if isinstance(v, Sym) else ir.Constant(M.I64, int(v))


class StageFunction:
    def __init__(self, module: ir.Module, stage, place, attributes=()):
        self.arrays = table_entries(stage, place)
        self.param = {t: i for i, t in enumerate(self.arrays)}
        ptypes = [scalar.mem_type(place.dtypes[t]).as_pointer() for t in self.arrays]
        body_ty = ir.FunctionType(M.I32, ptypes + [M.I64.as_pointer(), M.I64, M.I64])
        self.function = ir.Function(module, body_ty, name=stage.name + ".body")
        self.function.linkage = "internal"
        self.function.attributes.add("alwaysinline")
        self.function.attributes.add("nounwind")
        for a in attributes:  # raw string attributes: llvmlite's add() only knows the keyword ones
            set.add(self.function.attributes, a)
        for p in self.function.args[:len(ptypes)]:
            p.add_attribute("noalias")
        self.ptrs = self.function.args[:len(ptypes)]
        self.sizes, self.start, self.stop = self.function.args[len(ptypes):]
        self.entry = ir.IRBuilder(self.function.append_basic_block("entry"))
        self.body_block = self.function.append_basic_block("body")
        self.b = ir.IRBuilder(self.body_block)
        self._exits, self._sizes, self._batch = {}, {}, {}
        self._caller(module, stage.name, ptypes)

    def _caller(self, module, name, ptypes):
        fn = ir.Function(module, TABLE_FUNCTION, name=name)
        fn.attributes.add("nounwind")
        table, sizes, start, stop = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        args = [b.bitcast(b.load(b.gep(table, [ir.Constant(M.I64, t)])), pt) for t, pt in zip(self.arrays, ptypes)]
        b.ret(b.call(self.function, args + [sizes, start, stop]))

    def block(self, name: str) -> ir.Block:
        return self.function.append_basic_block(name)

    def pointer(self, t):
        """The body's pointer parameter for table entry t."""
        return self.ptrs[self.param[t]]

    def size(self, t):
        """The element count of table entry t, loaded once in the entry block."""
        if t not in self._sizes:
            self._sizes[t] = self.entry.load(self.entry.gep(self.sizes, [ir.Constant(M.I64, t)]))
        return self._sizes[t]

    def extent(self, v):
        """An extent as an i64: a constant, or for a Sym (k*N, compiler/symbolic.py) k times the batch the
        runtime stores just before the sizes (sizes[-1]), so the code is one text at every batch size."""
        if not isinstance(v, Sym):
            return ir.Constant(M.I64, int(v))
        if v.k not in self._batch:
            self._batch[v.k] = batch_extent(self.entry, self.sizes, v.k)
        return self._batch[v.k]

    def exit_block(self, code: int) -> ir.Block:
        """The block that returns `code` (one per code)."""
        if code not in self._exits:
            blk = self.block(f"fail_{code}")
            ir.IRBuilder(blk).ret(ir.Constant(M.I32, code))
            self._exits[code] = blk
        return self._exits[code]

    def check_below(self, i, n, code: int, block: str) -> None:
        """Go on in a new block where 0 <= i < n (one unsigned compare), else return `code`."""
        cont = self.block(block)
        self.b.cbranch(self.b.icmp_unsigned("<", i, n), cont, self.exit_block(code))
        self.b.position_at_end(cont)

    def finish(self) -> None:
        """Return 0 after the loops, and enter them once the entry block holds every stack slot."""
        self.b.ret(ir.Constant(M.I32, 0))
        self.entry.branch(self.body_block)
