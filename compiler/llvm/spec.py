"""The input of the native code generator: what one fused kernel computes, as plain frozen data.

A kernel reads NumPy buffers through `View`s (shape, strides and offset counted in ELEMENTS from the
buffer's first element: an expand is a stride 0, a permute permutes strides, a slice is an offset plus
scaled strides, a reshape of contiguous data is new contiguous strides) and evaluates a small SSA body of
`ScalarOp`s per point of its iteration space. The output is always written contiguous (C order).

- `ElementwiseKernel`: iteration space = output shape; `body[out]` is stored.
- `ReduceKernel`: iteration space = `in_shape`; the body's LAST op is reduced (sum or max) over `axes`
  into an accumulator of that op's dtype; then the `epilogue` runs once per output element (op 'acc' is
  the reduced value, 'load's there read views over the OUTPUT keepdims shape) and its last op is stored
  (an empty epilogue stores the reduced value). An input used in both places is passed twice.

ScalarOp names are the op table's elementwise ops plus 'load' (arg = input index), 'const' (arg = a
Python scalar) and, in epilogues, 'acc'. `validate` runs each op's own shape/dtype rule from the op
table, so a body is type-checked exactly like graph nodes are.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from .. import ops
from ..kernel import contiguous_strides

DTYPES = tuple(np.dtype(d) for d in ("float16", "float32", "float64", "int32", "int64", "uint8", "bool"))
ELEMENTWISE_OPS = tuple(n for n, d in ops.OPS.items() if d.kind in ops.ELEMENTWISE)
REDUCE_OPS = ("sum", "max")


@dataclass(frozen=True)
class View:
    shape: tuple
    strides: tuple
    offset: int = 0

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        object.__setattr__(self, "strides", tuple(int(d) for d in self.strides))
        object.__setattr__(self, "offset", int(self.offset))

    @staticmethod
    def contiguous(shape, offset=0) -> "View":
        return View(tuple(shape), contiguous_strides(shape), offset)

    @staticmethod
    def of(array: np.ndarray, base: np.ndarray) -> "View":
        """The View of `array`, a NumPy view into the contiguous buffer `base`."""
        item = base.itemsize
        start = array.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        return View(array.shape, tuple(s // item for s in array.strides), start // item)

    def span(self) -> tuple[int, int]:
        """The lowest and highest element offsets this view touches (an empty view touches none)."""
        if math.prod(self.shape) == 0:
            return self.offset, self.offset - 1
        lo = self.offset + sum(s * (d - 1) for s, d in zip(self.strides, self.shape) if s < 0)
        hi = self.offset + sum(s * (d - 1) for s, d in zip(self.strides, self.shape) if s > 0)
        return lo, hi


@dataclass(frozen=True)
class ScalarOp:
    op: str
    srcs: tuple = ()
    dtype: np.dtype = np.dtype("float32")
    arg: object = None

    def __post_init__(self):
        object.__setattr__(self, "srcs", tuple(self.srcs))
        object.__setattr__(self, "dtype", np.dtype(self.dtype))


@dataclass(frozen=True)
class ElementwiseKernel:
    name: str
    inputs: tuple  # one np.dtype per input buffer
    views: tuple  # one View per input, over `shape`
    shape: tuple
    body: tuple
    out: int
    out_dtype: np.dtype

    def __post_init__(self):
        _normalize(self)


@dataclass(frozen=True)
class ReduceKernel:
    name: str
    inputs: tuple
    views: tuple  # over in_shape for inputs the body loads, over out_shape for epilogue loads
    in_shape: tuple
    axes: tuple
    reduce_op: str
    body: tuple
    epilogue: tuple
    out_dtype: np.dtype

    def __post_init__(self):
        _normalize(self)
        object.__setattr__(self, "axes", tuple(self.axes))
        object.__setattr__(self, "epilogue", tuple(self.epilogue))

    @property
    def shape(self) -> tuple:
        return tuple(1 if i in self.axes else d for i, d in enumerate(self.in_shape))


def _normalize(k) -> None:
    object.__setattr__(k, "inputs", tuple(np.dtype(d) for d in k.inputs))
    object.__setattr__(k, "views", tuple(k.views))
    object.__setattr__(k, "body", tuple(k.body))
    object.__setattr__(k, "out_dtype", np.dtype(k.out_dtype))
    shape_field = "shape" if isinstance(k, ElementwiseKernel) else "in_shape"
    object.__setattr__(k, shape_field, tuple(int(d) for d in getattr(k, shape_field)))


def validate(k) -> None:
    """Raise ValueError/TypeError naming the kernel when the spec is inconsistent."""
    where = f"kernel {k.name!r}"
    if len(k.inputs) != len(k.views):
        raise ValueError(f"{where}: {len(k.inputs)} input dtypes but {len(k.views)} views")
    for dt in tuple(k.inputs) + (k.out_dtype,):
        if np.dtype(dt) not in DTYPES:
            raise TypeError(f"{where}: dtype {dt} is not one of {', '.join(d.name for d in DTYPES)}")
    for i, v in enumerate(k.views):
        if len(v.shape) != len(v.strides):
            raise ValueError(f"{where}: view {i} has shape {v.shape} but strides {v.strides}")
    if isinstance(k, ElementwiseKernel):
        _check_body(where, k, k.body, k.shape, None)
        if not 0 <= k.out < len(k.body) or k.body[k.out].dtype != np.dtype(k.out_dtype):
            raise TypeError(f"{where}: out={k.out} must name a body op of dtype {np.dtype(k.out_dtype)}")
        return
    if k.reduce_op not in REDUCE_OPS:
        raise ValueError(f"{where}: reduce_op must be one of {REDUCE_OPS}, got {k.reduce_op!r}")
    if list(k.axes) != sorted(set(k.axes)) or any(not 0 <= a < len(k.in_shape) for a in k.axes):
        raise ValueError(f"{where}: axes must be sorted distinct dims of {k.in_shape}, got {k.axes}")
    if not k.body:
        raise ValueError(f"{where}: a reduction needs a body")
    _check_body(where, k, k.body, k.in_shape, None)
    _check_body(where, k, k.epilogue, k.shape, k.body[-1].dtype)
    last = (k.epilogue or k.body)[-1].dtype
    if last != np.dtype(k.out_dtype):
        raise TypeError(f"{where}: the stored value is {last}, but out_dtype is {np.dtype(k.out_dtype)}")


def _check_body(where, k, body, shape, acc_dtype) -> None:
    for j, s in enumerate(body):
        at = f"{where}, op {j} ({s.op})"
        if any(not 0 <= i < j for i in s.srcs):
            raise ValueError(f"{at}: srcs {s.srcs} must name earlier ops")
        if s.op == "load":
            if not 0 <= s.arg < len(k.inputs) or np.dtype(k.inputs[s.arg]) != s.dtype:
                raise TypeError(f"{at}: input {s.arg} does not exist or is not {s.dtype}")
            if tuple(k.views[s.arg].shape) != tuple(shape):
                raise ValueError(f"{at}: view {s.arg} has shape {k.views[s.arg].shape}, needs {tuple(shape)}")
        elif s.op == "acc":
            if acc_dtype is None or s.dtype != acc_dtype:
                raise TypeError(f"{at}: 'acc' is only allowed in a reduce epilogue, with the reduced dtype")
        elif s.op == "const":
            if not isinstance(s.arg, (bool, int, float, np.generic)):
                raise TypeError(f"{at}: const needs a Python scalar, got {s.arg!r}")
        elif s.op in ELEMENTWISE_OPS:
            fake = [SimpleNamespace(shape=(), ndim=0, dtype=body[i].dtype) for i in s.srcs]
            _, dtype = ops.OPS[s.op].rule(fake, s.arg)
            if np.dtype(dtype) != s.dtype:
                raise TypeError(f"{at}: the op table gives {dtype}, the spec says {s.dtype}")
        else:
            raise ValueError(f"{at}: unknown scalar op; use one of {', '.join(ELEMENTWISE_OPS)}, load, const")
