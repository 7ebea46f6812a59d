"""In-place tensor methods (`zero_`, `fill_`, `copy_`, `add_`, `mul_`, `clamp_`, `masked_fill_`, ...), as
writes in the lazy graph.

A realized tensor that records no gradient (a parameter under `no_grad`, a buffer, state) is written with
`Tensor.assign`, realized at once (one small Program per call, with the live tensors that read the old
values): its Buffer is updated, so every handle on it sees the new values, and a graph built on the old
values can no longer be differentiated (the OVERWRITTEN version check of tensor_base.py, PyTorch's
"modified by an inplace operation" error). Anything else (a lazy intermediate, or a write that carries a
gradient) is rebound: the tensor moves to the new node, so the graph stays differentiable and earlier
readers keep the value they read. A write to a view reaches its base and the base's other views
(`views.py`), and `x[idx] = value` is a write of x's elements that `x[idx]` reads.
"""
from __future__ import annotations

from . import compiler as C
from .elementwise import as_tensor, clamp
from .tensor_base import GradMode, TensorBase
from .views import index_positions, scattered, write_through


def _write(t: TensorBase, value, op: str) -> TensorBase:
    """Write `value` into `t` (see the module docstring), then into the base and sibling views of a view."""
    _store(t, value, op)
    write_through(t, _store, op)
    return t


def _store(t: TensorBase, value, op: str) -> TensorBase:
    value = as_tensor(value)
    if value.shape != t.shape:
        try:
            value = value.expand(*t.shape)
        except ValueError:
            raise ValueError(f"{op}: the value of shape {value.shape} does not broadcast to the tensor's shape "
                             f"{t.shape} (an in-place op keeps the shape)") from None
    if value.dtype != t.dtype:
        if t.dtype.kind != "f" and value.dtype.kind == "f" and op not in ("copy_", "fill_"):
            raise TypeError(f"{op}: the result is {value.dtype.name} and cannot be written into the "
                            f"{t.dtype.name} tensor in place, as in PyTorch; use the out-of-place op")
        value = value.to(t.dtype)
    grad_leaf = t.requires_grad and t.is_leaf
    if grad_leaf and GradMode.enabled:
        raise RuntimeError(f"{op}: a leaf tensor that requires grad cannot be changed in place while gradients "
                           f"are recorded, as in PyTorch; do it inside `with tinytorch.no_grad():`")
    if C.is_computed(t._node) and not (GradMode.enabled and value.requires_grad):
        return t.assign(value).realize()  # now: every handle on the Buffer reads the new values at once
    t._set_node(value._node)
    if value.requires_grad and GradMode.enabled:
        t._requires_grad = True
    return t


class InplaceMixin:
    """The in-place methods: each returns the tensor itself, as PyTorch's."""
    __slots__ = ()

    def __setitem__(self, idx, value):
        """x[idx] = value: the elements `x[idx]` reads get `value` (broadcast to them, cast to x's dtype), for
        every index `x[idx]` takes (ints, slices, None, ..., integer lists and tensors, bool masks); where
        an advanced index repeats a position, the last value wins."""
        where_in_x = index_positions(self, idx)
        value = as_tensor(value)
        try:
            value = value.to(self.dtype).expand(*where_in_x.shape)
        except ValueError:
            raise ValueError(f"index assignment: the value of shape {tuple(value.shape)} does not broadcast to "
                             f"the indexed shape {where_in_x.shape} of the tensor {self.shape}") from None
        _write(self, scattered(self, where_in_x, value), "index assignment (x[...] = value)")

    def zero_(self):
        return _write(self, as_tensor(0, self.dtype), "zero_")

    def fill_(self, value):
        return _write(self, value if isinstance(value, TensorBase) else as_tensor(value, self.dtype), "fill_")

    def copy_(self, src, non_blocking: bool = False):
        return _write(self, src, "copy_")

    def add_(self, other, alpha=1):
        return _write(self, self.add(other, alpha=alpha), "add_")

    def sub_(self, other, alpha=1):
        return _write(self, self.sub(other, alpha=alpha), "sub_")

    def mul_(self, other):
        return _write(self, self * other, "mul_")

    def div_(self, other, rounding_mode=None):
        return _write(self, self.div(other, rounding_mode=rounding_mode), "div_")

    def clamp_(self, min=None, max=None):  # noqa: A002
        return _write(self, clamp(self, min, max), "clamp_")

    clip_ = clamp_

    def masked_fill_(self, mask, value):
        return _write(self, self.masked_fill(mask, value), "masked_fill_")

    def index_add_(self, dim, index, source, alpha=1):
        return _write(self, self.index_add(dim, index, source, alpha=alpha), "index_add_")

    def scatter_(self, dim, index, src=None, value=None, reduce=None):
        return _write(self, self.scatter(dim, index, src, value, reduce), "scatter_")

    def scatter_add_(self, dim, index, src):
        return _write(self, self.scatter_add(dim, index, src), "scatter_add_")
