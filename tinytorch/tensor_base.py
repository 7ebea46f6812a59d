"""TensorBase: what every tensor is (a handle on one graph node, with its gradient bookkeeping), and the way
ops turn the node they build into a new tensor.

The class users meet is `tensor.Tensor`, which adds the math (the mixins of `elementwise.py`, `reduce.py` and
`movement.py`) and the way out to NumPy. That math makes tensors, but it cannot import `Tensor`, which is
built from it; so it makes them through `wrap`, `op_result` and `from_data` here, which build instances of
the class that `tensor.py` hands to `set_tensor_class` as it is defined.
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

from . import compiler as C
from . import dtypes
from .dims import normalize_dim
from .live_tensors import GRAD_LEAVES, LAZY
from .runtime import Buffer


# Buffer leaves whose data `Tensor.assign` overwrote (or will, once realized) after graphs were built on them,
# weakly keyed by the old leaf node -> whether that node was a leaf collecting gradients. A graph built before
# the assign still reads the leaf, but its Buffer now holds the new values: backward must not use it
# (PyTorch's version counter check). The tensor itself moves on to a fresh leaf, which is not in here.
OVERWRITTEN: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class _GradMode(threading.local):
    """Whether ops built now record a gradient path (`autograd.no_grad` switches it off). Per thread, as in
    PyTorch: one thread's `no_grad` block never changes what another thread records."""
    enabled = True


GradMode = _GradMode()


class TensorBase:
    __slots__ = ("_node", "_requires_grad", "grad", "_alias", "__weakref__")  # _alias: views.py
    __array_priority__ = 1000  # make `ndarray * Tensor` call Tensor.__rmul__

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        """A tensor holding a copy of `data` (array-like, or a tensor's values): a realized buffer leaf.
        Python floats become float32 and Python ints int64, as in PyTorch; arrays keep a dtype TinyTorch has."""
        if isinstance(data, TensorBase):
            arr = data.numpy()
        else:
            arr = np.asarray(data)
        python_data = not isinstance(data, (np.ndarray, np.generic, TensorBase))
        if python_data or dtype is None:
            _check_int_range(arr, dtype, python_data)
        if dtype is None:
            python_float = arr.dtype.kind == "f" and python_data
            dtype = dtypes.DEFAULT_FLOAT if python_float else _infer(arr)
        arr = np.array(arr, dtype=dtypes.as_dtype(dtype), copy=True)
        self._init(C.leaf(Buffer(arr)), requires_grad)

    def _init(self, node, requires_grad=False):
        self._node = node
        self._requires_grad = False
        self.grad = None
        if requires_grad:
            self.requires_grad = True
        if not C.is_computed(node):
            LAZY.add(self)
        return self

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
        return self.shape[normalize_dim(dim, self.shape, "size")]

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    @property
    def is_realized(self) -> bool:
        return C.is_computed(self._node)

    # ------------------------------------------------------------ gradient bookkeeping

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

    def requires_grad_(self, flag: bool = True):
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
        if not C.is_computed(node):
            LAZY.add(self)


def _check_int_range(arr: np.ndarray, dtype, python_data: bool) -> None:
    """Refuse integers the tensor's integer dtype cannot hold (OverflowError, as PyTorch), instead of wrapping:
    NumPy reads [2**63] as uint64, which the cast to int64 would silently turn into -2**63, and ints past
    2**64 become an object array. Only Python data and inferred dtypes are checked: an explicit cast of a
    NumPy array keeps NumPy's semantics."""
    if dtype is not None:
        target = dtypes.as_dtype(dtype)
    else:  # Python ints are int64 (NumPy reads 2**63 as uint64); an integer array keeps its dtype
        target = _infer(arr) if arr.dtype.kind in "iu" and not python_data else dtypes.int64
    if arr.size == 0 or target.kind not in "iu" or arr.dtype.kind not in "iuO":
        return
    if arr.dtype.kind == "O":
        ints = [v for v in arr.flat if isinstance(v, (int, np.integer)) and not isinstance(v, bool)]
        if len(ints) != arr.size:
            return  # not all ints: the dtype check below reports it
        lo, hi = min(ints), max(ints)
    else:
        lo, hi = int(arr.min()), int(arr.max())
    info = np.iinfo(target)
    if lo < info.min or hi > info.max:
        bad = lo if lo < info.min else hi
        raise OverflowError(f"tensor: the integer {bad} does not fit {target.name} (range [{info.min}, {info.max}])"
                            f"; pass dtype=float64 or keep the values in range")


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


# ---------------------------------------------------------------- making tensors of tensor.Tensor

_TENSOR = None  # tensor.Tensor, once tensor.py has defined it


def set_tensor_class(cls) -> None:
    """Called by tensor.py with `Tensor`: the class that every tensor made below is an instance of."""
    global _TENSOR
    _TENSOR = cls


def wrap(node, requires_grad: bool = False):
    """A new tensor on `node`."""
    return object.__new__(_TENSOR)._init(node, requires_grad)


def from_data(data, dtype=None):
    """A new tensor holding a copy of `data` (see `TensorBase.__init__`)."""
    return _TENSOR(data, dtype=dtype)


def op_result(op: str, srcs: tuple, arg=None):
    """Build one `op` node from the tensors `srcs` and wrap it; gradients flow when any source asks for them."""
    return wrap_result(_build(op, *[s._node for s in srcs], arg=arg), srcs)


# Bound once: every op of every step goes through wrap_result.
_build, _is_computed, _hooks, _lazy_add = C.build, C.is_computed, C.ops.Hooks, LAZY.add


def wrap_result(node, srcs):
    """Wrap a node just built from `srcs` (the tensor operands; constants need not be listed)."""
    needs = False
    for s in srcs:
        if s._requires_grad:
            needs = True
            break
    if needs and not GradMode.enabled:
        node = _build("detach", node)  # built under no_grad: the engine must not walk into it
        needs = False
    if not needs and _hooks.eager is not None:
        node = C.leaf(C.buffer_of(node))  # eager and no graph to keep: drop the graph now, as PyTorch does
    t = object.__new__(_TENSOR)
    t._node = node
    t._requires_grad = needs
    t.grad = None
    if not _is_computed(node):
        _lazy_add(t)
    return t
