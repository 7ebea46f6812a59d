"""Compile a graph into a Program: passes, kernels, schedule, memory plan, lowering.

    fold -> dce -> fuse -> schedule -> memplan (+ inplace) -> lower (numpy | llvm)

Each pass can be switched off by name (`Options.disabled`, see PASS_NAMES);
each records the node (or kernel) counts before and after for `explain`.
A Program is what the cache stores: kernels over numbered slots (the inputs
first, then one per kernel output), the memory plan, and the text of the
graph before and after the passes. It keeps no reference to the graph it came
from. Its internal temporaries live in one arena, allocated on the first run
and reused by every later run; outputs are fresh arrays.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from ..runtime import Arena, run_steps

from . import ir
from .kernelize import kernelize
from .lower_numpy import lower
from .passes import PASS_NAMES, Graph, fold, dce, fuse, schedule, plan_memory
from .passes.memplan import PlanBuffer

BACKENDS = ("numpy", "llvm")
DEFAULT_BACKEND = "llvm"  # the whole suite passes on it (tests/conftest.py pins numpy unless TINYTORCH_BACKEND is set)
BACKEND_ENV = "TINYTORCH_BACKEND"


@dataclass(frozen=True)
class Options:
    """What the pipeline may do: the backend and the passes switched off by name (see PASS_NAMES)."""
    backend: str = "numpy"
    disabled: frozenset = frozenset()

    def __post_init__(self):
        object.__setattr__(self, "disabled", frozenset(self.disabled))
        unknown = self.disabled - set(PASS_NAMES)
        if unknown:
            raise ValueError(f"unknown pass {sorted(unknown)}; the passes are {', '.join(PASS_NAMES)}")

    def key(self):
        return (self.backend, tuple(sorted(self.disabled)))

    def on(self, name: str) -> bool:
        return name not in self.disabled

    @staticmethod
    def current() -> "Options":
        return CONFIG.options


class _Config:
    options = Options(backend=os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND)


CONFIG = _Config()


@dataclass
class PassRecord:
    name: str
    before: int
    after: int
    unit: str  # "nodes" or "kernels"
    ms: float
    enabled: bool

    def row(self) -> str:
        state = "" if self.enabled else "  (off)"
        return f"{self.name:<9} {self.before:>6} -> {self.after:<6} {self.unit:<8} {self.ms:8.2f} ms{state}"


@dataclass
class Program:
    kernels: list
    n_inputs: int
    output_slots: list
    memory_plan: object
    listing: str  # the graph as given
    listing_after: str  # after fold and dce
    passes: list = field(default_factory=list)  # PassRecord
    options: Options = field(default_factory=Options)
    frees: list = field(default_factory=list)  # per kernel: slots dead after it
    compile_s: float = 0.0
    last_run_s: float = 0.0
    kernel_s: list = field(default_factory=list)  # per kernel: seconds in the last timed run
    arena: object = None
    native: object = None  # lower_llvm.NativeProgram when the backend is llvm
    _outs: list = field(default_factory=list)

    @property
    def steps(self):
        return self.kernels

    def _bind(self):
        self.arena = Arena(self.memory_plan.peak_bytes)
        offsets = {b.name: b.offset for b in self.memory_plan.buffers}
        if self.native is not None:
            self.native.bind(self.arena, offsets)
            return
        self._outs = [self.arena.view(offsets[f"k{k.index}"], k.shape, k.dtype) if k.out_kind == "arena"
                      else None for k in self.kernels]

    def _call(self, k, *ins):
        if k.out_kind == "arena":
            out = self._outs[k.index]
        elif k.out_kind == "target":
            out = ins[k.ops[-1].srcs[0].index]
        else:
            out = np.empty(k.shape, k.dtype)
        return k.fn(out, *ins)

    def run(self, arrays, timed: bool = False):
        if self.arena is None:
            self._bind()
        if self.native is not None:
            return self._run_native(arrays, timed)
        slots = list(arrays) + [None] * len(self.kernels)
        call = self._call
        if timed:
            self.kernel_s = [0.0] * len(self.kernels)

            def call(k, *ins):
                t = time.perf_counter()
                try:
                    return self._call(k, *ins)
                finally:
                    self.kernel_s[k.index] = time.perf_counter() - t
        steps = [(call, k, tuple(i.slot for i in k.inputs), k.out_slot, self.frees[k.index])
                 for k in self.kernels]
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):  # log(0) is -inf without a warning, as in eager mode and PyTorch
            run_steps(steps, slots, self.describe)
        self.last_run_s = time.perf_counter() - t0
        return [slots[s] for s in self.output_slots]

    def _run_native(self, arrays, timed):
        times = [0.0] * len(self.kernels) if timed else None
        t0 = time.perf_counter()
        outs = self.native.run(arrays, self.describe, times)
        self.last_run_s = time.perf_counter() - t0
        if timed:
            self.kernel_s = times
        return outs

    def describe(self, i: int) -> str:
        k = self.kernels[i]
        return f"kernel {i} ({k.op} -> {k.dtype}{list(k.shape)})"

    @property
    def flops(self) -> int:
        return sum(k.flops for k in self.kernels)


def compile_graph(order, inputs, targets, options: Options) -> Program:
    if options.backend not in BACKENDS:
        raise ValueError(f"unknown backend {options.backend!r}; choose one of {', '.join(BACKENDS)}")
    res = optimize(order, inputs, targets, options)
    g, groups, records = res["graph"], res["groups"], res["passes"]
    slot_of = {id(n): i for i, n in enumerate(inputs)}
    outputs = {id(t) for t in g.targets}
    sizes = [gr.root.nbytes if gr.kind != "copy" and gr.root.op != "assign" and id(gr.root) not in outputs else 0
             for gr in groups]
    t = time.perf_counter()
    order_ = schedule(groups, g, sizes, enabled=options.on("schedule"))
    kernels = kernelize(groups, g, order_, slot_of, outputs)
    records.append(PassRecord("schedule", len(kernels), len(kernels), "kernels",
                              (time.perf_counter() - t) * 1e3, options.on("schedule")))
    t = time.perf_counter()
    plan, frees = _memory(kernels, len(inputs), inputs, options)
    records.append(PassRecord("memplan", plan.no_reuse_bytes, plan.peak_bytes, "bytes",
                              (time.perf_counter() - t) * 1e3, options.on("memplan")))
    out_slots = _output_slots(g, groups, order_, len(inputs))
    native = None
    if options.backend == "llvm":
        from .lower_llvm import lower_program
        native = lower_program(kernels, len(inputs), inputs, out_slots)
    else:
        for k in kernels:
            lower(k)
    is_in = {id(n) for n in inputs}
    prog = Program(kernels, len(inputs), out_slots, plan,
                   ir.listing(list(targets), stop=lambda n: id(n) in is_in),
                   ir.listing(list(g.targets), stop=g.is_input), records, options, frees)
    prog.native = native
    return prog


def optimize(order, inputs, targets, options: Options) -> dict:
    """The graph passes and fusion: {"graph", "groups", "passes", "memo"} (memo: id(old node) -> new node)."""
    g = Graph(tuple(targets), tuple(order), frozenset(id(n) for n in inputs))
    records, memo = [], {id(n): n for n in order}
    for name, fn in (("fold", fold), ("dce", dce)):
        before, t = g.count(), time.perf_counter()
        if options.on(name):
            g, m = fn(g)
            memo = {k: m.get(id(v), v) for k, v in memo.items()}
        records.append(PassRecord(name, before, g.count(), "nodes", (time.perf_counter() - t) * 1e3,
                                  options.on(name)))
    t = time.perf_counter()
    groups = fuse(g, enabled=options.on("fuse"), rows=options.on("rowfuse"))
    records.append(PassRecord("fuse", g.count(), len(groups), "kernels", (time.perf_counter() - t) * 1e3,
                              options.on("fuse")))
    return {"graph": g, "groups": groups, "passes": records, "memo": memo}


def _output_slots(g, groups, order_, n_in) -> list:
    step_of = {gi: s for s, gi in enumerate(order_)}
    root_slot = {id(gr.root): n_in + step_of[i] for i, gr in enumerate(groups) if gr.kind != "copy"}
    copies = iter(n_in + step_of[i] for i, gr in enumerate(groups) if gr.kind == "copy")
    claimed, out = set(), []
    for t in g.targets:
        if id(t) in root_slot and id(t) not in claimed:
            claimed.add(id(t))
            out.append(root_slot[id(t)])
        else:
            out.append(next(copies))
    return out


def _memory(kernels, n_in, inputs, options):
    """Liveness over the schedule, in-place pairs, offsets; and per kernel the slots dead after it."""
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
        for k in kernels:
            src = _inplace_candidate(k, kernels, n_in, last)
            if src is not None:
                k.inplace_of = src
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
    return plan, [tuple(f) for f in frees]


def _inplace_candidate(k, kernels, n_in, last):
    """An input index whose arena buffer `k` may overwrite: it dies here, and every op reads it elementwise
    at the output's own index (no view, same shape and dtype)."""
    if k.out_kind != "arena" or any(o.info.op not in _ELEMENTWISE_OPS for o in k.ops):
        return None
    for idx, inp in enumerate(k.inputs):
        if inp.slot < n_in or kernels[inp.slot - n_in].out_kind != "arena" or last.get(inp.slot) != k.index:
            continue
        if inp.base.shape != k.shape or inp.base.dtype != k.dtype:
            continue
        if all(not r.chain for o in k.ops for r in o.srcs if r.kind == "in" and r.index == idx):
            return idx
    return None


def _elementwise_ops():
    from .ops import OPS
    return frozenset(n for n, d in OPS.items() if d.kind in ("unary", "binary", "ternary", "cast"))


_ELEMENTWISE_OPS = _elementwise_ops()


def _writes_first_order(order):
    """Everything that reads state before anything that writes it: assigns (and their users) go last.
    (Kept for callers of the node-level order; kernels get the same guarantee in passes/schedule.py.)"""
    after = set()
    for n in order:
        if n.op == "assign" or any(id(s) in after for s in n.srcs):
            after.add(id(n))
    return [n for n in order if id(n) not in after] + [n for n in order if id(n) in after]
