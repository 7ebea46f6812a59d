"""The IR: immutable, hash-consed graph nodes and their text listing.

A `Node` is (op, srcs, shape, dtype, arg). Nodes are built only through
`make`, which returns the existing node for an equal key, so building the same
expression twice gives the same object: common-subexpression elimination for
free, and identity comparison is structural comparison. The table holds its
nodes weakly, so a graph nobody references is freed (a training loop builds a
new graph every step).

Leaves with identity (a `buffer` names one Buffer; an `assign` has a side
effect) are never merged: `make(..., unique=True)`.

`REALIZED` maps a node that has been computed to the Buffer holding its value,
weakly, so the value lives exactly as long as the node does.
"""
from __future__ import annotations

import weakref

import numpy as np


class Node:
    __slots__ = ("op", "srcs", "shape", "dtype", "arg", "__weakref__")

    op: str
    srcs: tuple
    shape: tuple
    dtype: np.dtype
    arg: object

    def __setattr__(self, name, value):
        raise AttributeError("Node is immutable")

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __repr__(self):
        return f"<Node {self.op} {type_str(self)}>"


_TABLE: "weakref.WeakValueDictionary[tuple, Node]" = weakref.WeakValueDictionary()
REALIZED: "weakref.WeakKeyDictionary[Node, object]" = weakref.WeakKeyDictionary()


def _argkey(arg):
    """A hashable key for an arg that keeps -0.0 apart from 0.0 and 1.0 apart from True."""
    if type(arg) is float:
        return ("f", arg.hex())
    if type(arg) is tuple:
        return tuple(_argkey(a) for a in arg)
    if type(arg) is bool:
        return ("b", arg)
    return arg


def make(op: str, srcs: tuple, shape: tuple, dtype: np.dtype, arg=None, unique: bool = False) -> Node:
    """The one constructor: returns the existing node for an equal key unless `unique`."""
    key = None
    if not unique:
        key = (op, srcs, shape, dtype, _argkey(arg))
        found = _TABLE.get(key)
        if found is not None:
            return found
    n = object.__new__(Node)
    for name, value in (("op", op), ("srcs", srcs), ("shape", shape), ("dtype", dtype), ("arg", arg)):
        object.__setattr__(n, name, value)
    if key is not None:
        _TABLE[key] = n
    return n


def live_nodes() -> int:
    """How many hash-consed nodes are alive (a leak check for tests)."""
    return len(_TABLE)


def toposort(targets, stop=lambda n: False) -> list:
    """Nodes reachable from `targets`, sources before users; `stop(n)` nodes are kept but not entered."""
    order, seen = [], set()
    for t in targets:
        if id(t) in seen:
            continue
        stack = [(t, False)]
        while stack:
            n, expanded = stack.pop()
            if expanded:
                order.append(n)
                continue
            if id(n) in seen:
                continue
            seen.add(id(n))
            stack.append((n, True))
            if not stop(n):
                for s in reversed(n.srcs):
                    if id(s) not in seen:
                        stack.append((s, False))
    return order


_SHORT = {"float32": "f32", "float16": "f16", "float64": "f64", "int32": "i32", "int64": "i64", "bool": "bool",
          "int8": "i8", "uint8": "u8"}


def type_str(n: Node) -> str:
    return f"{_SHORT.get(n.dtype.name, n.dtype.name)}[{','.join(map(str, n.shape))}]"


def _arg_str(n: Node) -> str:
    if n.arg is None:
        return ""
    if n.op == "buffer":
        return ""
    if n.op == "const":
        return f" {n.arg[0]!r}"
    if n.op == "arange":
        return f" start={n.arg[0]!r} step={n.arg[1]!r}"
    if n.op == "rand":
        return ""
    if isinstance(n.arg, np.dtype):
        return f" {n.arg.name}"
    return f" {n.arg!r}"


def listing(targets, stop=lambda n: False, names=None) -> str:
    """One line per node, like a jaxpr: `%3 : f32[4,8] = add %1 %2`."""
    order = toposort(targets, stop)
    ids = {} if names is None else names
    lines = []
    for n in order:
        ids[id(n)] = len(ids)
        stopped = stop(n)  # kept as an input, sources not walked
        srcs = "" if stopped else " ".join(f"%{ids[id(s)]}" for s in n.srcs)
        tail = " (realized)" if n.op != "buffer" and stopped else ""
        lines.append(f"%{ids[id(n)]} : {type_str(n)} = {n.op}{(' ' + srcs) if srcs else ''}{_arg_str(n)}{tail}")
    outs = " ".join(f"%{ids[id(t)]}" for t in targets)
    lines.append(f"return {outs}")
    return "\n".join(lines)


class Info(tuple):
    """What a lowered step needs of its node (op, shape, dtype, arg), without the sources.

    A cached Program holds these rather than Nodes, so it never keeps the first
    graph it was compiled from (and that graph's input arrays) alive.
    """
    __slots__ = ()

    def __new__(cls, n: Node):
        return tuple.__new__(cls, (n.op, n.shape, n.dtype, n.arg))

    op = property(lambda self: self[0])
    shape = property(lambda self: self[1])
    dtype = property(lambda self: self[2])
    arg = property(lambda self: self[3])
    ndim = property(lambda self: len(self[1]))
