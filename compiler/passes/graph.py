"""The graph the passes hand each other: target nodes, the nodes to compute, and which nodes are inputs.

Nodes are immutable and hash-consed, so a pass never edits one: it builds new
nodes with `remake` (the op's shape rule, then `ir.make`) and returns a new
Graph. `remake` bypasses `ops.build` on purpose: build calls the eager hook,
and a compiler pass must never compute anything.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import ir
from ..ops import OPS


def remake(op: str, srcs: tuple, arg=None) -> ir.Node:
    d = OPS[op]
    shape, dtype = d.rule(srcs, arg)
    return ir.make(op, srcs, shape, dtype, arg, unique=d.unique)


@dataclass(frozen=True)
class Graph:
    targets: tuple  # what the program must produce, in order
    nodes: tuple  # everything to compute (sources before users); may hold dead nodes until dce
    inputs: frozenset  # ids of input nodes (buffers and already-computed values)
    late: frozenset = frozenset()  # ids of nodes recomputed for the backward (checkpoint.py): run on demand
    early: frozenset = frozenset()  # with `late`: ids of the forward nodes, run before the rest when ready

    def is_input(self, n) -> bool:
        return id(n) in self.inputs

    def count(self) -> int:
        """Nodes that are not inputs (what `explain` reports before/after each pass)."""
        return sum(1 for n in self.nodes if id(n) not in self.inputs)
