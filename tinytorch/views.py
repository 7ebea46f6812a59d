"""Views that alias their base, as PyTorch's: `x[0].zero_()`, `x[:, :2] = 1` and `x.view(-1).add_(1)` write x.

A view method (indexing with ints, slices, None and `...`; view/reshape/flatten/unflatten, permute/transpose/t/T/mT,
squeeze/unsqueeze, narrow, movedim, split/chunk/unbind, diagonal) returns a new lazy tensor as before, and
records on it the tensor it is a view of and how to rebuild it from that one: the method and its
arguments (`Alias`, which holds no tensor alive). Nothing else changes until a write. An in-place method or an index assignment on a view then writes
its parent too (the elements the view covers, found by running its recipe on an arange of the parent's shape),
and so on up the chain of views, and every live view of a written tensor is rebuilt from its new value, so all
handles agree. The write is an ordinary graph node (a `where` over the root's elements): differentiable when the
root is a lazy intermediate, an assign when it is realized state.

What does not alias: advanced indexing (integer lists or tensors, bool masks) and `expand` make copies, as in
PyTorch; `Tensor.assign` (the optimizers' update) and writes through `detach()` of a realized tensor share the
Buffer instead. Unlike PyTorch's, a view does not keep its base alive: a write to a view of a freed tensor
reaches the nearest live one it was taken from (and that one's views).
"""
from __future__ import annotations

import weakref

import numpy as np

from .elementwise import as_tensor, where
from .lazy import eager
from .movement import (chunk, flatten, getitem, movedim, narrow, permute, reshape, split, squeeze, t, transpose,
                       unflatten, unsqueeze)
from .shape_ops import diagonal, unbind
from .tensor_base import GradMode, TensorBase, from_data


class Alias:
    """A tensor's place among views, holding no tensor alive: the tensor itself and the one it is a view of
    (both weakly), the recipe that rebuilds it from that parent, the parent's Alias (so a write still finds the
    nearest live ancestor when temporaries in between, as in `x[1].view(-1)[3:7]`, are gone) and the Aliases of
    its own views (weakly)."""
    __slots__ = ("tensor", "parent", "up", "recipe", "children", "limit", "__weakref__")

    def __init__(self, tensor, parent=None, up=None, recipe=None):
        self.tensor, self.up, self.recipe, self.children, self.limit = weakref.ref(tensor), up, recipe, [], 8
        self.parent = weakref.ref(parent) if parent is not None else None

    def adopt(self, child: "Alias") -> None:
        self.children.append(weakref.ref(child))
        if len(self.children) > self.limit:  # drop the dead; the limit doubles with the live, so appends stay O(1)
            self.children[:] = [r for r in self.children if r() is not None]
            self.limit = 2 * len(self.children) + 8

    def nearest_live_ancestor(self):
        """(the closest live tensor this one is a view of, the recipe from it to this one), or None."""
        a, recipe = self, self.recipe
        while a.parent is not None:
            parent = a.parent()
            if parent is not None:
                return parent, recipe
            up = a.up
            recipe = (lambda before, after: lambda b: after(before(b)))(up.recipe, recipe) if up.recipe else None
            a = up
        return None


def record(parent: TensorBase, out: TensorBase, rebuild) -> None:
    """`out` is a view of `parent` with `out == rebuild(parent)`."""
    if out is parent:
        return
    up = getattr(parent, "_alias", None)
    if up is None:
        up = parent._alias = Alias(parent)
    out._alias = Alias(out, parent, up, rebuild)
    up.adopt(out._alias)


def positions(root: TensorBase, recipe) -> np.ndarray:
    """The flat indices into `root` of the elements a view with `recipe` holds, shaped as the view."""
    enabled, GradMode.enabled = GradMode.enabled, False
    try:
        with eager():
            return recipe(from_data(np.arange(root.numel(), dtype=np.int64).reshape(root.shape))).numpy()
    finally:
        GradMode.enabled = enabled


