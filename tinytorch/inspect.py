"""Seeing what the compiler does: `plan` (the Program, not run), `explain` (a text report), pass switches.

`plan(*tensors)` compiles exactly what `realize(*tensors)` would (including
the readers of state an update overwrites) and returns the Program without
running it: `.kernels` (ops fused in each, shapes, FLOPs, bytes, backend) and
`.memory_plan` (`peak_bytes`, `no_reuse_bytes`, `lower_bound_bytes`,
`buffers`, `verify()`).
"""
from __future__ import annotations

import contextlib

from . import compiler as C
from .compiler.passes import PASS_NAMES
from .compiler.program import CONFIG, Options
from .lazy import live_readers
from .tensor import Tensor


def targets_of(tensors) -> list:
    """The nodes a Program for `tensors` computes: their pending nodes, and those of the live lazy tensors that
    read state these overwrite (tensors may also be given as one list)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    nodes = [t._node for t in tensors if not C.is_computed(t._node)]
    written = C.assigned_buffers(C.ir.pending(nodes))
    if written:
        nodes += [t._node for t in live_readers(written, set(nodes))]
    return list(dict.fromkeys(nodes))


def plan(*tensors: Tensor, options: Options | None = None):
    """The compiled Program for `tensors` (from the cache when it is there), not run. None if all are computed."""
    nodes = targets_of(tensors)
    if not nodes:
        return None
    prog, _ = C.plan(nodes, options)
    return prog


def explain(*tensors: Tensor, options: Options | None = None) -> str:
    """The IR before and after the passes, each pass's counts, the kernels and the memory plan, as text."""
    prog = plan(*tensors, options=options)
    if prog is None:
        return "nothing to compute: every tensor is already realized"
    out = ["== IR before the passes", prog.listing,
           "== passes (count before -> after)", *(r.row() for r in prog.passes),
           "== IR after fold and dce", prog.listing_after,
           f"== kernels ({len(prog.kernels)}, in schedule order)"]
    for k, low in zip(prog.kernels, prog.lowered):
        again = "  (recomputed for the backward)" if k.index in prog.recomputed_kernels else ""
        out.append(k.summary(low) + f"  -> {k.out_kind}{again}")
        if k.inplace_of >= 0:
            out.append(f"       writes in place of its input k{k.inputs[k.inplace_of].slot - prog.n_inputs}")
    if prog.checkpoint is not None:
        out += ["== checkpointing (what the backward keeps, what it recomputes)", *prog.checkpoint.lines()]
    out += ["== memory plan", prog.memory_plan.table()]
    return "\n".join(out)


def set_passes(disabled=(), backend: str | None = None) -> None:
    """Switch passes off by name for everything compiled from now on (see PASS_NAMES); () turns all on."""
    CONFIG.options = Options(backend=backend or CONFIG.options.backend, disabled=frozenset(disabled),
                             remat=CONFIG.options.remat)


@contextlib.contextmanager
def disable_passes(*names: str):
    """`with tinytorch.disable_passes("fuse"):` compiles without those passes inside the block."""
    before = CONFIG.options
    CONFIG.options = Options(backend=before.backend, disabled=before.disabled | frozenset(names), remat=before.remat)
    try:
        yield
    finally:
        CONFIG.options = before


__all__ = ["plan", "explain", "set_passes", "disable_passes", "PASS_NAMES"]
