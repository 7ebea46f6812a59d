"""The lazy Tensor: a handle on one graph node.

Every operation builds a node (`compiler.build`) and returns a new Tensor;
nothing is computed until `.realize()`, `.numpy()`, `.item()` or `repr` asks
for a value. The math lives in `elementwise.py`, `reduce.py` and
`movement.py`, which attach their functions here as methods; this file holds
what every tensor needs: its node, its gradient bookkeeping and the way out to
NumPy.
"""
from __future__ import annotations

import weakref

import numpy as np

from . import compiler as C
from . import dtypes
from .runtime import Buffer


class _GradMode:
    enabled = True


# Leaf tensors that collect gradients, keyed by their node (weakly both ways).
GRAD_LEAVES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class _LazySet:
    """Tensors whose node is not computed yet, held weakly (Tensor.__eq__ builds a graph node, so WeakSet cannot
    hold them); realize() checks them for reads of state it overwrites.

    Adding is one weak reference appended to a list (every lazy op adds its result). Tensors that died or got
    computed are dropped when the set is read, and when the list outgrows twice its last live size."""

    def __init__(self):
        self._refs = []
        self._limit = 1024

    def add(self, t):
        self._refs.append(weakref.ref(t))
        if len(self._refs) > self._limit:
            self._live()

    def discard(self, t):
        pass  # a computed tensor is dropped at the next read

    def _live(self) -> list:
        live = {}
        for r in self._refs:
            t = r()
            if t is not None and t._node._value is None:
                live.setdefault(id(t), (r, t))
        self._refs = [r for r, _ in live.values()]
        self._limit = max(1024, 2 * len(self._refs))
        return [t for _, t in live.values()]

    def __iter__(self):
        return iter(self._live())

    def __len__(self):
        return len(self._live())


LAZY = _LazySet()


class Tensor:
    __slots__ = ("_node", "_requires_grad", "grad", "__weakref__")
    __array_priority__ = 1000  # make `ndarray * Tensor` call Tensor.__rmul__

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        if isinstance(data, Tensor):
            arr = data.numpy()
        else:
            arr = np.asarray(data)
        if dtype is None:
            python_float = arr.dtype.kind == "f" and not isinstance(data, (np.ndarray, np.generic))
            dtype = dtypes.DEFAULT_FLOAT if python_float else _infer(arr)
        arr = np.array(arr, dtype=dtypes.as_dtype(dtype), copy=True)
        self._init(C.leaf(Buffer(arr)), requires_grad)

    def _init(self, node, requires_grad=False):
        self._node = node
        self._requires_grad = False
        self.grad = None
        if requires_grad:
            self.requires_grad = True
        if node._value is None:
            LAZY.add(self)
        return self

    @classmethod
    def _wrap(cls, node, requires_grad=False) -> "Tensor":
        return object.__new__(cls)._init(node, requires_grad)

    # ------------------------------------------------------------ properties

    @property
    def node(self):
        return self._node

    @property
    def shape(self) -> tuple:
        return self._node.shape

    @property
    def dtype(self) -> np.dtype:
        return self._node.dtype

    @property
    def ndim(self) -> int:
        return len(self._node.shape)

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return self._node.size

    def size(self, dim=None):
        if dim is None:
            return self.shape
        return self.shape[_axis(dim, self.ndim, "size")]

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    @property
    def is_realized(self) -> bool:
        return C.is_computed(self._node)

    @property
    def is_leaf(self) -> bool:
        return not self._requires_grad or self._node in GRAD_LEAVES

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool):
        if flag and self.dtype.kind != "f":
            raise TypeError(f"only floating point tensors can require gradients, got {self.dtype.name}")
        if not flag and self._requires_grad and self._node not in GRAD_LEAVES:
            raise RuntimeError("requires_grad can only be switched off on leaf tensors; use .detach()")
        self._requires_grad = bool(flag)
        if flag:
            GRAD_LEAVES[self._node] = weakref.ref(self)
        else:
            GRAD_LEAVES.pop(self._node, None)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        self.requires_grad = flag
        return self

    def _set_node(self, node) -> None:
        """Point at a new node (a realized value, or the next version of a buffer after `assign`)."""
        if self._requires_grad:  # only a tensor that requires grad can be a gradient leaf
            ref = GRAD_LEAVES.get(self._node)
            if ref is not None and ref() is self:
                del GRAD_LEAVES[self._node]
                GRAD_LEAVES[node] = weakref.ref(self)
        self._node = node
        if node._value is None:
            LAZY.add(self)

    # ------------------------------------------------------------ out to NumPy

    def realize(self) -> "Tensor":
        from .lazy import realize
        realize(self)
        return self

    def numpy(self) -> np.ndarray:
        self.realize()
        return C.value(self._node)

    def item(self):
        if self.numel() != 1:
            raise ValueError(f"item(): only a tensor with one element converts to a Python scalar, got {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a.astype(dtype) if dtype is not None else a

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4)
        extra = "" if self.dtype == dtypes.float32 or self.dtype == dtypes.int64 else f", dtype={self.dtype.name}"
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}{extra}{grad})"

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.numel()} elements is ambiguous")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu":
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    __hash__ = object.__hash__

    # ------------------------------------------------------------ autograd entry points

    def backward(self, gradient=None, retain_graph=None) -> None:
        from .autograd import backward
        backward(self, gradient)

    def detach(self) -> "Tensor":
        if C.is_computed(self._node):
            return Tensor._wrap(C.leaf(_buffer_of(self._node)))
        return Tensor._wrap(C.build("detach", self._node))

    def assign(self, value) -> "Tensor":
        """Overwrite this tensor's data in place (lazily): the optimizer's update is built from this."""
        from .elementwise import as_tensor
        value = as_tensor(value, self.dtype).expand(*self.shape) if not isinstance(value, Tensor) else value
        if value.dtype != self.dtype:
            value = value.to(self.dtype)
        if value.shape != self.shape:
            value = value.expand(*self.shape)
        if not C.is_computed(self._node):
            self.realize()
        target = self._node if self._node.op == "buffer" else C.leaf(_buffer_of(self._node))
        self._set_node(C.build("assign", target, value._node))
        return self

    # ------------------------------------------------------------ dtype conversion

    def to(self, dtype=None, *args, **kwargs) -> "Tensor":
        if dtype is self._node.dtype and not kwargs:
            return self
        dtype = kwargs.get("dtype", dtype)
        if dtype is None or isinstance(dtype, str) and dtype in ("cpu",):
            return self
        dtype = dtypes.as_dtype(dtype)
        if dtype == self.dtype:
            return self
        return _make("cast", (self,), arg=dtype)

    def type(self, dtype) -> "Tensor":
        return self.to(dtype)

    def float(self): return self.to(dtypes.float32)
    def double(self): return self.to(dtypes.float64)
    def half(self): return self.to(dtypes.float16)
    def long(self): return self.to(dtypes.int64)
    def int(self): return self.to(dtypes.int32)
    def bool(self): return self.to(dtypes.bool)
    def is_floating_point(self): return self.dtype.kind == "f"
    def cpu(self): return self

    @property
    def device(self) -> str:
        return "cpu"

    def clone(self) -> "Tensor":
        return self + 0 if self.dtype.kind != "b" else self.to(dtypes.int64).to(dtypes.bool)

    def contiguous(self) -> "Tensor":
        return self


