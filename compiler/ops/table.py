"""The op table itself: what an op declaration holds, the table, the named groups, and `build`.

Every fact about an op is a field of its `OpDef`, set once where the op is
declared (one file per group of ops in this package). What the passes and
lowerings ask about ops ("is it a free view?", "is it a reduction?") they ask
through `GROUPS`, sets derived from those fields, so no other file spells out
a set of op names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..ir import Node, make

KINDS = ("leaf", "unary", "binary", "ternary", "cast", "reduce", "movement", "matmul", "index", "window", "assign")
ELEMENTWISE = ("unary", "binary", "ternary", "cast")  # the kinds whose ops compute one element from one element each

BOOL = np.dtype("bool")
INT64 = np.dtype("int64")


@dataclass(frozen=True)
class OpDef:
    name: str
    kind: str  # its group, one of KINDS
    rule: Callable  # (srcs, arg) -> (shape, dtype); raises ValueError / TypeError naming the op and the shapes
    numpy: Callable  # (node, *arrays) -> ndarray: the reference implementation (eager mode, folding, NumPy backend)
    vjp: Optional[Callable] = None  # (node, grad) -> tuple of Node | None, one per src
    llvm: Optional[Callable] = None  # elementwise ops: the native scalar lowering, in compiler/llvm/scalar.py
    unique: bool = False  # never hash-consed (identity or side effect)
    ufunc: Optional[np.ufunc] = None  # the NumPy ufunc it is: the NumPy backend calls it with out=
    view: bool = False  # free: a reader indexes its source through strides; nothing is computed or copied
    embedded: bool = False  # a leaf whose value is written into the kernels that read it, never computed
    constant: bool = False  # a leaf whose value is known when compiling: fold evaluates what reads only these
    folds: bool = True  # False: fold leaves it alone (its value is data, random, or a side effect)
    commutative: bool = False  # op(a, b) == op(b, a): fold's patterns match its operands in either order
    costly: bool = False  # far dearer than a load (a transcendental): a row kernel stores it rather than redo it
    accumulates: bool = False  # adds several inputs into one output element: its output is zeroed, then added to
    into: Optional[Callable] = None  # (out, *arrays, arg, copy_windows=None) -> out, written into out; both backends
    # call it, the native one passing its window copy (compiler/llvm/im2col.py)
    flops: Optional[Callable] = None  # (node) -> int: the arithmetic of an op that is not one per output element
    # (a convolution, attention): the profiler's FLOPs and the roofline read it through each kernel


OPS: dict[str, OpDef] = {}


def declare(name: str, kind: str, rule: Callable, numpy: Callable, vjp: Optional[Callable] = None, **traits) -> None:
    """Add one op to the table; `traits` are the other OpDef fields."""
    if name in OPS:
        raise ValueError(f"op {name!r} is declared twice; every op is declared once, in compiler/ops/")
    if kind not in KINDS:
        raise ValueError(f"op {name!r}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    OPS[name] = OpDef(name, kind, rule, numpy, vjp, **traits)


@dataclass(frozen=True)
class Groups:
    """Named sets of op names, derived from the declarations (`Groups.of(OPS)`): `op in GROUPS.views`."""
    leaf: frozenset
    unary: frozenset
    binary: frozenset
    ternary: frozenset
    cast: frozenset
    reduce: frozenset
    movement: frozenset
    matmul: frozenset
    index: frozenset
    window: frozenset
    assign: frozenset
    elementwise: frozenset  # the kinds in ELEMENTWISE: fusable into one loop over the output's elements
    views: frozenset  # OpDef.view
    embedded: frozenset  # OpDef.embedded
    constants: frozenset  # OpDef.constant
    never_folded: frozenset  # not OpDef.folds
    costly: frozenset  # OpDef.costly
    accumulating: frozenset  # OpDef.accumulates

    @staticmethod
    def of(ops: dict) -> "Groups":
        def where(test) -> frozenset:
            return frozenset(name for name, d in ops.items() if test(d))
        by_kind = {k: where(lambda d, k=k: d.kind == k) for k in KINDS}
        return Groups(**by_kind,
                      elementwise=where(lambda d: d.kind in ELEMENTWISE),
                      views=where(lambda d: d.view),
                      embedded=where(lambda d: d.embedded),
                      constants=where(lambda d: d.constant),
                      never_folded=where(lambda d: not d.folds),
                      costly=where(lambda d: d.costly),
                      accumulating=where(lambda d: d.accumulates))


class Hooks:
    """Set by compiler.eager: called with each new node while eager mode is on."""
    eager = None


def build(op: str, *srcs: Node, arg=None) -> Node:
    """The only way to make a node: runs the op's shape/dtype rule, so errors are raised at the user's line."""
    d = OPS.get(op)
    if d is None:
        raise ValueError(f"unknown op {op!r}; known ops: {', '.join(sorted(OPS))}")
    shape, dtype = d.rule(srcs, arg)
    n = make(op, srcs, shape, dtype, arg, unique=d.unique)
    if Hooks.eager is not None:
        Hooks.eager(n)
    return n


def shapes(srcs) -> str:
    return " and ".join(str(tuple(s.shape)) for s in srcs)


def is_float(dtype) -> bool:
    return dtype.kind == "f"


def apply_chain(array, chain):
    """`array` seen through a chain of movement ops (their Infos), as NumPy views where NumPy can."""
    for info in chain:
        array = OPS[info.op].numpy(info, array)
    return array
