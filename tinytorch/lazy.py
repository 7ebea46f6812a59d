"""Realizing tensors, eager mode and the counters that show what the compiler did.

`realize(*tensors)` compiles everything the tensors need into one Program.
When that Program overwrites state (an optimizer's `assign`), any live lazy
tensor that reads the old state is computed in the same Program first, so a
loss read after `optimizer.step()` is the loss of the step, as in PyTorch, and
the forward pass runs once. This thread's other pending assigns (BatchNorm's
running statistics) are computed in that Program too.
"""
from __future__ import annotations

import contextlib

from . import compiler as C
from .live_tensors import LAZY, PENDING_ASSIGNS
from .runtime import config


# The recorder of a step being traced by tinytorch.capture (None otherwise): told of every Program realize runs.
TRACE = None


def live_readers(written, exclude=frozenset(), live=None) -> list:
    """The live lazy tensors (of `live`, default all of LAZY) whose nodes are not in `exclude` and whose graphs
    read a buffer in `written` (ids) before it is overwritten."""
    live = list(LAZY) if live is None else live
    if not live:
        return []
    reading = set(C.readers_of(written, [t._node for t in live if t._node not in exclude]))
    return [t for t in live if t._node in reading]


def realize(*tensors) -> None:
    """Compute all of `tensors` with one compiled Program (tensors may also be given as one list)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    todo = [t for t in tensors if not C.is_computed(t._node)]
    if not todo:
        for t in tensors:  # eager mode computed them as they were built; an assign still settles into its buffer
            if t._node.op == "assign":
                _settle(t)
        return
    nodes = [t._node for t in todo]
    seen = set()
    order = C.ir.pending(nodes, seen)
    assigns = [n for n in order if n.op == "assign"]
    if assigns:
        written = C.assigned_buffers(assigns)
        # an assign reached only through another target (x.detach() of a pending update) must still be
        # recorded as done, or the tensor holding it would run the update a second time
        targets = {id(n) for n in nodes}
        inner = {id(n) for n in assigns if id(n) not in targets}
        live = list(LAZY)
        holders = [t for t in live if id(t._node) in inner] if inner else []
        todo += holders
        nodes += [t._node for t in holders]
        extra = live_readers(written, set(nodes), live)
        taken = {id(n) for n in nodes} | {id(t._node) for t in extra}
        extra += [t for t in PENDING_ASSIGNS.take() if id(t._node) not in taken]  # this thread's other updates
        todo += extra
        more = [t._node for t in extra]
        nodes += more
        C.ir.pending(more, seen, order)  # the walk over nodes + holders + extra, continued
    ran = C.realize(nodes, order=order)
    if TRACE is not None and ran is not None:
        TRACE.realized(*ran, order, todo)
    for t in todo:
        _settle(t)


def _settle(t) -> None:
    """After realize: an assign becomes the next version of its buffer; values without a graph to keep
    become plain leaves so the graph behind them can be freed."""
    n = t._node
    if n.op == "assign":
        t._set_node(C.leaf(n.srcs[0].arg))
    elif n.op != "buffer" and not t._requires_grad:
        t._set_node(C.leaf(C.buffer_of(n)))


# ---------------------------------------------------------------- eager mode

@contextlib.contextmanager
def eager(on: bool = True):
    """`with tinytorch.eager():` computes every op as soon as it is built (NumPy, no compiler)."""
    before = C.eager_enabled()
    C.set_eager(on)
    try:
        yield
    finally:
        C.set_eager(before)


def is_eager() -> bool:
    return C.eager_enabled()


if config.get("TINYTORCH_EAGER"):
    C.set_eager(True)


# ---------------------------------------------------------------- what the compiler did

def stats() -> dict:
    """Counters since start (or `reset_stats()`): realizes, compiles, cache_hits, evictions, compile_s, run_s;
    and the Program cache now: `programs` cached and the bytes they hold (`program_bytes`)."""
    return dict(C.STATS, programs=C.cache_size(), program_bytes=C.cache_bytes())


def reset_stats() -> None:
    for k in C.STATS:
        C.STATS[k] = 0.0 if isinstance(C.STATS[k], float) else 0


def clear_cache() -> None:
    """Forget every compiled Program: their arenas and native code are freed (once no captured step or
    other reference holds them). The next realize of each graph compiles again (the disk cache makes a
    native recompile cheap). At most TINYTORCH_CACHE_PROGRAMS Programs are kept anyway."""
    C.clear_cache()

