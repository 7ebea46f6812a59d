"""Realize: turn target nodes into values, compiling each graph shape once.

`realize(nodes)` collects what the targets need (stopping at leaves and at
nodes already computed), builds a structural key in which every input is only
(shape, dtype), looks the key up in the Program cache, compiles on a miss, runs
the Program on the inputs' arrays and records each target's value in
`ir.REALIZED`.
"""
from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict

import numpy as np

from ..runtime import Buffer, config

from . import debug, ir
from .ops import OPS
from .program import compile_graph, Options
from .queries import array_of, is_computed
from . import symbolic
from .family import Family
from .ops.leaves import leaf

STATS = {"realizes": 0, "compiles": 0, "cache_hits": 0, "evictions": 0, "compile_s": 0.0, "run_s": 0.0,
         "sizes_bound": 0, "bind_s": 0.0}
_CACHE: "OrderedDict[tuple, object]" = OrderedDict()  # least recently used first (TINYTORCH_CACHE_PROGRAMS)
_LOCK = threading.Lock()


# Each distinct (op, shape, dtype, arg) -- or ("in", shape, dtype) for an input -- gets a small int once, so a
# structural key is a flat tuple of ints: cheap to hash and compare on every cached step. The table grows only
# with node kinds that reached a realize, as the Program cache itself does.
_SIDS: dict = {}

# Nodes built inside `tinytorch.checkpoint` regions (their values are recomputed for the backward): held weakly;
# their positions in a graph are part of its Program's key.
MARKED: "weakref.WeakSet" = weakref.WeakSet()
# The outputs `backward` was called on: under checkpointing the forward of a joint graph is what they reach.
ROOTS: "weakref.WeakSet" = weakref.WeakSet()


def _sid(n: ir.Node, sids=_SIDS) -> int:
    arg = n.arg
    k = (n.op, n.shape, n.dtype, None if arg is None else ir._argkey(arg))
    sid = sids.get(k)
    if sid is None:
        sid = sids[k] = len(sids)
    ir.set_sid(n, sid)
    return sid


def linearize(targets, order=None):
    """Graph order, the input nodes, and the structural key (inputs abstracted to shape and dtype).

    `order` is `ir.pending(targets)` when the caller has already walked the graph. The key lists, per node in
    order, its kind id (`_sid`, memoized on the node), its source count and its sources' positions; per input
    the id of ("in", shape, dtype) and -1; then -2 and the targets' positions.
    """
    if order is None:
        order = ir.pending(targets)
    index, inputs, key = {}, [], []
    append = key.append
    sids = _SIDS
    for i, n in enumerate(order):
        index[id(n)] = i
        if n._value is not None:
            inputs.append(n)
            k = ("in", n.shape, n.dtype)
            sid = sids.get(k)
            if sid is None:
                sid = sids[k] = len(sids)
            append(sid)
            append(-1)
        else:
            sid = n._sid
            append(_sid(n) if sid is None else sid)
            srcs = n.srcs
            append(len(srcs))
            for s in srcs:
                append(index[id(s)])
    append(-2)
    for t in targets:
        append(index[id(t)])
    return order, inputs, tuple(key)


def plan(targets, options: Options | None = None, order=None) -> tuple:
    """Compile (or fetch from the cache) the Program for `targets` without running it: (the Program, its
    input nodes in the order it takes their arrays)."""
    options = options or Options.current()
    order, inputs, key = linearize(targets, order)
    marked = tuple(i for i, n in enumerate(order) if n in MARKED) if len(MARKED) else ()
    roots = ()
    if options.remat is not None or marked:
        roots = tuple(i for i, n in enumerate(order) if n in ROOTS) if len(ROOTS) else ()
    elif symbolic.DYNAMIC:
        found = _plan_family(order, inputs, targets, options, key)
        if found is not None:
            return found
    full_key = (key, options.key(), marked, roots) if marked or roots else (key, options.key())
    with _LOCK:
        prog = _CACHE.get(full_key)
        if prog is not None:
            _CACHE.move_to_end(full_key)
            STATS["cache_hits"] += 1
            return prog, inputs
    # outside the lock: another thread may compile too
    prog = compile_graph(order, inputs, targets, options, frozenset(id(order[i]) for i in marked),
                         [order[i] for i in roots])
    with _LOCK:
        STATS["compiles"] += 1
        STATS["compile_s"] += prog.compile_s
        prog = _CACHE.setdefault(full_key, prog)
        _CACHE.move_to_end(full_key)
        _evict()
    debug.compiled(prog)
    return prog, inputs


class _Refused:
    """A family key whose graph did not compile as one family at these batch sizes (see family.py)."""
    nbytes = 0

    def __init__(self):
        self.sizes = set()


MAX_FAMILY_TRIES = 3  # sizes at which a refused family is tried again (a refusal can be a size-1 special case)


_FAMILY_OF: "OrderedDict[tuple, object]" = OrderedDict()  # (key, options, marked inputs) -> (family key, N) | None
_UNSEEN = object()


