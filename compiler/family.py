"""One compile for every batch size: a Family is the Program of a graph family (symbolic.py), built once.

Building it runs the passes, the schedule and kernelize ONCE on the graph instantiated at the first batch size
N0 (its extents are `Sym`s, so the kernels know which extents scale), and once more at N0+1 as a check: the
kernels at N0, with every Sym re-evaluated at N0+1, must equal the kernels compiled at N0+1, field by field
(shapes, views, strides, offsets, chains, embedded constants). A pass whose decision or arithmetic depended
on N0 itself (an extent folded into a plain number, a size-1 special case) shows up there, and the family is
refused: that graph compiles per size as before.

Serving a size N binds the kernels at N (`substitute`), plans the arena at N (the plan is verified) and
lowers: the NumPy lowering writes each kernel's NumPy calls for the new extents; the native lowering emits
the module again, and since the generated loops read the scaling extents at run time the module is the same
text at every size, so its object code comes from the in-memory cache (a size whose module differs is
compiled, and counted as a compile). The Programs of the sizes seen are kept, a few per family.
"""
from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict

import numpy as np

from ..runtime import Buffer
from .kernel import Kernel
from .program import compile_back, compile_front
from .symbolic import NotPolymorphic, Sym, instantiate, lifted_value, substitute

MAX_SIZES = 16  # Programs kept per family: an epoch uses two sizes, inference a third


@dataclasses.dataclass(frozen=True)
class Shaped:
    """An input as compile_back sees it: a shape and a dtype."""
    shape: tuple
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n * self.dtype.itemsize


class Family:
    def __init__(self, sg, targets, options):
        t0 = time.perf_counter()
        self.options, self.n0 = options, sg.n
        fronts = []
        for n in (sg.n, sg.n + 1):
            order, inputs, tgts, lifted = instantiate(sg, n, targets)
            fronts.append((compile_front(order, inputs, tgts, options), inputs, lifted))
        (front, inputs, lifted), (front1, inputs1, _) = fronts
        self.front, self.lifted = front, lifted
        self.inputs = tuple(Shaped(n.shape, n.dtype) for n in inputs)
        self.const_shapes = _fit_consts(front["kernels"], front1["kernels"], sg.n)
        n1 = sg.n + 1
        if (_canon(self._kernels_at(n1)) != _canon(front1["kernels"])
                or _canon(substitute(front["out_slots"], n1)) != _canon(front1["out_slots"])
                or _canon(substitute(self.inputs, n1)) != _canon([Shaped(n.shape, n.dtype) for n in inputs1])):
            raise NotPolymorphic("the kernels at N and N+1 are not one family")
        self.front_s = time.perf_counter() - t0
        self.programs: "OrderedDict[int, object]" = OrderedDict()
        self.lifted_at = {}

    def _kernels_at(self, n: int) -> list:
        out = []
        for k, shapes in zip(self.front["kernels"], self.const_shapes):
            k = substitute(k, n)
            if any(s is not None for s in shapes):
                consts = tuple(c if s is None else np.broadcast_to(c.reshape(-1)[0], substitute(s, n))
                               for c, s in zip(k.consts, shapes))
                k = dataclasses.replace(k, consts=consts)
            out.append(k)
        return out

    def program(self, n: int):
        """(the Program for batch n, whether it was made now)."""
        prog = self.programs.get(n)
        if prog is not None:
            self.programs.move_to_end(n)
            return prog, False
        t0 = time.perf_counter()
        prog = compile_back(self.front, self._kernels_at(n), substitute(self.inputs, n),
                            substitute(self.front["out_slots"], n), self.options, t0, batch=n)
        prog.memory_plan.verify()
        self.programs[n] = prog
        while len(self.programs) > MAX_SIZES:
            self.programs.popitem(last=False)
        return prog, True

    def lifted_arrays(self, n: int) -> list:
        """(input position, array) of each lifted constant at batch n."""
        arrays = self.lifted_at.get(n)
        if arrays is None:
            arrays = self.lifted_at[n] = [(pos, lifted_value(info, name, k, n))
                                          for pos, name, k, info in self.lifted]
        return arrays

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.programs.values())


def _fit_consts(k0, k1, n0) -> list:
    """Per kernel, per embedded constant: None (one shape at every size) or its shape with Syms, where its
    extents scale (only a uniform constant may: it is re-broadcast at each size)."""
    if len(k0) != len(k1):
        raise NotPolymorphic("a different number of kernels")
    out = []
    for a, b in zip(k0, k1):
        if len(a.consts) != len(b.consts):
            raise NotPolymorphic("a different number of constants")
        shapes = []
        for c0, c1 in zip(a.consts, b.consts):
            if c0.shape == c1.shape:
                shapes.append(None)
                continue
            if c0.ndim != c1.ndim or not (c0.size <= 1 or all(s == 0 for s in c0.strides)):
                raise NotPolymorphic("a constant array of a scaling shape")
            dims = []
            for d0, d1 in zip(c0.shape, c1.shape):
                k = d1 - d0
                if k == 0:
                    dims.append(d0)
                elif k > 0 and d0 == k * n0:
                    dims.append(Sym(k, n0))
                else:
                    raise NotPolymorphic("a constant whose shape is not k*N")
            shapes.append(tuple(dims))
        out.append(shapes)
    return out


_DERIVED = frozenset(("flops", "bytes_read", "bytes_written"))  # Kernel counters for explain, not semantics


def _canon(x):
    """A plain value to compare compiled structures by: Syms as ints, arrays by shape, dtype and bytes."""
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (tuple, list)):
        return tuple(_canon(v) for v in x)
    if isinstance(x, np.ndarray):
        if x.size and all(s == 0 for s in x.strides):
            return ("uniform", x.shape, x.dtype.str, x.reshape(-1)[:1].tobytes())
        return ("array", x.shape, x.dtype.str, np.ascontiguousarray(x).tobytes())
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        skip = _DERIVED if isinstance(x, Kernel) else ()
        return (type(x).__name__,) + tuple(_canon(getattr(x, f.name)) for f in dataclasses.fields(x)
                                           if f.name not in skip)
    if hasattr(x, "func") and hasattr(x, "keywords"):  # functools.partial
        return ("partial", x.func, _canon(x.args), tuple(sorted((k, _canon(v)) for k, v in x.keywords.items())))
    if isinstance(x, dict):
        return tuple(sorted((k, _canon(v)) for k, v in x.items()))
    if isinstance(x, Buffer):  # an input leaf's Info: the slot says which input it is
        return "buffer"
    if isinstance(x, float):
        return ("f", x.hex()) if x == x else ("f", "nan")
    return x