def scattered(root: TensorBase, where_in_root: np.ndarray, value: TensorBase) -> TensorBase:
    """`root` with the elements at the flat indices `where_in_root` replaced by `value` (same shape as them);
    where an index repeats, the last value wins."""
    flat = where_in_root.reshape(-1)
    covered = np.zeros(root.numel(), dtype=bool)
    covered[flat] = True
    source = np.zeros(root.numel(), dtype=np.int64)
    source[flat] = np.arange(flat.size)
    picked = getitem(reshape(value, -1), source)
    return reshape(where(as_tensor(covered), picked, reshape(root, -1)), root.shape)


def write_through(t: TensorBase, store, op: str) -> None:
    """`t` was just written by `store(tensor, value, op)`: rebuild its views from its new value, then write the
    tensor it is a view of (the nearest live one) and rebuild that one's other views, on up the chain."""
    alias = getattr(t, "_alias", None)
    if alias is None:
        return
    refresh(alias, t, skip=None)
    while True:
        found = alias.nearest_live_ancestor()
        if found is None:
            return
        target, recipe = found
        store(target, scattered(target, positions(target, recipe), t), op)
        refresh(target._alias, target, skip=alias)
        alias, t = target._alias, target


def refresh(alias: Alias, value: TensorBase, skip) -> None:
    """Point every live view under `alias` (but the subtree of `skip`) at its recipe applied to `value`, the
    current value of alias's tensor; views of freed views are reached through their Aliases."""
    for ref in list(alias.children):
        child = ref()
        if child is None or child is skip:
            continue
        new = child.recipe(value)
        view = child.tensor()
        if view is not None:
            view._set_node(new._node)
            view._requires_grad = new._requires_grad
        refresh(child, new if view is None else view, skip)


def index_positions(x: TensorBase, idx) -> np.ndarray:
    """The flat indices into `x` that `x[idx]` reads, shaped as `x[idx]` (masks and lists included)."""
    return positions(x, lambda b: getitem(b, idx))


def _basic(idx) -> bool:
    """An index PyTorch answers with a view: ints, slices, None and `...` only."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    return all(i is None or i is Ellipsis or isinstance(i, slice) or
               (isinstance(i, (int, np.integer)) and not isinstance(i, bool)) for i in parts)


def _viewing(fn):
    """The method form of the view function `fn`: its result is recorded as a view of `self`."""
    def method(self, *args, **kwargs):
        out = fn(self, *args, **kwargs)
        record(self, out, lambda b: fn(b, *args, **kwargs))
        return out
    method.__name__, method.__doc__ = fn.__name__, fn.__doc__
    return method


def _viewing_parts(fn):
    """The method form of `fn` returning a tuple of views (split, chunk, unbind): each recorded."""
    def method(self, *args, **kwargs):
        parts = fn(self, *args, **kwargs)
        for i, out in enumerate(parts):
            record(self, out, lambda b, i=i: fn(b, *args, **kwargs)[i])
        return parts
    method.__name__, method.__doc__ = fn.__name__, fn.__doc__
    return method


class ViewsMixin:
    """Tensor's view methods, recorded so in-place writes reach the base (see the module docstring)."""
    __slots__ = ()

    reshape = view = _viewing(reshape)
    flatten = _viewing(flatten)
    unflatten = _viewing(unflatten)
    permute = _viewing(permute)
    transpose = swapaxes = swapdims = _viewing(transpose)
    t = _viewing(t)
    squeeze = _viewing(squeeze)
    unsqueeze = _viewing(unsqueeze)
    narrow = _viewing(narrow)
    movedim = moveaxis = _viewing(movedim)
    diagonal = _viewing(diagonal)
    split = _viewing_parts(split)
    chunk = _viewing_parts(chunk)
    unbind = _viewing_parts(unbind)

    def view_as(self, other):
        """This tensor reshaped to `other`'s shape."""
        return self.reshape(other.shape)

    reshape_as = view_as

    @property
    def T(self):
        """All dims reversed (the transpose of a matrix)."""
        return self.permute(tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        """The last two dims swapped (a batch of matrices transposed)."""
        return self.transpose(-2, -1)

    def __getitem__(self, idx):
        out = getitem(self, idx)
        if _basic(idx):
            record(self, out, lambda b: getitem(b, idx))
        return out
