"""LLVM IR for the pipeline's Kernels: each stage of a kernel becomes one function in the Program's module.

compiler/lower_llvm.py plans each kernel's stages and calls `emit_stage` once per stage, then
`emit_segment` once per run of small stages. What a stage computes decides its emitter:

- `pointwise` (stage_pointwise.py): one loop nest over the stored value's shape;
- `reduce` (stage_reduce.py): kept dims outside, reduced dims inside, the ops after the reduction once per
  output element (or a row of accumulators where kept dims follow the reduced ones);
- `row` (stage_row.py): a row kernel, several reductions per row and then one loop over the row;
- `accumulate` (stage_accumulate.py): scatter_add and fold, a serial read-modify-write loop;
- `rand` (stage_rand.py): NumPy's SeedSequence + PCG64 + random(), bit for bit.

Every emitter builds on the same parts (emitter.py): the stage's function and its calling convention
(function.py), operand addressing and bounds checks (addressing.py), the values of the kernel's ops
(values.py) and loop nests (loops.py). A kernel no stage can express raises NotLowerable: nothing falls
back to NumPy.
"""
from __future__ import annotations

from llvmlite import ir

from . import mathfns as M
from .function import TABLE_FUNCTION, extent_const
from .stage import INDEX_ERROR, NotLowerable, Placement, Stage
from .stage_accumulate import AccumulateStage
from .stage_pointwise import PointwiseStage
from .stage_rand import RandStage
from .stage_reduce import ReduceStage
from .stage_row import RowStage

__all__ = ["INDEX_ERROR", "NotLowerable", "Placement", "Stage", "emit_segment", "emit_stage"]

EMITTERS = {"pointwise": PointwiseStage, "reduce": ReduceStage, "row": RowStage, "accumulate": AccumulateStage,
            "rand": RandStage}


def emit_stage(module: ir.Module, k, stage: Stage, place: Placement, check: bool, attributes=()) -> None:
    """Add `stage` of kernel `k` to `module` as function `stage.name`; set its extent and work. `check`
    compiles bounds checks; `attributes` are raw LLVM function attributes ('"prefer-vector-width"="512"')."""
    emitter = EMITTERS.get(stage.kind)
    if emitter is None:
        raise NotLowerable(f"stage kind {stage.kind!r}")
    emitter(module, k, stage, place, check, attributes).emit()


def emit_segment(module: ir.Module, name: str, stages: list) -> None:
    """`i32 name(i8** table, i64* sizes, i64, i64)`: call each stage over its whole range; the first failure
    returns (position + 1) << 20 | its code."""
    fn = ir.Function(module, TABLE_FUNCTION, name=name)
    fn.attributes.add("nounwind")
    table, sizes, _, _ = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    for pos, st in enumerate(stages):
        callee = module.get_global(st.name)
        rc = b.call(callee, [table, sizes, ir.Constant(M.I64, 0), extent_const(b, sizes, st.extent)])
        fail = fn.append_basic_block(f"fail{pos}")
        ok = fn.append_basic_block(f"ok{pos}")
        b.cbranch(b.icmp_signed("!=", rc, ir.Constant(M.I32, 0)), fail, ok)
        fb = ir.IRBuilder(fail)
        fb.ret(fb.or_(rc, ir.Constant(M.I32, (pos + 1) << 20)))
        b.position_at_end(ok)
    b.ret(ir.Constant(M.I32, 0))
