"""Compile a graph into a Program: passes, kernels, schedule, memory plan, lowering.

    attention -> fold -> dce -> checkpoint -> fuse -> schedule -> memplan (+ inplace) -> lower (numpy | llvm)

Each pass can be switched off by name (`Options.disabled`, see PASS_NAMES);
each records the node (or kernel) counts before and after for `explain`.
A Program is what the cache stores, immutable: kernels over numbered slots
(the inputs first, then one per kernel output), what each lowering made of
them, the memory plan, the text of the graph before and after the passes, and
the executable the runtime runs (runtime/executable.py). It keeps no reference
to the graph it came from. Running it is the runtime's job: `prog.runner` owns
the arena (allocated on the first run, reused by every later one), binds
inputs and fresh outputs, and dispatches the kernels.
"""
from __future__ import annotations

import dataclasses
import functools
import threading
import time
import weakref
from dataclasses import dataclass, field

from ..runtime import NativeExecutable, config, make_runner

from . import ir
from .kernelize import kernelize
from .lower_numpy import lower_program as lower_program_numpy
from . import ops
from .ops import GROUPS
from .passes import PASS_NAMES, Graph, attention, fold, dce, fuse, schedule, plan_memory, checkpoint
from .passes.fusion import output_views
from .passes.memplan import PlanBuffer

BACKENDS = config.SETTINGS["TINYTORCH_BACKEND"].choices
DEFAULT_BACKEND = config.SETTINGS["TINYTORCH_BACKEND"].default


@dataclass(frozen=True)
class Options:
    """What the pipeline may do: the backend, the passes switched off by name (see PASS_NAMES), and what
    gradient checkpointing is asked for (a passes.checkpoint.Policy, or None)."""
    backend: str = "numpy"
    disabled: frozenset = frozenset()
    remat: object = None

    def __post_init__(self):
        object.__setattr__(self, "disabled", frozenset(self.disabled))
        unknown = self.disabled - set(PASS_NAMES)
        if unknown:
            raise ValueError(f"unknown pass {sorted(unknown)}; the passes are {', '.join(PASS_NAMES)}")

    def key(self):
        return (self.backend, tuple(sorted(self.disabled)), None if self.remat is None else self.remat.key())

    def on(self, name: str) -> bool:
        return name not in self.disabled

    @staticmethod
    def current() -> "Options":
        return CONFIG.options


class _Config:
    options = Options(backend=config.get("TINYTORCH_BACKEND"))


CONFIG = _Config()


@dataclass
class PassRecord:
    name: str
    before: int
    after: int
    unit: str  # "nodes", "kernels" or "bytes"
    ms: float
    enabled: bool

    def row(self) -> str:
        state = "" if self.enabled else "  (off)"
        return f"{self.name:<9} {self.before:>6} -> {self.after:<6} {self.unit:<8} {self.ms:8.2f} ms{state}"


@dataclass(frozen=True, eq=False)
class Program:
    """What compiling one graph produced, immutable: the kernels and what each lowering made of them, the
    memory plan, the pass records, the graph's text, and the executable the runtime runs. What changes
    while it runs (the arena, the pointer table, timings) is its runner's (`prog.runner`, the runtime's)."""
    kernels: tuple
    lowered: tuple  # per kernel: kernel.Lowered (backend, generated code, blocking)
    n_inputs: int
    memory_plan: object
    listing: str  # the graph as given
    listing_after: str  # after fold and dce
    passes: tuple  # PassRecord
    options: Options
    executable: object  # runtime.NumpyExecutable | runtime.NativeExecutable
    compile_s: float = 0.0
    lowering_cost: dict = field(default_factory=dict)  # llvm: emit_s, compile_s, object (where it came from)
    checkpoint: object = None  # passes.checkpoint.Decision: what the backward keeps and recomputes, or None
    recomputed_kernels: frozenset = frozenset()  # indices of the kernels that recompute forward values

    @property
    def runner(self):
        """The runtime's runner for this Program in this thread (made on first use). Each thread has its own
        arena and pointer table, so threads run one compiled Program at once without sharing run-time state."""
        runners = _THREAD.__dict__.get("runners")
        if runners is None:
            runners = _THREAD.runners = weakref.WeakKeyDictionary()
        runner = runners.get(self)
        if runner is None:
            runner = runners[self] = make_runner(self.executable)
        return runner

    def run(self, arrays, timed: bool = False) -> list:
        return self.runner.run(arrays, timed)

    @property
    def flops(self) -> int:
        return sum(k.flops for k in self.kernels)

    @property
    def nbytes(self) -> int:
        """Bytes it holds while cached: its native object code, its embedded constants and one arena."""
        code = len(self.executable.object_code) if isinstance(self.executable, NativeExecutable) else 0
        return code + sum(a.nbytes for k in self.kernels for a in k.consts) + self.memory_plan.peak_bytes


_THREAD = threading.local()  # .runners: WeakKeyDictionary Program -> this thread's runner


