"""Realize: turn target nodes into values, compiling each graph shape once.

`realize(nodes)` collects what the targets need (stopping at leaves and at
nodes already computed), builds a structural key in which every input is only
(shape, dtype), looks the key up in the Program cache, compiles on a miss, runs
the Program on the inputs' arrays and records each target's value in
`ir.REALIZED`.
"""
from __future__ import annotations

import time

import numpy as np

from ..runtime import Buffer

from . import debug, ir
from .ops import OPS
from .program import Program, compile_graph, Options

STATS = {"realizes": 0, "compiles": 0, "cache_hits": 0, "compile_s": 0.0, "run_s": 0.0}
_CACHE: dict = {}


def is_computed(n: ir.Node) -> bool:
    return n.op == "buffer" or n in ir.REALIZED


def value(n: ir.Node) -> np.ndarray:
    """The array of a computed node."""
    return n.arg.array if n.op == "buffer" else ir.REALIZED[n].array


def _is_input(n) -> bool:
    return n.op == "buffer" or n in ir.REALIZED


def linearize(targets):
    """Graph order, the input nodes, and the structural key (inputs abstracted to shape and dtype)."""
    order = ir.toposort(targets, stop=_is_input)
    index, inputs, key = {}, [], []
    for n in order:
        index[id(n)] = len(index)
        if _is_input(n):
            inputs.append(n)
            key.append(("in", n.shape, n.dtype))
        else:
            key.append((n.op, tuple(index[id(s)] for s in n.srcs), n.shape, n.dtype, ir._argkey(n.arg)))
    key.append(tuple(index[id(t)] for t in targets))
    return order, inputs, tuple(key)


def plan(targets, options: Options | None = None) -> Program:
    """Compile (or fetch from the cache) the Program for `targets` without running it."""
    options = options or Options.current()
    order, inputs, key = linearize(targets)
    full_key = (key, options.key())
    prog = _CACHE.get(full_key)
    if prog is None:
        t0 = time.perf_counter()
        prog = compile_graph(order, inputs, targets, options)
        prog.compile_s = time.perf_counter() - t0
        STATS["compiles"] += 1
        STATS["compile_s"] += prog.compile_s
        _CACHE[full_key] = prog
        debug.compiled(prog)
    else:
        STATS["cache_hits"] += 1
    return prog, inputs


def realize(targets) -> None:
    targets = list(dict.fromkeys(t for t in targets if not is_computed(t)))
    if not targets:
        return
    STATS["realizes"] += 1
    hits = STATS["cache_hits"]
    prog, inputs = plan(targets)
    t0 = time.perf_counter()
    outs = prog.run([value(n) for n in inputs], timed=debug.level() >= 2)
    STATS["run_s"] += time.perf_counter() - t0
    debug.ran(prog, cached=STATS["cache_hits"] > hits)
    for n, a in zip(targets, outs):
        ir.REALIZED[n] = Buffer(a if isinstance(a, np.ndarray) else np.asarray(a))


def clear_cache() -> None:
    _CACHE.clear()


def cache_size() -> int:
    return len(_CACHE)


# ---------------------------------------------------------------- eager mode

class _Eager:
    depth = 0


def _eager_eval(n: ir.Node) -> None:
    """Compute a node the moment it is built: one NumPy call, no compiler."""
    if n.op == "buffer" or n in ir.REALIZED:
        return
    pending = [s for s in n.srcs if not is_computed(s)]
    if pending:  # built lazily before eager mode was entered
        realize(pending)
    out = OPS[n.op].numpy(n, *[value(s) for s in n.srcs])
    ir.REALIZED[n] = Buffer(out if isinstance(out, np.ndarray) else np.asarray(out))
