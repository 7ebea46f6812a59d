"""Row fusion: reductions and the elementwise ops that read them broadcast back, in ONE kernel.

Softmax (max, exp(x - max), sum, divide) and layernorm (mean, x - mean, var,
normalize) reduce over the trailing axes and then read the reduced value back
over those same axes. Node-level fusion must stop there (a consumer element
needs the whole reduction first), so each takes four kernels and four passes
over memory. Here the kernels fusion produced are merged into a "row kernel":
for each index of the kept (outer) axes, the reductions run one after another
over the row, then the ops of the input's shape run over the row again, each
reading the row's reduced values as scalars. A row is small (1024 floats is
4 KB), so reading it again comes from cache: the kernel reads its input from
memory once and writes its output once.

What may be merged (anything else stays as fusion left it):
- groups of elementwise ops and reductions, no assign, matmul or opaque op;
- every reduction reduces the same trailing axes (more than one element) of
  an input of the same shape S; every other op has shape S or the reduced
  shape R;
- inside the kernel an S-shaped value is read only at its own index, an
  R-shaped value only at its own index or through `expand` back to S (both
  perhaps through `detach`): so a row needs nothing from another row;
- a group merges into the group reading its output when that is the only
  group reading it and the output is not a program output (as for nodes: no
  cycle between kernels, one output per kernel).
"""
from __future__ import annotations

import math

from ..ops import GROUPS
from .graph import Graph

_MERGEABLE = frozenset({"elementwise", "reduce", "row"})


def merge_rows(groups: list, g: Graph, base, escapes: set) -> list:
    """`groups` in graph order (fusion's result); `base(s)`: the (node, chain of views) operand `s` reads;
    `escapes`: ids of nodes the program outputs. Returns the groups with row groups merged, in order."""
    owner = {id(n): gr for gr in groups for n in gr.nodes}
    readers = {id(gr.root): set() for gr in groups}
    for gr in groups:
        for n in gr.nodes:
            for s in n.srcs:
                b, _ = base(s)
                o = owner.get(id(b))
                if o is not None and o is not gr and b is o.root:
                    readers[id(b)].add(id(gr))
    into = {}

    def find(i):
        while i in into:
            i = into[i]
        return i
    by_id = {id(gr): gr for gr in groups}
    pos = {id(n): i for i, n in enumerate(g.nodes)}
    for p in reversed(groups):
        if p.kind not in _MERGEABLE or id(p.root) in escapes or not readers[id(p.root)]:
            continue
        cons = {find(c) for c in readers[id(p.root)]}
        if len(cons) != 1:
            continue
        c = by_id[next(iter(cons))]
        if c.kind not in _MERGEABLE:
            continue
        nodes = list({id(n): n for n in p.nodes + c.nodes}.values())  # a recomputed node may be in both
        axes = row_axes(nodes, base)
        if axes is None:
            continue
        c.nodes = sorted(nodes, key=lambda n: pos[id(n)])
        c.kind, c.row_axes = "row", axes
        c.core = next(n for n in c.nodes if n.op in GROUPS.reduce)
        c.phase.update(p.phase)
        into[id(p)] = id(c)
    return [gr for gr in groups if id(gr) not in into]


def row_axes(nodes, base) -> "tuple | None":
    """The trailing axes the nodes' reductions reduce, where `nodes` can run as one row kernel; else None."""
    reds = [n for n in nodes if n.op in GROUPS.reduce]
    if not reds:
        return None
    axes, full, part = tuple(reds[0].arg), tuple(reds[0].srcs[0].shape), tuple(reds[0].shape)
    if axes != tuple(range(len(full) - len(axes), len(full))) or math.prod(full[d] for d in axes) <= 1:
        return None
    inside = {id(n) for n in nodes}
    for n in nodes:
        if n.op in GROUPS.reduce:
            if tuple(n.arg) != axes or tuple(n.srcs[0].shape) != full:
                return None
        elif n.op not in GROUPS.elementwise or tuple(n.shape) not in (full, part):
            return None
        for s in n.srcs:
            b, chain = base(s)
            if id(b) not in inside:
                continue
            moves = [c.op for c in chain if c.op != "detach"]
            same = tuple(b.shape) == (full if n.op in GROUPS.reduce else tuple(n.shape))
            back = tuple(b.shape) == part and tuple(n.shape) == full and moves == ["expand"]
            if not (same and not moves or back):
                return None
    return axes
