"""The questions the frontend asks the compiler about nodes and graphs, as public functions.

A tensor (tinytorch/) is a handle on one `ir.Node`. Whether that node has a value yet, which Buffer holds
it, which pending graphs read state that an update is about to overwrite, and what the passes make of a
graph are questions about the IR, so they are answered here: nothing outside the compiler reads a node's
private slots (`Node._value` holds the Buffer of a computed node).
"""
from __future__ import annotations

import numpy as np

from . import ir
from .ops import GROUPS
from .passes.fusion import output_views
from .program import Options, optimize, schedule_groups


def is_computed(node: ir.Node) -> bool:
    """Whether `node` has a value: a buffer leaf always has, any other node once a Program (or eager mode)
    computed it."""
    return node._value is not None


def buffer_of(node: ir.Node):
    """The Buffer holding `node`'s value (a buffer leaf's own Buffer), or None while the node is pending."""
    return node._value


def array_of(node: ir.Node) -> np.ndarray:
    """The array of a computed node. It is the Buffer's own array: writing into it changes the value."""
    return node._value.array


def assigned_buffers(nodes) -> set:
    """ids of the Buffers that the `assign` nodes among `nodes` overwrite."""
    return {id(n.srcs[0].arg) for n in nodes if n.op == "assign"}


def readers_of(buffers, among) -> list:
    """The pending nodes of `among` whose graphs read one of `buffers` (ids, as `assigned_buffers` gives).

    A Program that assigns to a buffer overwrites it, so a pending graph that reads the old contents must be
    computed in that same Program, before the write. The walk does not enter computed nodes (their values
    are kept) except views (their value is their source's memory), nor pending `assign` nodes met inside a
    graph (behind one is the update itself, not a read of the old contents); a computed assign (eager mode's)
    is its Buffer's contents, so reading it reads the buffer. A pending assign among the roots is walked through its value: BatchNorm's running statistics
    read the forward pass, so the optimizer's Program that overwrites the weights computes them too. Each node
    is decided once, from its sources (graphs shared between roots are walked once), and exactly: a shared
    constant does not make every graph that holds it a reader, so one thread's realize never takes in another
    thread's pending work.
    """
    reads = {}  # id(node) -> whether its graph reads one of `buffers`

    def decide(root) -> bool:
        stack = [root]
        while stack:
            n = stack[-1]
            k = id(n)
            if k in reads:
                stack.pop()
                continue
            op, value = n.op, n._value
            if op == "buffer" or (op == "assign" and n is not root):
                # a pending assign inside a graph is the update itself, not a read of the old contents; a
                # computed one (eager mode computes it as it is built) is its Buffer's current contents
                held = n.arg if op == "buffer" else value
                reads[k] = held is not None and id(held) in buffers
                stack.pop()
                continue
            if op == "assign":
                srcs = n.srcs[1:]
            elif value is None or op in GROUPS.views:  # a computed view still reads its source's memory
                srcs = n.srcs
            else:
                srcs = ()
            todo = [s for s in srcs if id(s) not in reads]
            if todo:  # decide the sources first (a graph is acyclic: n comes back once they are)
                stack += todo
                continue
            reads[k] = any(reads[id(s)] for s in srcs)
            stack.pop()
        return reads[id(root)]

    return [root for root in among if root._value is None and decide(root)]


def arg_text(node: ir.Node) -> str:
    """`node`'s argument as the IR listing prints it ("" for none)."""
    return ir._arg_str(node).strip()


def after_passes(targets, options: Options) -> tuple:
    """What compiling `targets` makes of their graph, short of lowering it: (the nodes after fold and dce,
    sources first; the fused groups in the order the schedule runs them; {id(node before): node after})."""
    order = ir.pending(targets)
    inputs = [n for n in order if n._value is not None]
    res = optimize(order, inputs, targets, options)
    g, groups = res["graph"], res["groups"]
    outputs = {id(t) for t in g.targets} | {id(b) for b, _ in output_views(g, groups).values()}
    run_order = schedule_groups(groups, g, outputs, options)
    return list(g.nodes), [groups[i] for i in run_order], res["memo"]