def _plan_family(order, inputs, targets, options, key):
    """`plan` for a graph over dynamic inputs (symbolic.py): the Program of its family at this batch size and
    its inputs (the lifted constants' values inserted as new leaves), or None to compile it per size. The
    analysis runs once per structural key and choice of marked inputs (which determine its result)."""
    dyn = symbolic.DYNAMIC
    marked = tuple(i for i, n in enumerate(inputs) if n._value in dyn)
    if not marked:
        return None
    mkey = (key, options.key(), marked)
    with _LOCK:
        known = _FAMILY_OF.get(mkey, _UNSEEN)
    sg = None
    if known is _UNSEEN:
        sg = symbolic.analyze(order, inputs)
        known = None if sg is None else (("family", sg.key, options.key()), sg.n)
        with _LOCK:
            _FAMILY_OF[mkey] = known
            while len(_FAMILY_OF) > 4 * config.get("TINYTORCH_CACHE_PROGRAMS"):
                _FAMILY_OF.popitem(last=False)
    if known is None:
        return None
    fkey, n = known
    with _LOCK:
        fam = _CACHE.get(fkey)
        if fam is not None:
            _CACHE.move_to_end(fkey)
    if isinstance(fam, _Refused) and (n in fam.sizes or len(fam.sizes) >= MAX_FAMILY_TRIES):
        return None
    if (fam is None or isinstance(fam, _Refused)) and sg is None:
        sg = symbolic.analyze(order, inputs)
    if fam is None or isinstance(fam, _Refused):
        t0 = time.perf_counter()
        try:
            new = Family(sg, targets, options)
        except symbolic.NotPolymorphic:
            refused = fam if isinstance(fam, _Refused) else _Refused()
            refused.sizes.add(n)
            with _LOCK:
                _CACHE[fkey] = refused
            return None
        prog, _ = new.program(n)
        with _LOCK:
            STATS["compiles"] += 1
            STATS["compile_s"] += time.perf_counter() - t0
            _CACHE[fkey] = fam = new
            _CACHE.move_to_end(fkey)
            _evict()
        debug.compiled(prog)
    else:
        t0 = time.perf_counter()
        prog, made = fam.program(n)
        with _LOCK:
            if made:
                STATS["sizes_bound"] += 1
                STATS["bind_s"] += time.perf_counter() - t0
                if prog.lowering_cost.get("object") == "compiled":  # the module differed: native code compiled
                    STATS["compiles"] += 1
            else:
                STATS["cache_hits"] += 1
    full = list(inputs)
    for pos, a in fam.lifted_arrays(n):
        full.insert(pos, leaf(Buffer(a)))
    return prog, full


def _evict():
    limit = config.get("TINYTORCH_CACHE_PROGRAMS")
    while len(_CACHE) > limit:  # the least recently used goes; its runners and JIT engine go with it
        _CACHE.popitem(last=False)
        STATS["evictions"] += 1


def realize(targets, order=None):
    """Compute `targets`; `order` may pass `ir.pending(targets)` for exactly these (deduplicated, pending)
    targets, when the caller has walked the graph already. Returns (Program, input nodes, targets run), or
    None when nothing was pending (a captured step records these to replay them)."""
    targets = list(dict.fromkeys(t for t in targets if t._value is None))
    if not targets:
        return None
    STATS["realizes"] += 1
    hits = STATS["cache_hits"]
    prog, inputs = plan(targets, order=order)
    t0 = time.perf_counter()
    outs = prog.run([n._value.array for n in inputs], timed=debug.level() >= 2)
    STATS["run_s"] += time.perf_counter() - t0
    debug.ran(prog, cached=STATS["cache_hits"] > hits)
    for n, a in zip(targets, outs):
        ir.REALIZED[n] = Buffer(a if type(a) is np.ndarray else np.asarray(a))
    return prog, inputs, targets


def clear_cache() -> None:
    """Forget every cached Program (their arenas and native engines are freed once nothing else holds them)."""
    with _LOCK:
        _CACHE.clear()
        _FAMILY_OF.clear()


def cache_size() -> int:
    return len(_CACHE)


def cached_programs() -> list:
    """The Programs in the cache now, least recently used first (the profiler finds a runner's Program here):
    a family gives the Programs of the batch sizes it serves, a refused family key none."""
    with _LOCK:
        entries = list(_CACHE.values())
    out = []
    for e in entries:
        if isinstance(e, Family):
            out += list(e.programs.values())
        elif not isinstance(e, _Refused):
            out.append(e)
    return out


def cache_bytes() -> int:
    """What the cached Programs hold: object code, embedded constants and one arena each (per thread that ran
    it, the arena is allocated once more)."""
    return sum(p.nbytes for p in cached_programs())


# ---------------------------------------------------------------- eager mode

def _eager_eval(n: ir.Node) -> None:
    """Compute a node the moment it is built: one NumPy call, no compiler."""
    if n._value is not None:
        return
    pending = [s for s in n.srcs if not is_computed(s)]
    if pending:  # built lazily before eager mode was entered
        realize(pending)
    with np.errstate(all="ignore"):  # log(0) is -inf without a warning, as in PyTorch and the compiled path
        out = OPS[n.op].numpy(n, *[array_of(s) for s in n.srcs])
    ir.REALIZED[n] = Buffer(out if isinstance(out, np.ndarray) else np.asarray(out))