def compile_graph(order, inputs, targets, options: Options, marked: frozenset = frozenset(), roots=()) -> Program:
    """`marked`: ids of nodes of `order` built in `tinytorch.checkpoint` regions; `roots`: its nodes that
    `backward` was called on (the checkpoint pass's forward is what they reach)."""
    t0 = time.perf_counter()
    front = compile_front(order, inputs, targets, options, marked, roots)
    return compile_back(front, front["kernels"], inputs, front["out_slots"], options, t0)


def compile_front(order, inputs, targets, options: Options, marked: frozenset = frozenset(), roots=()) -> dict:
    """Everything before the memory plan: the passes, the schedule and the kernels. {"kernels", "out_slots",
    "records", "listing", "listing_after", "checkpoint", "late"}; symbolic.py's families run it once and
    `compile_back` per size."""
    if options.backend not in BACKENDS:
        raise ValueError(f"unknown backend {options.backend!r}; choose one of {', '.join(BACKENDS)}")
    res = optimize(order, inputs, targets, options, marked, roots)
    g, groups, records = res["graph"], res["groups"], res["passes"]
    t = time.perf_counter()
    kernels, order_, views = _kernels(g, groups, inputs, options)
    records.append(PassRecord("schedule", len(kernels), len(kernels), "kernels",
                              (time.perf_counter() - t) * 1e3, options.on("schedule")))
    is_in = {id(n) for n in inputs}
    late = frozenset(s for s, gi in enumerate(order_) if id(groups[gi].root) in g.late)
    return {"kernels": kernels, "out_slots": _output_slots(g, groups, order_, len(inputs), views),
            "records": records, "listing": ir.listing(list(targets), stop=lambda n: id(n) in is_in),
            "listing_after": ir.listing(list(g.targets), stop=g.is_input), "checkpoint": res["checkpoint"],
            "late": late}


def _kernels(g, groups, inputs, options: Options) -> tuple:
    """The schedule and the kernels of fused `groups`: (kernels, the order of the groups, output views)."""
    slot_of = {id(n): i for i, n in enumerate(inputs)}
    views = output_views(g, groups)  # outputs that are a free view of a kernel's fresh array
    outputs = {id(t) for t in g.targets} | {id(b) for b, _ in views.values()}
    order_ = schedule_groups(groups, g, outputs, options)
    return kernelize(groups, g, order_, slot_of, outputs), order_, views


def _planned_peak(g, inputs, options: Options) -> int:
    """The arena peak the memory plan gives graph `g` (what the checkpoint pass weighs its choices by)."""
    groups = fuse(g, enabled=options.on("fuse"), rows=options.on("rowfuse"))
    kernels = _kernels(g, groups, inputs, options)[0]
    return _memory(kernels, len(inputs), inputs, options)[1].peak_bytes


def compile_back(front, kernels, inputs, out_slots, options: Options, t0: float, batch: int = 0) -> Program:
    """The memory plan and the lowering of `kernels` (over `inputs`: anything with shape, dtype, nbytes)."""
    records = list(front["records"])
    t = time.perf_counter()
    kernels, plan, frees = _memory(list(kernels), len(inputs), inputs, options)
    records.append(PassRecord("memplan", plan.no_reuse_bytes, plan.peak_bytes, "bytes",
                              (time.perf_counter() - t) * 1e3, options.on("memplan")))
    if options.backend == "llvm":
        from .lower_llvm import lower_program
        exe, lowered, cost = lower_program(kernels, len(inputs), inputs, out_slots, plan, batch)
    else:
        exe, lowered = lower_program_numpy(kernels, len(inputs), out_slots, plan, frees)
        cost = {}
    return Program(tuple(kernels), lowered, len(inputs), plan, front["listing"], front["listing_after"],
                   tuple(records), options, exe, time.perf_counter() - t0, cost, front.get("checkpoint"),
                   front.get("late", frozenset()))


def schedule_groups(groups, g, outputs, options: Options) -> list:
    """The order the groups run in (passes/schedule.py), each weighed by the arena bytes its value takes:
    none for an output, a copy or an assign (they live outside the arena)."""
    sizes = [gr.root.nbytes if gr.kind != "copy" and gr.root.op != "assign" and id(gr.root) not in outputs else 0
             for gr in groups]
    return schedule(groups, g, sizes, enabled=options.on("schedule"))


def optimize(order, inputs, targets, options: Options, marked: frozenset = frozenset(), roots=()) -> dict:
    """The graph passes and fusion: {"graph", "groups", "passes", "memo", "checkpoint"} (memo: id(old node) ->
    new node; checkpoint: the checkpoint pass's Decision or None)."""
    g = Graph(tuple(targets), tuple(order), frozenset(id(n) for n in inputs))
    records, memo = [], {id(n): n for n in order}
    for name, fn in (("attention", functools.partial(attention, enabled=options.on("attention"))), ("fold", fold),
                     ("dce", dce)):
        before, t = g.count(), time.perf_counter()
        if options.on(name) or name == "attention":  # off, the attention pass expands the attention ops
            g, m = fn(g)
            memo = {k: m.get(id(v), v) for k, v in memo.items()}
        records.append(PassRecord(name, before, g.count(), "nodes", (time.perf_counter() - t) * 1e3,
                                  options.on(name)))
    g, memo, decision = _checkpoint(g, memo, inputs, options, marked, roots, records)
    t = time.perf_counter()
    groups = fuse(g, enabled=options.on("fuse"), rows=options.on("rowfuse"))
    records.append(PassRecord("fuse", g.count(), len(groups), "kernels", (time.perf_counter() - t) * 1e3,
                              options.on("fuse")))
    return {"graph": g, "groups": groups, "passes": records, "memo": memo, "checkpoint": decision}


