"""Compile a graph into a Program: passes, then lowering to steps the runtime runs.

A Program is what the cache stores: a list of steps over numbered slots, which
slots the inputs fill and which hold the outputs. It keeps no reference to the
graph it came from.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from ..runtime import run_steps

from . import ir
from .ops import OPS

BACKENDS = ("numpy",)


@dataclass(frozen=True)
class Options:
    """What the pipeline may do: the backend and the passes switched off by name."""
    backend: str = "numpy"
    disabled: frozenset = frozenset()

    def key(self):
        return (self.backend, tuple(sorted(self.disabled)))

    @staticmethod
    def current() -> "Options":
        return CONFIG.options


class _Config:
    options = Options(backend=os.environ.get("TINYTORCH_BACKEND", "numpy"))


CONFIG = _Config()


@dataclass
class Step:
    """One lowered unit of work (one node for now; a fused kernel once fusion exists)."""
    op: str
    shape: tuple
    dtype: object
    backend: str


@dataclass
class Program:
    steps: list
    n_slots: int
    input_slots: list
    output_slots: list
    listing: str
    kernels: list = field(default_factory=list)
    compile_s: float = 0.0
    last_run_s: float = 0.0

    def run(self, arrays):
        slots = [None] * self.n_slots
        for s, a in zip(self.input_slots, arrays):
            slots[s] = a
        t0 = time.perf_counter()
        run_steps(self.steps, slots, self.describe)
        self.last_run_s = time.perf_counter() - t0
        return [slots[s] for s in self.output_slots]

    def describe(self, i: int) -> str:
        k = self.kernels[i]
        return f"kernel {i} ({k.op} -> {k.dtype}{list(k.shape)})"


def _writes_first_order(order):
    """Everything that reads state before anything that writes it: assigns (and their users) go last."""
    after = set()
    for n in order:
        if n.op == "assign" or any(id(s) in after for s in n.srcs):
            after.add(id(n))
    return [n for n in order if id(n) not in after] + [n for n in order if id(n) in after]


def compile_graph(order, inputs, targets, options: Options) -> Program:
    if options.backend not in BACKENDS:
        raise ValueError(f"unknown backend {options.backend!r}; choose one of {', '.join(BACKENDS)}")
    slot = {id(n): i for i, n in enumerate(inputs)}
    input_slots = list(range(len(inputs)))
    compute = [n for n in _writes_first_order(order) if id(n) not in slot]
    for n in compute:
        slot[id(n)] = len(slot)
    last_use = {}
    for i, n in enumerate(compute):
        for s in n.srcs:
            last_use[id(s)] = i
    keep = set(slot[id(t)] for t in targets) | set(input_slots)
    frees = [[] for _ in compute]
    for nid, i in last_use.items():
        if slot[nid] not in keep:
            frees[i].append(slot[nid])
    steps, kernels = [], []
    for i, n in enumerate(compute):
        steps.append((OPS[n.op].numpy, ir.Info(n), tuple(slot[id(s)] for s in n.srcs), slot[id(n)], tuple(frees[i])))
        kernels.append(Step(n.op, n.shape, n.dtype, "numpy"))
    return Program(steps, len(slot), input_slots, [slot[id(t)] for t in targets],
                   ir.listing(targets, stop=lambda n: id(n) in slot and slot[id(n)] < len(inputs)), kernels)