def _infer(arr: np.ndarray) -> np.dtype:
    """Keep a NumPy array's dtype where TinyTorch has it; Python ints -> int64, floats -> float32."""
    kind = arr.dtype.kind
    if kind == "b":
        return dtypes.bool
    if kind in "iu":
        return arr.dtype if arr.dtype in dtypes.SUPPORTED else dtypes.int64
    if kind == "f":
        return arr.dtype if arr.dtype in dtypes.SUPPORTED else dtypes.float32
    raise TypeError(f"cannot make a tensor from an array of {arr.dtype}")


def _buffer_of(node) -> Buffer:
    return node.arg if node.op == "buffer" else C.REALIZED[node]


class DimError(IndexError, ValueError):
    """A dim out of range: an IndexError as in PyTorch, and a ValueError like every other shape error here."""


def _axis(dim, ndim, op) -> int:
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise DimError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dims "
                       f"(expected a dim in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])")
    return dim % max(ndim, 1)


def _make(op: str, srcs: tuple, arg=None) -> Tensor:
    """Build one node from tensors and wrap it; gradients flow when any source asks for them."""
    return _result(C.build(op, *[s._node for s in srcs], arg=arg), srcs)


def _result(node, srcs) -> Tensor:
    """Wrap a node just built from `srcs` (the tensor operands; constants need not be listed)."""
    needs = False
    for s in srcs:
        if s._requires_grad:
            needs = True
            break
    if needs and not _GradMode.enabled:
        node = C.build("detach", node)  # built under no_grad: the engine must not walk into it
        needs = False
    if not needs and C.ops.Hooks.eager is not None:
        node = C.leaf(C.REALIZED[node])  # eager and no graph to keep: drop the graph now, as PyTorch does
    t = object.__new__(Tensor)
    t._node = node
    t._requires_grad = needs
    t.grad = None
    if node._value is None:
        LAZY.add(t)
    return t