def _checkpoint(g, memo, inputs, options: Options, marked, roots, records) -> tuple:
    """The checkpoint pass (passes/checkpoint.py), where a memory budget or a marked region asks for it."""
    if options.remat is None and not marked:
        return g, memo, None
    before, t = g.count(), time.perf_counter()
    decision = None
    if options.on("checkpoint"):
        marked = frozenset(id(memo[k]) for k in marked if k in memo)
        roots = [memo.get(id(r), r) for r in roots]
        g, m, decision = checkpoint(g, options.remat, marked, lambda g2: _planned_peak(g2, inputs, options), roots)
        memo = {k: m.get(id(v), v) for k, v in memo.items()}
    records.append(PassRecord("checkpoint", before, g.count(), "nodes", (time.perf_counter() - t) * 1e3,
                              options.on("checkpoint")))
    return g, memo, decision


def _output_slots(g, groups, order_, n_in, views) -> list:
    """Per target: (the slot holding its value, None) or, for a free view (fusion.output_views), (the slot of
    the value it views, a function that applies the view to that array)."""
    step_of = {gi: s for s, gi in enumerate(order_)}
    root_slot = {id(gr.root): n_in + step_of[i] for i, gr in enumerate(groups) if gr.kind != "copy"}
    copies = iter(n_in + step_of[i] for i, gr in enumerate(groups) if gr.kind == "copy")
    claimed, out = set(), []
    for t in g.targets:
        if id(t) in views:
            base, chain = views[id(t)]
            out.append((root_slot[id(base)], functools.partial(ops.apply_chain, chain=tuple(map(ir.Info, chain)))))
        elif id(t) in root_slot and id(t) not in claimed:
            claimed.add(id(t))
            out.append((root_slot[id(t)], None))
        else:
            out.append((next(copies), None))
    return out


def _memory(kernels, n_in, inputs, options):
    """Liveness over the schedule, in-place pairs, offsets: (the kernels, those that write in place of an
    input replaced by such copies; the memory plan; per kernel the slots dead after it)."""
    last = {}
    for k in kernels:
        for i in k.inputs:
            last[i.slot] = k.index
    frees = [[] for _ in kernels]
    for slot, step in last.items():
        if slot >= n_in and kernels[slot - n_in].out_kind == "arena":
            frees[step].append(slot)
    alias = {}
    if options.on("inplace"):
        for i, k in enumerate(kernels):
            src = _inplace_candidate(k, kernels, n_in, last)
            if src is not None:
                kernels[i] = dataclasses.replace(k, inplace_of=src)
                name = f"k{k.inputs[src].slot - n_in}"
                alias[f"k{k.index}"] = alias.get(name, name)
    buffers = []
    for k in kernels:
        if k.out_kind == "arena":
            name = f"k{k.index}"
            buffers.append(PlanBuffer(name, k.nbytes, k.index, last.get(k.out_slot, k.index),
                                      alias_of=alias.get(name)))
    outside = [(f"in{i}", n.nbytes, "input") for i, n in enumerate(inputs)]
    outside += [(f"k{k.index}", k.nbytes, "output" if k.out_kind == "output" else "state (assigned in place)")
                for k in kernels if k.out_kind != "arena"]
    plan = plan_memory(buffers, len(kernels), outside, reuse=options.on("memplan"))
    return kernels, plan, [tuple(f) for f in frees]


def _inplace_candidate(k, kernels, n_in, last):
    """An input index whose arena buffer `k` may overwrite: it dies here, and every op reads it elementwise
    at the output's own index (no view, same shape and dtype)."""
    if k.out_kind != "arena" or any(o.info.op not in GROUPS.elementwise for o in k.ops):
        return None
    for idx, inp in enumerate(k.inputs):
        if inp.slot < n_in or kernels[inp.slot - n_in].out_kind != "arena" or last.get(inp.slot) != k.index:
            continue
        if inp.base.shape != k.shape or inp.base.dtype != k.dtype:
            continue
        if any(other.slot == inp.slot for j, other in enumerate(k.inputs) if j != idx):
            continue  # also read through a view: a write could land before that read
        if all(not r.chain for o in k.ops for r in o.srcs if r.kind == "in" and r.index == idx or r.kind == "t"):
            return idx  # (an op's value read through a view, BatchNorm's (x + b)[0:1] shift, may read x elsewhere)
    return None
