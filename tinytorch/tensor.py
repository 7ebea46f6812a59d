"""The lazy Tensor: a handle on one graph node, with its math, its gradient and its way out to NumPy.

Every operation builds a node (`compiler.build`) and returns a new Tensor; nothing is computed until
`.realize()`, `.numpy()`, `.item()` or `repr` asks for a value. The class is put together from parts that
each live with what they need:

    TensorBase        tensor_base.py   the node, shape and dtype, requires_grad and the gradient-leaf registry
    ElementwiseMixin  elementwise.py   + - * / ** comparisons, exp, log, activations, clamp, where
    ReduceMixin       reduce.py        sum, mean, max, min, argmax, var, softmax, ...
    MovementMixin     movement.py      reshape, permute, expand, indexing x[...], matmul @
    ViewsMixin        views.py         the view methods again, recorded so that writes reach the base
    Tensor            here             realize/numpy/item, backward/detach/assign, dtype conversion
"""
from __future__ import annotations

import numpy as np

from . import compiler as C
from . import dtypes
from .autograd import backward
from .elementwise import ElementwiseMixin, as_tensor
from .lazy import realize
from .devices import CPU, check_device, is_device
from .indexing_ops import IndexingMixin
from .inplace import InplaceMixin
from .math_ops import MathMixin
from .movement import MovementMixin
from .reduce import ReduceMixin
from .scan import ScanMixin
from .shape_ops import ShapeMixin
from .sorting import SortingMixin
from .live_tensors import GRAD_LEAVES, PENDING_ASSIGNS
from .amp.skip import guarded
from .tensor_base import OVERWRITTEN, TensorBase, op_result, set_tensor_class, wrap
from .views import ViewsMixin


class Tensor(ViewsMixin, MathMixin, IndexingMixin, ScanMixin, SortingMixin, ShapeMixin, InplaceMixin, ElementwiseMixin,
             ReduceMixin, MovementMixin, TensorBase):
    """A lazy n-dimensional array: a handle on one graph node (the module docstring says where each method is)."""
    __slots__ = ()

    # ------------------------------------------------------------ out to NumPy

    def realize(self) -> "Tensor":
        """Compute this tensor now (with the live tensors that read state it overwrites); returns it."""
        realize(self)
        return self

    def numpy(self) -> np.ndarray:
        self.realize()
        return C.array_of(self._node)

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

    # ------------------------------------------------------------ autograd entry points

    def backward(self, gradient=None, retain_graph=None) -> None:
        """Accumulate the gradient of this tensor into `.grad` of every leaf that requires grad."""
        backward(self, gradient)

    def detach(self) -> "Tensor":
        if C.is_computed(self._node):
            return wrap(C.leaf(C.buffer_of(self._node)))
        return wrap(C.build("detach", self._node))

    def assign(self, value) -> "Tensor":
        """Overwrite this tensor's data in place (lazily): the optimizer's update is built from this."""
        value = as_tensor(value, self.dtype).expand(*self.shape) if not isinstance(value, Tensor) else value
        if value.dtype != self.dtype:
            value = value.to(self.dtype)
        if value.shape != self.shape:
            value = value.expand(*self.shape)
        if not C.is_computed(self._node):
            self.realize()
        target = self._node if self._node.op == "buffer" else C.leaf(C.buffer_of(self._node))
        if target is self._node:  # graphs built on this leaf must not be differentiated after the write
            OVERWRITTEN[target] = target in GRAD_LEAVES
        self._set_node(C.build("assign", target, guarded(target, value._node)))  # GradScaler may skip it
        PENDING_ASSIGNS.add(self)
        return self

    # ------------------------------------------------------------ dtype conversion

    def to(self, dtype=None, *args, **kwargs) -> "Tensor":
        """to(dtype), to(device), to(device, dtype), to(other tensor), with dtype=/device= keywords: the
        device must be the CPU (any other raises, naming it)."""
        if dtype is self._node.dtype and not kwargs:
            return self
        if isinstance(dtype, TensorBase):
            dtype = dtype.dtype
        if is_device(dtype):
            check_device(dtype)
            dtype = args[0] if args and not isinstance(args[0], bool) else None
        check_device(kwargs.get("device"))
        dtype = kwargs.get("dtype", dtype)
        if dtype is None:
            return self
        dtype = dtypes.as_dtype(dtype)
        if dtype == self.dtype:
            return self
        return op_result("cast", (self,), arg=dtype)

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

    def cuda(self, device=None, non_blocking: bool = False):
        check_device("cuda" if device is None else device)

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def clone(self) -> "Tensor":
        return self + 0 if self.dtype.kind != "b" else self.to(dtypes.int64).to(dtypes.bool)

    def contiguous(self) -> "Tensor":
        return self


set_tensor_class(Tensor)
