"""Dead-code elimination, and re-interning after rewrites (CSE).

Common subexpressions are merged when nodes are built (hash-consing), and the
rewrites of earlier passes build through the same table, so equal nodes are
one node already. What rewrites leave behind are dead nodes (the `mul` and the
`1` of a folded `x*1`): this pass keeps only what the targets reach, re-interned
through `remake` so every node is the canonical one for its key.
"""
from __future__ import annotations

from .graph import Graph, remake
from .. import ir


def dce(g: Graph) -> tuple:
    """Returns (new graph, memo: id(old node) -> new node) for the nodes the targets reach."""
    memo = {}
    for n in ir.toposort(g.targets, stop=g.is_input):
        if g.is_input(n):
            memo[id(n)] = n
            continue
        srcs = tuple(memo[id(s)] for s in n.srcs)
        memo[id(n)] = n if srcs == n.srcs else remake(n.op, srcs, n.arg)
    targets = tuple(memo[id(t)] for t in g.targets)
    return Graph(targets, tuple(ir.toposort(targets, stop=g.is_input)), g.inputs), memo
