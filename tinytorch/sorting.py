"""sort, argsort, topk, msort: PyTorch's ordering ops, all on the one `argsort` primitive (compiler/ops/sort.py).

The dim is moved last (a free permute), `argsort` gives the int64 positions of a stable sort of each row (the
first k of them for topk), and the values are `gather`ed from x at those positions, so the gradient is
gather's: each value's gradient goes back to the position it came from. NaN sorts above +inf, as in PyTorch.
Our sort is always stable, so `stable=False` gives the stable order too (PyTorch allows any order of ties
then). topk is exactly the first k of a stable descending (or, `largest=False`, ascending) sort, also on
a long row where the op partitions first (PyTorch leaves the choice among ties at the k-th place open).
"""
from __future__ import annotations

from collections import namedtuple

from . import compiler as C
from . import dtypes
from .dims import normalize_dim
from .tensor_base import TensorBase, wrap, wrap_result

SortResult = namedtuple("sort", ["values", "indices"])  # torch.return_types.sort
TopKResult = namedtuple("topk", ["values", "indices"])  # torch.return_types.topk


def _positions(x: TensorBase, d: int, descending: bool, k: int) -> TensorBase:
    """The int64 positions along dim d of the first k elements of a stable sort of x; no gradient."""
    rows = x.movedim(d, -1) if d != x.ndim - 1 else x
    idx = wrap_result(C.build("argsort", rows._node, arg=(bool(descending), k)), ())
    return idx.movedim(-1, d) if d != x.ndim - 1 else idx


def _zero() -> TensorBase:
    """The index of a 0-d tensor's one element."""
    return wrap(C.const(0, (), dtypes.int64))


def argsort(x: TensorBase, dim: int = -1, descending: bool = False, *, stable: bool = False) -> TensorBase:
    """Positions that sort x along dim (int64), ties in their original order."""
    d = normalize_dim(dim, x.shape, "argsort")
    return _zero() if x.ndim == 0 else _positions(x, d, descending, x.shape[d])


def sort(x: TensorBase, dim: int = -1, descending: bool = False, *, stable: bool = False) -> SortResult:
    """(values, indices): x sorted along dim, and where each value came from."""
    d = normalize_dim(dim, x.shape, "sort")
    if x.ndim == 0:
        return SortResult(x, _zero())
    idx = _positions(x, d, descending, x.shape[d])
    return SortResult(x.gather(d, idx), idx)


def msort(x: TensorBase) -> TensorBase:
    """x sorted along its first dim."""
    return sort(x, 0).values


def topk(x: TensorBase, k: int, dim=None, largest: bool = True, sorted: bool = True) -> TopKResult:  # noqa: A002
    """(values, indices) of the k largest (smallest with `largest=False`) elements along dim (the last when
    None), best first (also with `sorted=False`, which PyTorch lets return any order)."""
    d = normalize_dim(-1 if dim is None else dim, x.shape, "topk")
    n = x.shape[d] if x.ndim else 1
    if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k <= n:
        raise ValueError(f"topk: k={k!r} is out of range for dim {d} of size {n} of a tensor of shape "
                         f"{tuple(x.shape)}; pick k in [0, {n}]")
    if x.dtype.kind == "b":
        raise TypeError(f"topk: does not take bool tensors (as PyTorch), got bool{list(x.shape)}; "
                        f"convert with .to(tt.uint8) first")
    if x.ndim == 0:
        return TopKResult(x, _zero())
    idx = _positions(x, d, largest, k)
    return TopKResult(x.gather(d, idx), idx)


class SortingMixin:
    """Tensor methods for the functions above (`x.topk(3)` is `topk(x, 3)`)."""
    __slots__ = ()

    sort = sort
    argsort = argsort
    msort = msort
    topk = topk
