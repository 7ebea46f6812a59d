"""Symbolic batch sizes: which extents of a graph are k*N for the batch N of its dynamic inputs.

A data input is dynamic when its Buffer was marked (`mark_dynamic`: its leading dim is the batch N). `analyze`
infers, for every node of a pending graph, which of its dims are `k*N` and which are fixed, by unification
over the shape rules: an elementwise op makes its operands' dims equal, a matmul its contraction dims, a
reshape moves N into the output dim that takes the same share of the elements, and leaves that could be either
(a `const`, the target of an `expand`, a `rand`) take what their readers make them. A dim that merely equals
N (a weight of 128 rows at batch 128) is fixed: nothing ties it to a dynamic input. A constant whose value is
`1/(k*N)` (a mean over the batch), `1/(k*N-1)` or `k*N/(k*N-1)` (unbiased variance, BatchNorm's running
variance) where some reduction runs over k*N elements is lifted: it becomes an input whose value is computed
for each size, so it is data, not code.

The result, a `SymGraph`, gives the family key: the graph with every symbolic dim (in shapes and in the args
that spell shapes: reshape, expand, slice, const, rand) written as ("N", k) and every lifted constant as its
formula. Given N, that key determines the graph exactly (`instantiate` rebuilds it), so two graphs with one
key ARE one graph at two sizes: a Program compiled for the family serves both. What the analysis cannot
express (N in two dims of one tensor, a slice of the batch, an op it does not know) makes it return None and
the graph is compiled per size as before: a miss, never a wrong hit.

`Sym` is an int that remembers it is k*N: the instantiated graphs carry it through the passes, so the
kernels show which extents scale (`substitute` re-evaluates them at another N).
"""
from __future__ import annotations

import dataclasses
import functools
import weakref

import numpy as np

from ..runtime import Buffer
from . import ir
from .ops import GROUPS, OPS

DYNAMIC: "weakref.WeakSet[Buffer]" = weakref.WeakSet()  # Buffers whose leading dim is the batch


def mark_dynamic(buffer: Buffer) -> None:
    DYNAMIC.add(buffer)


class NotPolymorphic(Exception):
    """The graph is not one graph at every batch size (or not one the analysis can show to be)."""


