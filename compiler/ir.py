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
    __slots__ = ("op", "srcs", "shape", "dtype", "arg", "_value", "_sid", "__weakref__")

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


# Slot setters that bypass Node.__setattr__: `make` fills a node once, `REALIZED` and the realizer's key memo
# write their side slots (a node's value and its structural id are caches, not part of its identity).
_set_op, _set_srcs, _set_shape = Node.op.__set__, Node.srcs.__set__, Node.shape.__set__
_set_dtype, _set_arg = Node.dtype.__set__, Node.arg.__set__
_set_value, set_sid = Node._value.__set__, Node._sid.__set__


class _Values:
    """`REALIZED`: node -> the Buffer holding its value, stored on the node itself (so it lives exactly as long
    as the node, and asking is one attribute read). A `buffer` leaf is computed from birth: its value is its
    own Buffer."""
    __slots__ = ()

    def __contains__(self, n) -> bool:
        return n._value is not None

    def __getitem__(self, n):
        v = n._value
        if v is None:
            raise KeyError(n)
        return v

    def get(self, n, default=None):
        v = n._value
        return default if v is None else v

    def __setitem__(self, n, buffer) -> None:
        _set_value(n, buffer)
        if _PIN_KEYS:
            _unpin(n)


# The hash-cons table: key -> weakref to the node; a node's death removes its entry (if still its own).
_TABLE: "dict[tuple, weakref.ref]" = {}
REALIZED = _Values()


# Pinned nodes: held strongly under a caller's key while they are pending, so a node a training step makes
# every step (a scalar constant) is made once. Once computed, a node is unpinned: a computed node kept alive
# would be handed to later graphs as an input, where they expect a fresh constant.
_PINNED: dict = {}  # key -> node
_PIN_KEYS: dict = {}  # id(node) -> its keys in _PINNED
PIN_LIMIT = 4096  # pinned nodes at most: past it, all are dropped at once


def pinned(key, build):
    """The pending node pinned under `key`, else `build()`'s node (pinned under `key` while it is pending)."""
    n = _PINNED.get(key)
    if n is not None:
        return n
    n = build()
    if n._value is None:
        if len(_PINNED) >= PIN_LIMIT:
            _PINNED.clear()
            _PIN_KEYS.clear()
        _PINNED[key] = n
        _PIN_KEYS.setdefault(id(n), []).append(key)
    return n


def _unpin(n) -> None:
    for key in _PIN_KEYS.pop(id(n), ()):
        _PINNED.pop(key, None)


def _argkey(arg):
    """A hashable key for an arg that keeps -0.0 apart from 0.0 and 1.0 apart from True."""
    # BEGIN EXERCISE m10.argkey
    # STUB: return arg
    t = type(arg)
    if t is float:
        return ("f", arg.hex())
    if t is tuple:
        for a in arg:
            if type(a) in _TAGGED:
                return tuple([_argkey(a) if type(a) in _TAGGED else a for a in arg])
        return arg
    if t is bool:
        return ("b", arg)
    return arg
    # END EXERCISE m10.argkey


_TAGGED = frozenset((float, tuple, bool))


class _Entry(weakref.ref):
    """A hash-cons table entry: a weak reference that knows its key, so one shared callback can remove it
    (a closure per node would cost an allocation on every node made)."""
    __slots__ = ("key",)


def _forget(ref, table=_TABLE):
    if table.get(ref.key) is ref:
        del table[ref.key]


def make(op: str, srcs: tuple, shape: tuple, dtype: np.dtype, arg=None, unique: bool = False) -> Node:
    """The one constructor: returns the existing node for an equal key unless `unique`."""
    # BEGIN EXERCISE m10.hash_cons
    # STUB: n = object.__new__(Node)  # no hash-consing: every call builds a new node
    # STUB: for set_slot, value in ((_set_op, op), (_set_srcs, srcs), (_set_shape, shape), (_set_dtype, dtype),
    # STUB:                         (_set_arg, arg), (_set_value, arg if op == "buffer" else None), (set_sid, None)):
    # STUB:     set_slot(n, value)
    # STUB: return n
    if not unique:
        key = (op, srcs, shape, dtype, None if arg is None else _argkey(arg))
        ref = _TABLE.get(key)
        if ref is not None:
            found = ref()
            if found is not None:
                return found
    n = object.__new__(Node)
    _set_op(n, op)
    _set_srcs(n, srcs)
    _set_shape(n, shape)
    _set_dtype(n, dtype)
    _set_arg(n, arg)
    _set_value(n, arg if op == "buffer" else None)
    set_sid(n, None)
    if not unique:
        entry = _TABLE[key] = _Entry(n, _forget)
        entry.key = key
    return n
    # END EXERCISE m10.hash_cons


def live_nodes() -> int:
    """How many hash-consed nodes are alive (a leak check for tests)."""
    return len(_TABLE)


def toposort(targets, stop=None, seen=None, order=None) -> list:
    """Nodes reachable from `targets`, sources before users; `stop(n)` nodes are kept but not entered.

    `seen` (ids) and `order` continue an earlier walk: nodes already seen are skipped and new ones appended,
    which gives the same list as one walk over the earlier targets followed by these.
    """
    # BEGIN EXERCISE m03.topo_walk
    order = [] if order is None else order
    seen = set() if seen is None else seen
    add = seen.add
    empty = iter(())
    for t in targets:
        if id(t) in seen:
            continue
        add(id(t))
        stack = [(t, empty if stop is not None and stop(t) else iter(t.srcs))]
        while stack:
            n, it = stack[-1]
            for s in it:
                if id(s) not in seen:
                    add(id(s))
                    stack.append((s, empty if stop is not None and stop(s) else iter(s.srcs)))
                    break
            else:
                stack.pop()
                order.append(n)
    return order
    # END EXERCISE m03.topo_walk


def pending(targets, seen=None, order=None) -> list:
    """`toposort` stopping at computed nodes (buffers and realized values): what realizing `targets` runs.

    The same walk as `toposort(targets, stop=computed)`, with the stop test inlined: every realize walks its
    whole graph, and a computed node is a leaf of the walk at once."""
    order = [] if order is None else order
    seen = set() if seen is None else seen
    add, emit = seen.add, order.append
    for t in targets:
        if id(t) in seen:
            continue
        add(id(t))
        if t._value is not None:
            emit(t)
            continue
        stack = [(t, iter(t.srcs))]
        while stack:
            n, it = stack[-1]
            for s in it:
                if id(s) not in seen:
                    add(id(s))
                    if s._value is not None:
                        emit(s)
                        continue
                    stack.append((s, iter(s.srcs)))
                    break
            else:
                stack.pop()
                emit(n)
    return order


_SHORT = {"float32": "f32", "float16": "f16", "float64": "f64", "int32": "i32", "int64": "i64", "bool": "bool",
          "int8": "i8", "uint8": "u8", "int16": "i16", "uint16": "u16", "uint32": "u32", "uint64": "u64"}


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