class Sym(int):
    """An extent k*N, holding its value at the N it was built for. Multiplying by a plain int keeps the mark;
    anything else gives a plain int, which the two-size check of a family then catches."""

    def __new__(cls, k: int, n: int):
        self = int.__new__(cls, k * n)
        self.k, self.n = k, n
        return self

    def at(self, n: int) -> "Sym":
        return Sym(self.k, n)

    def __mul__(self, other):
        if isinstance(other, Sym):
            raise NotPolymorphic("an extent in N squared")
        if type(other) is int or isinstance(other, np.integer):
            return Sym(self.k * int(other), self.n) if other else 0
        return int(self) * other

    __rmul__ = __mul__

    def __add__(self, other):
        if isinstance(other, Sym) and other.n == self.n:
            return Sym(self.k + other.k, self.n)
        return int(self) + other

    __radd__ = __add__

    def __floordiv__(self, other):
        if type(other) is int and other > 0 and self.k % other == 0:
            return Sym(self.k // other, self.n)
        return int(self) // other

    def __reduce__(self):
        return Sym, (self.k, self.n)

    # A scaling extent is never taken for a size-1 dim (dropped loops, broadcasts), even at N=1: code made
    # for a family at batch 1 is the code of every batch size.
    def __eq__(self, other):
        if isinstance(other, Sym):
            return int(self) == int(other)
        if type(other) is int and other == 1:
            return False
        return int(self) == other

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = int.__hash__


def substitute(obj, n: int):
    """`obj` (tuples, Infos, dataclasses, functools.partial of them) with every Sym re-evaluated at `n`."""
    if isinstance(obj, Sym):
        return obj.at(n)
    t = type(obj)
    if t is tuple or t is list:
        return t(substitute(x, n) for x in obj)
    if t is ir.Info:
        return tuple.__new__(ir.Info, tuple(substitute(x, n) for x in obj))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(obj, **{f.name: substitute(getattr(obj, f.name), n)
                                           for f in dataclasses.fields(obj) if f.init})
    if t is functools.partial:
        return functools.partial(obj.func, *substitute(obj.args, n), **substitute(obj.keywords, n))
    if t is dict:
        return {k: substitute(v, n) for k, v in obj.items()}
    return obj


# ---------------------------------------------------------------- unification over dims

class _Dims:
    """Union-find over dim variables: each is bound to ("s", k) (k*N), ("c",) (fixed) or nothing yet."""

    def __init__(self, n0: int):
        self.n0 = n0
        self.parent, self.value, self.bound = [], [], []

    def new(self, value: int, bound=None) -> int:
        self.parent.append(len(self.parent))
        self.value.append(int(value))
        self.bound.append(bound)
        return len(self.parent) - 1

    def fixed(self, value) -> int:
        return self.new(value, ("c",))

    def find(self, v: int) -> int:
        while self.parent[v] != v:
            self.parent[v] = self.parent[self.parent[v]]
            v = self.parent[v]
        return v

    def union(self, a: int, b: int) -> int:
        a, b = self.find(a), self.find(b)
        if a == b:
            return a
        if self.value[a] != self.value[b]:
            raise NotPolymorphic("unequal dims unified")
        ba, bb = self.bound[a], self.bound[b]
        if ba is not None and bb is not None and ba != bb:
            raise NotPolymorphic("a batch dim meets a fixed dim")
        self.parent[b] = a
        self.bound[a] = ba if ba is not None else bb
        return a

    def state(self, v: int):
        """("s", k), ("c",), or None (free so far)."""
        return self.bound[self.find(v)]

    def freeze(self, v: int):
        r = self.find(v)
        if self.bound[r] is None:
            self.bound[r] = ("c",)
        return self.bound[r]

    def term(self, v: int):
        """The dim in a key: ("N", k) or its fixed value."""
        b = self.freeze(v)
        return ("N", b[1]) if b[0] == "s" else self.value[self.find(v)]

    def concrete(self, v: int, n: int):
        b = self.freeze(v)
        return Sym(b[1], n) if b[0] == "s" else self.value[self.find(v)]


def _shape(uf: _Dims, dims, N):
    """The dims as a key (N None) or as extents at N (Sym where they scale). The arg templates call this
    with the union-find only, so an analysis holds no reference cycle (its graph is freed at once)."""
    if N is None:
        return tuple(uf.term(v) for v in dims)
    return tuple(uf.concrete(v, N) for v in dims)


# ---------------------------------------------------------------- lifted constants: data that depends on N

FORMULAS = {  # name -> the value for a reduction over c elements, computed as the frontend computes it
    "inv": lambda c: 1.0 / c,                   # mean
    "inv_m1": lambda c: 1.0 / (c - 1),          # unbiased variance
    "bessel": lambda c: c / (c - 1),            # BatchNorm's running variance
}


@dataclasses.dataclass
class SymGraph:
    """What `analyze` found: the batch size, the family key, and per node how to rebuild it at any N."""
    n: int
    key: tuple
    order: list  # the graph's nodes in order
    dims: dict  # id(node) -> tuple of dim variables
    args: dict  # id(node) -> arg template: a function (N) -> the arg at N
    lifted: dict  # id(const node) -> (formula name, k): becomes an input valued FORMULAS[name](k*N)
    uf: _Dims


def analyze(order, inputs) -> "SymGraph | None":
    """The symbolic form of a pending graph whose inputs include marked Buffers, or None when there are none
    or the graph is not one graph at every batch size."""
    marked = [n for n in inputs if n._value in DYNAMIC and n.shape]
    if not marked:
        return None
    n0 = marked[0].shape[0]
    if n0 < 1 or any(n.shape[0] != n0 for n in marked):
        return None
    try:
        return _Analysis(order, inputs, n0, {id(n) for n in marked}).run()
    except NotPolymorphic:
        return None


class _Analysis:
    def __init__(self, order, inputs, n0, marked):
        self.order, self.n0, self.marked = order, n0, marked
        self.inputs = {id(n) for n in inputs}
        self.uf = _Dims(n0)
        self.dims, self.args = {}, {}

    def run(self) -> SymGraph:
        for n in self.order:
            self.dims[id(n)] = self._node(n)
        uf = self.uf
        if not any(uf.state(v) not in (None, ("c",)) for d in self.dims.values() for v in d):
            raise NotPolymorphic("nothing scales with N")
        lifted = self._lifted()
        key = []
        index = {}
        for i, n in enumerate(self.order):
            index[id(n)] = i
            dims = tuple(uf.term(v) for v in self.dims[id(n)])
            if id(n) in self.inputs:
                key.append(("in", dims, n.dtype))
            elif id(n) in lifted:
                key.append(("lifted", dims, n.dtype, lifted[id(n)]))
            else:
                arg = self.args.get(id(n))
                a = arg(None) if arg is not None else (None if n.arg is None else ir._argkey(n.arg))
                key.append((n.op, dims, n.dtype, a, tuple(index[id(s)] for s in n.srcs)))
        return SymGraph(self.n0, tuple(key), self.order, self.dims, self.args, lifted, uf)

    # ---- per op: the dim variables of a node's result

    def _node(self, n) -> tuple:
        uf, op = self.uf, n.op
        if id(n) in self.inputs:
            lead = id(n) in self.marked
            return tuple(uf.new(d, ("s", 1)) if lead and i == 0 else uf.fixed(d) for i, d in enumerate(n.shape))
        srcs = [self.dims[id(s)] for s in n.srcs]
        if op == "const":
            dims = tuple(uf.new(d) for d in n.shape)
            value, _, dtype = n.arg
            self.args[id(n)] = lambda N, dims=dims, value=value, dtype=dtype: (
                value, _shape(uf, dims, N), dtype)
            return dims
        if op == "rand":
            dims = tuple(uf.new(d) for d in n.shape)
            self.args[id(n)] = lambda N, dims=dims, dtype=n.arg[1]: (_shape(uf, dims, N), dtype)
            return dims
        if op in GROUPS.leaf:  # constarr, arange: data of one size
            return tuple(uf.fixed(d) for d in n.shape)
        if op in GROUPS.elementwise or op == "detach" or op in GROUPS.assign:
            for s in srcs[1:]:
                for a, b in zip(srcs[0], s):
                    uf.union(a, b)
            return srcs[0]
        if op in GROUPS.reduce:
            return tuple(uf.fixed(1) if i in n.arg else v for i, v in enumerate(srcs[0]))
        if op == "matmul":
            a, b = srcs
            for x, y in zip(a[:-2], b[:-2]):
                uf.union(x, y)
            uf.union(a[-1], b[-2])
            return a[:-1] + (b[-1],)
        if op == "permute":
            return tuple(srcs[0][i] for i in n.arg)
        if op == "expand":
            src = n.srcs[0]
            dims = tuple(uf.new(d) if s == 1 else v for v, s, d in zip(srcs[0], src.shape, n.arg))
            self.args[id(n)] = lambda N, dims=dims: _shape(uf, dims, N)
            return dims
        if op == "reshape":
            return self._reshape(n, srcs[0])
        if op == "slice":
            out = []
            for v, (start, stop, step), d, size in zip(srcs[0], n.arg, n.srcs[0].shape, n.shape):
                if uf.freeze(v)[0] == "s":
                    if (start, stop, step) == (0, 1, 1):  # the first sample (BatchNorm's shift): any N >= 1 has it
                        out.append(uf.fixed(1))
                        continue
                    if (start, stop, step) != (0, d, 1):
                        raise NotPolymorphic("a slice of the batch")
                    out.append(v)
                else:
                    out.append(uf.fixed(size))
            out = tuple(out)
            self.args[id(n)] = lambda N, out=out, arg=n.arg: tuple(
                (a, _shape(uf, (v,), N)[0] if uf.state(v)[0] == "s" else b, c)
                for v, (a, b, c) in zip(out, arg))
            return out
        if op == "pad":
            out = []
            for v, (lo, hi), size in zip(srcs[0], n.arg[0], n.shape):
                if lo == 0 and hi == 0:
                    out.append(v)
                elif uf.freeze(v)[0] == "s":
                    raise NotPolymorphic("padding along the batch")
                else:
                    out.append(uf.fixed(size))
            return tuple(out)
        if op == "unfold" or op == "fold":
            lead = 2 if op == "unfold" else 4
            for v in srcs[0][-lead:]:
                if uf.freeze(v)[0] == "s":
                    raise NotPolymorphic(f"{op} over the batch")
            keep = srcs[0][:-lead]
            return keep + tuple(uf.fixed(d) for d in n.shape[len(keep):])
        if op in ("conv2d", "conv2d_dx", "conv2d_dw"):
            return self._conv(n, op, srcs)
        if op == "gather":
            x, idx = srcs
            for i, (a, b) in enumerate(zip(x, idx)):
                if i != n.arg and uf.value[uf.find(a)] == uf.value[uf.find(b)]:
                    uf.union(a, b)
            return idx
        if op == "scatter_add":
            idx, src = srcs
            for a, b in zip(idx, src):
                uf.union(a, b)
            axis = n.arg[0]
            return tuple(uf.fixed(d) if i == axis else v for i, (v, d) in enumerate(zip(src, n.shape)))
        raise NotPolymorphic(f"op {op!r} is not analyzed")

    def _conv(self, n, op, srcs) -> tuple:
        """conv2d(x, w), conv2d_dx(g, w), conv2d_dw(x, g): the batch passes through dim 0 (summed away by dw);
        channels tie input to weight; the image dims are fixed."""
        uf = self.uf
        a, b = srcs
        for v in a[2:] + b[2:]:
            if uf.freeze(v)[0] == "s":
                raise NotPolymorphic(f"{op} over the batch")
        if op == "conv2d":
            uf.union(a[1], b[1])
            return (a[0], b[0]) + tuple(uf.fixed(d) for d in n.shape[2:])
        if op == "conv2d_dx":
            uf.union(a[1], b[0])
            return (a[0], b[1]) + tuple(uf.fixed(d) for d in n.shape[2:])
        uf.union(a[0], b[0])
        return (b[1], a[1]) + tuple(uf.fixed(d) for d in n.shape[2:])

    def _reshape(self, n, src) -> tuple:
        uf = self.uf
        states = [uf.freeze(v) for v in src]
        sym = [i for i, s in enumerate(states) if s[0] == "s"]
        out_shape = n.shape
        if not sym:
            dims = tuple(uf.fixed(d) for d in out_shape)
        elif len(sym) > 1:
            raise NotPolymorphic("N in two dims")
        else:
            p, k = sym[0], states[sym[0]][1]
            shape = n.srcs[0].shape
            before = int(np.prod(shape[:p], dtype=np.int64))
            after = int(np.prod(shape[p + 1:], dtype=np.int64))
            dims = None
            for j in range(len(out_shape)):
                if int(np.prod(out_shape[:j], dtype=np.int64)) != before:
                    continue
                rest = int(np.prod(out_shape[j + 1:], dtype=np.int64))
                if rest and (k * after) % rest == 0 and (k * after // rest) * self.n0 == out_shape[j]:
                    dims = tuple(uf.new(d, ("s", k * after // rest)) if i == j else uf.fixed(d)
                                 for i, d in enumerate(out_shape))
                    break
            if dims is None:
                raise NotPolymorphic(f"reshape {shape} -> {out_shape} does not keep N in one dim")
        self.args[id(n)] = lambda N, dims=dims: _shape(uf, dims, N)
        return dims


    def _lifted(self) -> dict:
        """Constants whose value is a formula of the element count of some reduction over the batch."""
        counts = set()
        for n in self.order:
            if n.op in GROUPS.reduce and id(n) not in self.inputs:
                src = self.dims[id(n.srcs[0])]
                k, scales = 1, False
                for ax in n.arg:
                    b = self.uf.freeze(src[ax])
                    if b[0] == "s":
                        k, scales = k * b[1], True
                    else:
                        k *= self.uf.value[self.uf.find(src[ax])]
                if scales:
                    counts.add(k)
        lifted = {}
        for n in self.order:
            if n.op != "const" or id(n) in self.inputs or not isinstance(n.arg[0], float):
                continue
            if any(self.uf.freeze(v)[0] == "s" for v in self.dims[id(n)]):
                continue  # a value of a scaling shape: stays in the key as it is (a miss at another size)
            for k in sorted(counts):
                c = k * self.n0
                hit = [name for name, f in FORMULAS.items() if c > 1 and f(c) == n.arg[0]]
                if hit:
                    lifted[id(n)] = (hit[0], k)
                    break
        return lifted


# ---------------------------------------------------------------- the graph at another size

def instantiate(sg: SymGraph, n: int, targets):
    """The graph at batch `n`, with fresh input leaves, Sym extents and lifted constants as inputs: (order,
    inputs, targets, lifted) where `lifted` lists (input position, formula, k, Info of the constant)."""
    memo, order, inputs, lifted = {}, [], [], []
    uf = sg.uf
    for node in sg.order:
        dims = sg.dims[id(node)]
        shape = tuple(uf.concrete(v, n) for v in dims)
        if node._value is not None or id(node) in sg.lifted:
            new = ir.make("buffer", (), shape, node.dtype, Buffer(np.empty(0, node.dtype)), unique=True)
            if id(node) in sg.lifted:
                name, k = sg.lifted[id(node)]
                lifted.append((len(inputs), name, k, ir.Info(node)))
            inputs.append(new)
        else:
            arg = sg.args[id(node)](n) if id(node) in sg.args else node.arg
            new = ir.make(node.op, tuple(memo[id(s)] for s in node.srcs), shape, node.dtype, arg,
                          unique=node.op == "const" or OPS[node.op].unique)
        memo[id(node)] = new
        order.append(new)
    return order, inputs, [memo[id(t)] for t in targets], lifted


def lifted_value(info, name: str, k: int, n: int) -> np.ndarray:
    """The value a lifted constant has at batch n: exactly the array its const node would hold."""
    _, shape, dtype = info.arg  # a lifted constant has a fixed shape
    const = tuple.__new__(ir.Info, ("const", shape, info.dtype, (FORMULAS[name](k * n), shape, dtype)))
    return np.ascontiguousarray(OPS["const"].numpy(const))
