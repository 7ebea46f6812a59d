"""Issue 13's tensor-op surface against PyTorch: values, shapes, dtypes and float64 gradients.

`CASES` is the table: each row is one function written against a library `L` (run with `L = tinytorch` and
`L = torch`, whose APIs share the names) and input sets, NumPy arrays given to both as tensors. Rows marked
`grad=True` are also differentiated: float inputs become float64 leaves, the output is dotted with a fixed
random cotangent and every input's gradient is compared with torch.autograd's. Edge inputs (NaN, +-inf,
-0.0, ties, empty dims, every integer dtype) are rows of their own; a -0.0 must come out as -0.0.
The suite runs on both backends, so every row is checked natively too.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
import pytest
import torch

import tinytorch as tt

_rng = np.random.default_rng(13)


def f32(*shape, lo=-2.0, hi=2.0, dtype="float32"):
    return _rng.uniform(lo, hi, shape).astype(dtype)


def f64(*shape, lo=-2.0, hi=2.0):
    return f32(*shape, lo=lo, hi=hi, dtype="float64")


def ints(*shape, lo=-6, hi=7, dtype="int64"):
    return _rng.integers(lo, hi, shape).astype(dtype)


def perm_index(n, *shape):
    """Distinct indices along the last dim (a scatter without collisions)."""
    return np.stack([_rng.permutation(n)[:shape[-1]] for _ in range(math.prod(shape[:-1]))]).reshape(shape)


SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -2.5, 1e-8, -1e-6, 30.0], np.float32)
UNIT = np.array([-1.0, -0.999, -0.5, -0.0, 0.0, 1e-7, 0.3, 0.999, 1.0, 1.5, np.nan], np.float32)

Case = namedtuple("Case", "name fn inputs grad tol")


def case(name, fn, *inputs, grad=False, tol=None):
    return Case(name, fn, list(inputs) or [()], grad, tol)


def _mask(shape, p=0.5):
    return _rng.random(shape) < p


IDX = perm_index(5, 3, 2)
CASES = [
    # ------------------------------------------------------------ wrong today
    case("round half even", lambda L, x: L.round(x), (np.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999, -0.0], np.float32),)),
    case("round decimals", lambda L, x: L.round(x, decimals=2), (np.array([1.2345, -2.5551, 0.125, 1e3], np.float32),)),
    case("round decimals<0", lambda L, x: L.round(x, decimals=-1), (np.array([15.0, 25.0, -35.0, 1234.5]),)),
    case("prod zero grad", lambda L, x: x.prod(), (np.array([1.0, 0.0, 3.0]),), (np.array([2.0, -1.5, 0.5]),),
         (np.array([0.0, 2.0, 0.0]),), grad=True),
    case("prod dim zero grad", lambda L, x: x.prod(1), (np.array([[1.0, 0.0, 3.0], [2.0, -1.0, 4.0]]),), grad=True),
    case("prod int", lambda L, x: x.prod(0), (ints(4, 3, lo=-3, hi=4),)),
    case("all empty dim", lambda L, x: x.bool().all(1), (np.ones((1, 0, 3, 5), np.float32),)),
    case("any empty dim", lambda L, x: x.bool().any(1), (np.ones((1, 0, 3, 5), np.float32),)),
    case("sum empty dim", lambda L, x: x.sum(1), (np.ones((2, 0, 3), np.float32),)),
    case("prod empty dim", lambda L, x: x.prod(1), (np.ones((2, 0, 3), np.float32),)),
    case("mean empty dim", lambda L, x: x.mean(1), (np.ones((2, 0, 3), np.float32),)),
    case("logsumexp empty dim", lambda L, x: L.logsumexp(x, 1), (np.ones((2, 0, 3), np.float32),)),
    case("softmax empty", lambda L, x: x.softmax(1), (np.ones((2, 0, 3), np.float32),)),
    case("amax empty other dim", lambda L, x: x.amax(2), (np.ones((2, 0, 3), np.float32),)),
    case("pow tensor IEEE", lambda L, a, b: L.pow(a, b),
         (np.repeat(SPECIAL, len(SPECIAL)), np.tile(np.array([0.0, -0.0, 0.5, -0.5, 2.0, 3.0, -3.0, 2.5, np.inf,
                                                              -np.inf, np.nan, 1.0], np.float32), len(SPECIAL))),),
    case("pow scalar 0.5", lambda L, x: x ** 0.5, (SPECIAL,)),
    case("pow scalar -0.5", lambda L, x: x ** -0.5, (SPECIAL,)),
    case("pow scalar 3", lambda L, x: x ** 3, (SPECIAL,)),
    case("pow scalar 2.5", lambda L, x: x ** 2.5, (SPECIAL,)),
    case("pow int tensor exps", lambda L, a, b: a ** b, (np.array([2, -1, 1, 3, -2, 0, -1]), np.array([-1, -3, -2, 2, -2, 3, 4]))),
    case("pow int32", lambda L, a, b: a ** b, (ints(6, lo=-3, hi=4, dtype="int32"), ints(6, lo=0, hi=5, dtype="int32"))),
    case("min uint8", lambda L, x: x.min(), (np.array([3, 200, 7], np.uint8),)),
    case("min dim uint8", lambda L, x: x.min(1), (np.array([[3, 200, 7], [9, 1, 255]], np.uint8),)),
    case("argmin uint8", lambda L, x: x.argmin(), (np.array([3, 200, 0, 7], np.uint8),)),
    case("minimum uint8", lambda L, a, b: L.minimum(a, b), (np.array([3, 200, 7], np.uint8), np.array([5, 5, 5], np.uint8))),
    case("and int", lambda L, a, b: a & b, (ints(3, 4, lo=-50, hi=50), ints(3, 4, lo=-50, hi=50))),
    case("or int32", lambda L, a, b: a | b, (ints(5, lo=-50, hi=50, dtype="int32"), ints(5, lo=-50, hi=50, dtype="int32"))),
    case("xor uint8", lambda L, a, b: a ^ b, (ints(5, lo=0, hi=255, dtype="uint8"), ints(5, lo=0, hi=255, dtype="uint8"))),
    case("invert", lambda L, a: ~a, (ints(5, lo=-50, hi=50),), (ints(5, lo=0, hi=255, dtype="uint8"),),
         (np.array([True, False]),)),
    case("lshift", lambda L, a, b: a << b, (ints(6, lo=-9, hi=9), ints(6, lo=0, hi=12))),
    case("rshift", lambda L, a, b: a >> b, (ints(6, lo=-99, hi=99), ints(6, lo=0, hi=9))),
    case("bitwise_and fn", lambda L, a, b: L.bitwise_and(a, b), (ints(4, lo=0, hi=64, dtype="int16"), ints(4, lo=0, hi=64, dtype="int16"))),
    case("index tuple rows", lambda L, x: x[(0, 2), :], (f32(3, 4),), grad=True),
    case("index tuple cols", lambda L, x: x[:, (0, 2)], (f32(3, 4),), grad=True),
    case("index bool mask", lambda L, x, m: x[m], (f32(3, 4), _mask((3, 4))), (f32(3, 4), _mask((3,))), grad=True),
    case("index mask expr", lambda L, x: x[x > 0], (f32(4, 5),), grad=True),
    case("index mask mid", lambda L, x, m: x[:, m], (f32(2, 4, 3), _mask((4,))),),
    case("div trunc int", lambda L, a, b: L.div(a, b, rounding_mode="trunc"), (ints(6), np.array([3, -3, 2, -2, 4, 5]))),
    case("div floor", lambda L, a, b: L.div(a, b, rounding_mode="floor"), (f32(6), f32(6, lo=0.5, hi=2))),
    # ------------------------------------------------------------ classification and float math
    case("isnan", lambda L, x: L.isnan(x), (SPECIAL,), (ints(3),)),
    case("isinf", lambda L, x: L.isinf(x), (SPECIAL,), (ints(3),)),
    case("isfinite", lambda L, x: L.isfinite(x), (SPECIAL,), (ints(3),)),
    case("isposinf", lambda L, x: L.isposinf(x), (SPECIAL,)),
    case("isneginf", lambda L, x: L.isneginf(x), (SPECIAL,)),
    case("nan_to_num", lambda L, x: L.nan_to_num(x), (SPECIAL,), (SPECIAL.astype(np.float64),)),
    case("nan_to_num args", lambda L, x: L.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-3.0), (SPECIAL,)),
    case("isclose", lambda L, a, b: L.isclose(a, b), (SPECIAL, SPECIAL + np.float32(1e-6)), (f32(5), f32(5))),
    case("isclose equal_nan", lambda L, a, b: L.isclose(a, b, equal_nan=True, rtol=0.1), (SPECIAL, SPECIAL[::-1].copy())),
    case("allclose", lambda L, a, b: L.tensor(L.allclose(a, b)), (SPECIAL, SPECIAL), (f32(3), f32(3))),
    case("copysign", lambda L, a, b: L.copysign(a, b), (f32(12), SPECIAL), (SPECIAL, f32(12)), grad=False),
    case("copysign grad", lambda L, a, b: L.copysign(a, b), (f64(6), f64(6)), grad=True),
    case("fmod", lambda L, a, b: L.fmod(a, b), (f32(8, lo=-5, hi=5), f32(8, lo=0.3, hi=2)),
         (f32(8, lo=-5, hi=5), -f32(8, lo=0.3, hi=2)), (ints(8, lo=-9, hi=9), np.array([3, -3, 2, -2, 4, 5, 7, -7]))),
    case("fmod neg zero", lambda L, a, b: L.fmod(a, b), (np.array([-4.0, 4.0, -0.0], np.float32), np.array([2.0, -2.0, 1.0], np.float32))),
    case("remainder", lambda L, a, b: L.remainder(a, b), (f32(8, lo=-5, hi=5), f32(8, lo=0.3, hi=2))),
    case("trunc", lambda L, x: L.trunc(x), (SPECIAL,), (f32(3, 4, lo=-5, hi=5),)),
    case("frac", lambda L, x: L.frac(x), (f32(3, 4, lo=-5, hi=5),), grad=True),
    case("sign", lambda L, x: L.sign(x), (SPECIAL,), (ints(5),), (ints(5, lo=0, hi=200, dtype="uint8"),)),
    case("logaddexp", lambda L, a, b: L.logaddexp(a, b), (f32(3, 4, lo=-30, hi=30), f32(4, lo=-30, hi=30)),
         (SPECIAL, SPECIAL[::-1].copy()), grad=False),
    case("logaddexp grad", lambda L, a, b: L.logaddexp(a, b), (f64(3, 4, lo=-5, hi=5), f64(4, lo=-5, hi=5)), grad=True),
    case("log10", lambda L, x: L.log10(x), (f32(7, lo=0.01, hi=1e3),), grad=True),
    case("log2", lambda L, x: L.log2(x), (f32(7, lo=0.01, hi=1e3),), grad=True),
    case("log1p", lambda L, x: L.log1p(x), (np.array([1e-8, -1e-7, 0.0, -0.0, 1e-3, 5.0, -0.5, -1.0, np.inf], np.float32),),
         (f64(5, lo=-0.9, hi=3),), grad=False),
    case("log1p grad", lambda L, x: L.log1p(x), (f64(5, lo=-0.9, hi=3),), grad=True),
    case("expm1", lambda L, x: L.expm1(x), (np.array([1e-8, -1e-7, 0.0, -0.0, 1e-3, 5.0, -30.0, 100.0, -np.inf, np.inf],
                                                   np.float32),), grad=False),
    case("expm1 grad", lambda L, x: L.expm1(x), (f64(5, lo=-3, hi=3),), grad=True),
    case("exp2", lambda L, x: L.exp2(x), (f32(6, lo=-10, hi=10),), grad=True),
    case("atan", lambda L, x: L.atan(x), (SPECIAL,), (f32(50, lo=-40, hi=40),), (f64(50, lo=-3, hi=3),), grad=False),
    case("atan grad", lambda L, x: L.atan(x), (f64(8, lo=-3, hi=3),), grad=True),
    case("asin", lambda L, x: L.asin(x), (UNIT,), grad=False),
    case("acos", lambda L, x: L.acos(x), (UNIT,), grad=False),
    case("asin acos grad", lambda L, x: L.asin(x) + L.acos(x * 0.5), (f64(6, lo=-0.9, hi=0.9),), grad=True),
    case("atan2", lambda L, y, x: L.atan2(y, x), (np.repeat(SPECIAL, 12), np.tile(SPECIAL, 12)),),
    case("atan2 grad", lambda L, y, x: L.atan2(y, x), (f64(3, 4), f64(4)), grad=True),
    case("sinh", lambda L, x: L.sinh(x), (SPECIAL,), (f32(9, lo=-10, hi=10),), grad=False),
    case("cosh", lambda L, x: L.cosh(x), (SPECIAL,), (f32(9, lo=-10, hi=10),)),
    case("asinh", lambda L, x: L.asinh(x), (SPECIAL,), (np.array([1e20, -3e30, 1e-30], np.float32),)),
    case("acosh", lambda L, x: L.acosh(x), (np.array([1.0, 1.0000001, 2.0, 1e20, 0.5, np.inf, np.nan], np.float32),)),
    case("atanh", lambda L, x: L.atanh(x), (UNIT,)),
    case("hyperbolic grad", lambda L, x: L.sinh(x) + L.cosh(x) + L.asinh(x) + L.acosh(x + 3) + L.atanh(x * 0.3),
         (f64(6, lo=-2, hi=2),), grad=True),
    case("isclose int", lambda L, a, b: L.isclose(a, b), (ints(6), ints(6))),
    case("signbit", lambda L, x: L.signbit(x), (SPECIAL,), (ints(4),)),
    case("logaddexp2", lambda L, a, b: L.logaddexp2(a, b), (f64(5, lo=-9, hi=9), f64(5, lo=-9, hi=9)), grad=True),
    case("copysign int", lambda L, a, b: L.copysign(a, b), (ints(5), f32(5))),
    case("float16 math", lambda L, x: (L.atan(x), L.expm1(x), L.log1p(x.abs()), L.trunc(x), L.isfinite(x)),
         (f32(6, dtype="float16"),)),
    # ------------------------------------------------------------ indexing families
    case("masked_fill tensor value", lambda L, x, v, m: x.masked_fill(m, v), (f64(3, 4), np.array(2.5), _mask((3, 4))),
         grad=True),
    case("nonzero", lambda L, x: L.nonzero(x), (ints(3, 4, lo=-1, hi=2),), (np.zeros((2, 0)),), (np.array(3.0),)),
    case("nonzero tuple", lambda L, x: L.nonzero(x, as_tuple=True), (ints(3, 4, lo=-1, hi=2),)),
    case("argwhere", lambda L, x: L.argwhere(x), (ints(2, 3, lo=0, hi=2),)),
    case("masked_select", lambda L, x, m: L.masked_select(x, m), (f32(3, 4), _mask((3, 4))), (f32(3, 4), _mask((4,))),
         grad=True),
    case("masked_fill", lambda L, x, m: x.masked_fill(m, -1.5), (f32(3, 4), _mask((3, 4))), (f32(3, 4), _mask((4,))),
         grad=True),
    case("masked_fill int", lambda L, x, m: x.masked_fill(m, 7), (ints(3, 4), _mask((3, 4)))),
    case("scatter src", lambda L, x, s: x.scatter(1, L.tensor(IDX), s), (f32(3, 5), f32(3, 2)), grad=True),
    case("scatter value", lambda L, x: x.scatter(1, L.tensor(IDX), 2.5), (f32(3, 5),), grad=True),
    case("scatter small index", lambda L, x, s: x.scatter(0, L.tensor([[1, 0]]), s), (f32(3, 4), f32(2, 3))),
    case("scatter small index grad", lambda L, x, s: x.scatter(0, L.tensor([[1, 0]]), s), (f32(3, 4), f32(1, 2)),
         grad=True),
    case("scatter_add", lambda L, x, s: x.scatter_add(0, L.tensor([[0, 1, 0], [2, 0, 0]]), s), (f32(3, 4), f32(2, 3)),
         grad=True),
] + [
    case(f"scatter_reduce {r} self={s}", lambda L, x, v, r=r, s=s: x.scatter_reduce(
        0, L.tensor([[0, 1, 0], [2, 0, 0], [0, 1, 1]]), v, r, include_self=s), (f64(4, 3), f64(3, 3)), grad=True)
    for r in ("sum", "prod", "mean", "amax", "amin") for s in (True, False)
] + [
    case("scatter_reduce ties", lambda L, x, v: x.scatter_reduce(0, L.tensor([0, 0, 1]), v, "amax"),
         (np.array([1.0, 5.0]), np.array([1.0, 1.0, 2.0])), grad=True),
    case("scatter_reduce zero prod", lambda L, x, v: x.scatter_reduce(0, L.tensor([0, 0, 1, 1]), v, "prod"),
         (np.array([2.0, 3.0]), np.array([0.0, 4.0, 0.0, 0.0])), grad=True),
    case("scatter_reduce small index", lambda L, x, v: (x.scatter_reduce(1, L.tensor([[0, 2, 0]]), v, "sum"),
                                                          x.scatter_reduce(1, L.tensor([[0, 2, 0]]), v, "amax")),
         (f64(3, 4), f64(1, 3)), grad=True),
    case("scatter_reduce int sum", lambda L, x, v: x.scatter_reduce(0, L.tensor([0, 0, 1]), v, "sum", include_self=False),
         (np.array([1, -7]), np.array([2, 4, 4]))),
    case("scatter_reduce int mean", lambda L, x, v: x.scatter_reduce(0, L.tensor([0, 0, 1]), v, "mean"),
         (np.array([1, -7]), np.array([2, 4, 4]))),
    case("scatter_reduce int amin", lambda L, x, v: x.scatter_reduce(0, L.tensor([0, 0, 1]), v, "amin", include_self=False),
         (np.array([1, -7], np.int32), np.array([2, 4, 4], np.int32))),
    case("index_select", lambda L, x: x.index_select(1, L.tensor([2, 0, 2])), (f32(3, 4),), grad=True),
    case("index_add", lambda L, x, s: x.index_add(0, L.tensor([0, 2, 0]), s), (f32(3, 4), f32(3, 4)), grad=True),
    case("index_add alpha", lambda L, x, s: x.index_add(1, L.tensor([1, 1]), s, alpha=2), (f32(2, 3), f32(2, 2)), grad=True),
    case("take_along_dim", lambda L, x: L.take_along_dim(x, L.tensor([[0, 2], [1, 1], [3, 0]]), 1), (f32(3, 4),), grad=True),
    case("take_along_dim bcast", lambda L, x: L.take_along_dim(x, L.tensor([[0], [2]]), 0), (f32(3, 4),), grad=True),
    case("take_along_dim flat", lambda L, x: L.take_along_dim(x, L.tensor([0, 5, 11])), (f32(3, 4),), grad=True),
    # ------------------------------------------------------------ scans
    case("cumprod", lambda L, x: L.cumprod(x, 1), (f64(3, 5),), (np.array([[1.0, 0.0, 3.0, 2.0], [0.0, 2.0, 0.0, 1.0]]),),
         grad=True),
    case("cumprod int", lambda L, x: L.cumprod(x, 0), (ints(5, 2, lo=-3, hi=4),), (ints(4, lo=0, hi=4, dtype="uint8"),)),
    case("cummax", lambda L, x: L.cummax(x, 1), (f64(3, 6),), (np.array([[1.0, 3.0, 3.0, 2.0, 3.0]]),), grad=True),
    case("cummin", lambda L, x: L.cummin(x, 0), (f64(5, 2),), (np.array([1.0, 0.0, 0.0, 2.0, 0.0]),), grad=True),
    case("cummax nan", lambda L, x: L.cummax(x, 0), (np.array([1.0, np.nan, 3.0, np.nan, 0.0], np.float32),)),
    case("cummax int", lambda L, x: L.cummax(x, 0), (ints(6),), (ints(5, lo=0, hi=255, dtype="uint8"),)),
    case("cummin int", lambda L, x: L.cummin(x, 0), (ints(6),), (np.array([True, False, True]),)),
    case("logcumsumexp", lambda L, x: L.logcumsumexp(x, -1), (f64(3, 5, lo=-20, hi=20),),
         (np.array([-np.inf, 0.0, -np.inf, 3.0]),), grad=True),
    case("scan empty", lambda L, x: L.cumprod(x, 1), (np.ones((2, 0)),)),
    case("cummax empty", lambda L, x: L.cummax(x, 1), (np.ones((2, 0)),)),
    case("cumprod long", lambda L, x: L.cumprod(x, 0), (np.where(_mask((37, 2), 0.1), 0.0, f64(37, 2, lo=0.5, hi=1.5)),),
         grad=True),
    case("cummax long ties", lambda L, x: L.cummax(x, 1), (ints(3, 37, lo=0, hi=5).astype(np.float64),), grad=True),
    case("cummin long ties", lambda L, x: L.cummin(x, 1), (ints(3, 37, lo=0, hi=5),), (ints(2, 37, lo=0, hi=5, dtype="uint8"),)),
    case("logcumsumexp long", lambda L, x: L.logcumsumexp(x, 0), (f64(37, 2, lo=-5, hi=5),), grad=True),
    # ------------------------------------------------------------ shape ops
    case("diag vec", lambda L, x: L.diag(x), (f32(4),), grad=True),
    case("diag vec offset", lambda L, x: L.diag(x, 1), (f32(3),), grad=True),
    case("diag vec neg offset", lambda L, x: L.diag(x, -2), (f32(3),), grad=True),
    case("diag mat", lambda L, x: L.diag(x, -1), (f32(3, 4),), grad=True),
    case("diagonal", lambda L, x: L.diagonal(x, 1, 0, 2), (f32(3, 2, 4),), grad=True),
    case("diagonal neg", lambda L, x: x.diagonal(-1), (f32(4, 3),), grad=True),
    case("trace", lambda L, x: L.trace(x), (f32(3, 4),), (ints(3, 3),), grad=True),
    case("roll", lambda L, x: L.roll(x, 2, 1), (f32(3, 5),), grad=True),
    case("roll dims", lambda L, x: L.roll(x, (1, -1), (0, 1)), (f32(3, 5),), grad=True),
    case("roll flat", lambda L, x: L.roll(x, 4), (f32(3, 5),), grad=True),
    case("repeat_interleave", lambda L, x: L.repeat_interleave(x, 2), (f32(2, 3),), grad=True),
    case("repeat_interleave dim", lambda L, x: x.repeat_interleave(L.tensor([1, 0, 3]), dim=1), (f32(2, 3),), grad=True),
    case("unfold", lambda L, x: x.unfold(1, 3, 2), (f32(2, 7, 3),), grad=True),
    case("unfold last", lambda L, x: x.unfold(-1, 2, 1), (f32(5),), grad=True),
    case("meshgrid ij", lambda L, a, b: L.meshgrid(a, b, indexing="ij"), (f32(3), f32(4)), grad=True),
    case("meshgrid list", lambda L, a, b: L.meshgrid([a, b], indexing="ij"), (f32(2), f32(3))),
    case("diag_embed", lambda L, x: L.diag_embed(x), (f32(2, 3),), grad=True),
    case("broadcast_tensors", lambda L, a, b: L.broadcast_tensors(a, b), (f32(3, 1), f32(4)), grad=True),
    case("meshgrid xy", lambda L, a, b, c: L.meshgrid(a, b, c, indexing="xy"), (f32(2), f32(3), f32(4)), grad=True),
    case("linspace", lambda L: L.linspace(-1, 2.5, 7)),
    case("linspace one", lambda L: L.linspace(3, 5, 1)),
    case("linspace f64", lambda L: L.linspace(0, 1, 10, dtype=L.float64)),
    case("logspace", lambda L: L.logspace(0, 3, 4)),
    case("logspace base", lambda L: L.logspace(-2, 2, 5, base=2)),
    case("cat neg dim", lambda L, a, b: L.cat((a, b), dim=-1), (f32(2, 3), f32(2, 1)), grad=True),
    case("cat empty piece", lambda L, a, b: L.cat([a, b]), (f32(2, 3), f32(0, 3)), (f32(2, 3), np.zeros(0, np.float32)),
         grad=True),
    case("cat promote", lambda L, a, b: L.cat([a, b]), (ints(2), f32(3)), (np.array([True]), ints(2))),
    case("concat", lambda L, a, b: L.concat([a, b], 1), (f32(2, 3), f32(2, 1))),
    case("stack neg dim", lambda L, a, b: L.stack((a, b), -1), (f32(2, 3), f32(2, 3)), grad=True),
    case("stack 0-d", lambda L, a, b: L.stack([a, b]), (np.array(1.5), np.array(2.0))),
    case("split int", lambda L, x: L.split(x, 2, 1), (f32(2, 5),), grad=True),
    case("split list", lambda L, x: x.split([1, 3, 1], dim=1), (f32(2, 5),), grad=True),
    case("split zero piece", lambda L, x: x.split([0, 5], 1), (f32(2, 5),)),
    case("chunk", lambda L, x: L.chunk(x, 3, -1), (f32(2, 7),), (f32(2, 6),), grad=True),
    case("chunk more than size", lambda L, x: x.chunk(5), (f32(3, 2),)),
    case("unbind", lambda L, x: L.unbind(x, 1), (f32(2, 3),), grad=True),
    case("tensor_split", lambda L, x: L.tensor_split(x, 3, 1), (f32(2, 7),), grad=True),
    case("tensor_split idx", lambda L, x: L.tensor_split(x, [1, 4], 0), (f32(6, 2),), grad=True),
    case("hstack", lambda L, a, b: L.hstack([a, b]), (f32(3), f32(2)), (f32(2, 3), f32(2, 1))),
    case("vstack", lambda L, a, b: L.vstack([a, b]), (f32(3), f32(3)), (f32(2, 3), f32(1, 3))),
    case("dstack", lambda L, a, b: L.dstack([a, b]), (f32(3), f32(3)), (f32(2, 3), f32(2, 3))),
    case("column_stack", lambda L, a, b: L.column_stack([a, b]), (f32(3), f32(3, 2))),
    # ------------------------------------------------------------ einsum
    case("einsum matmul", lambda L, a, b: L.einsum("ij,jk->ik", a, b), (f32(3, 4), f32(4, 2)), grad=True),
    case("einsum batch", lambda L, a, b: L.einsum("bij,bjk->bik", a, b), (f32(2, 3, 4), f32(2, 4, 5)), grad=True),
    case("einsum trace", lambda L, a: L.einsum("ii", a), (f32(3, 3),), grad=True),
    case("einsum diag", lambda L, a: L.einsum("ii->i", a), (f32(3, 3),), grad=True),
    case("einsum outer", lambda L, a, b: L.einsum("i,j->ij", a, b), (f32(3), f32(4)), grad=True),
    case("einsum implicit", lambda L, a, b: L.einsum("ij,jk", a, b), (f32(3, 4), f32(4, 2)), grad=True),
    case("einsum transpose", lambda L, a: L.einsum("ijk->kji", a), (f32(2, 3, 4),), grad=True),
    case("einsum sum", lambda L, a: L.einsum("ijk->j", a), (f32(2, 3, 4),), grad=True),
    case("einsum dot", lambda L, a, b: L.einsum("i,i->", a, b), (f32(5), f32(5)), grad=True),
    case("einsum ellipsis", lambda L, a, b: L.einsum("...ij,...jk->...ik", a, b), (f32(2, 3, 4), f32(4, 5)), grad=True),
    case("einsum three", lambda L, a, b, c: L.einsum("ij,jk,kl->il", a, b, c), (f32(2, 3), f32(3, 4), f32(4, 2)), grad=True),
    case("einsum attention", lambda L, q, k: L.einsum("bhqd,bhkd->bhqk", q, k), (f32(2, 2, 3, 4), f32(2, 2, 5, 4)),
         grad=True),
    case("einsum list", lambda L, a, b: L.einsum("ij,ij->i", [a, b]), (f32(3, 4), f32(3, 4)), grad=True),
    case("einsum int", lambda L, a, b: L.einsum("ij,jk->ik", a, b), (ints(2, 3), ints(3, 2))),
    # ------------------------------------------------------------ dtypes
] + [
    case(f"dtype {d} arith", lambda L, a, b: (a + b, a * b, a - b, a // L.tensor(np.array([3], a.numpy().dtype)), a.sum(),
                                              a.max(), a.min(), a < b, a.abs(), a.to(L.float32)),
         (ints(6, lo=0, hi=9, dtype=d), ints(6, lo=0, hi=9, dtype=d)))
    for d in ("int8", "int16")
] + [
    case(f"dtype {d} ops", lambda L, a: (a * 2, a.sum(), a.float(), a & a, a.to(L.int64)),
         (ints(5, lo=0, hi=9, dtype=d),))
    for d in ("uint16", "uint32", "uint64")
] + [
    case("promote int8 uint8", lambda L, a, b: a + b, (ints(4, dtype="int8"), ints(4, lo=0, hi=9, dtype="uint8"))),
    case("promote int8 int16", lambda L, a, b: a * b, (ints(4, dtype="int8"), ints(4, dtype="int16"))),
    case("promote int16 f16", lambda L, a, b: a + b, (ints(4, dtype="int16"), f32(4, dtype="float16"))),
    case("promote uint32 f32", lambda L, a, b: a * b, (ints(4, lo=0, hi=9, dtype="uint32"), f32(4))),
    case("promote int8 scalar", lambda L, a: (a + 3, a * 2.5, a > 1), (ints(4, dtype="int8"),)),
]

IDS = [c.name for c in CASES]
PAIRS = [(c, k) for c in CASES for k in range(len(c.inputs))]


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [y for o in out for y in _flat(o)]
    return [out]


def _as_np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.numpy()


def _check(got, want, tol, name):
    got, want = _flat(got), _flat(want)
    assert len(got) == len(want), name
    for g, w in zip(got, want):
        gn, wn = _as_np(g), _as_np(w)
        assert gn.shape == wn.shape, f"{name}: shape {gn.shape} != torch's {wn.shape}"
        assert gn.dtype == wn.dtype, f"{name}: dtype {gn.dtype} != torch's {wn.dtype}"
        if gn.dtype.kind == "f":
            rtol = tol or (2e-3 if gn.dtype == np.float16 else 1e-5 if gn.dtype == np.float32 else 1e-10)
            np.testing.assert_allclose(gn, wn, rtol=rtol, atol=rtol * 1e-2, equal_nan=True, err_msg=name)
            zero = (wn == 0) & (gn == 0)
            assert (np.signbit(gn[zero]) == np.signbit(wn[zero])).all(), f"{name}: the sign of a zero differs"
        else:
            np.testing.assert_array_equal(gn, wn, err_msg=name)


@pytest.mark.parametrize("c,k", PAIRS, ids=[f"{c.name}-{k}" for c, k in PAIRS])
def test_values_match_torch(c, k):
    arrays = c.inputs[k]
    with np.errstate(all="ignore"):
        got = c.fn(tt, *[tt.tensor(a, dtype=a.dtype) for a in arrays])
        want = c.fn(torch, *[torch.from_numpy(np.array(a)) for a in arrays])
    _check(got, want, c.tol, c.name)


GRAD_PAIRS = [(c, k) for c, k in PAIRS if c.grad and any(a.dtype.kind == "f" for a in c.inputs[k])]


@pytest.mark.parametrize("c,k", GRAD_PAIRS, ids=[f"{c.name}-{k}" for c, k in GRAD_PAIRS])
def test_gradients_match_torch(c, k):
    """float64 vector-Jacobian products against torch.autograd; non-float inputs (masks) pass through."""
    arrays = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in c.inputs[k]]
    xs = [tt.tensor(a, dtype=a.dtype, requires_grad=a.dtype.kind == "f") for a in arrays]
    ts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    outs_t = [o for o in _flat(c.fn(torch, *ts)) if o.dtype.is_floating_point]
    outs = [o for o in _flat(c.fn(tt, *xs)) if o.dtype.kind == "f"]
    rng = np.random.default_rng(len(c.name))
    cots = [rng.standard_normal(o.shape) for o in outs_t]
    sum(((o * tt.tensor(w)).sum() for o, w in zip(outs, cots)), tt.tensor(0.0, dtype=tt.float64)).backward()
    sum((o * torch.from_numpy(w)).sum() for o, w in zip(outs_t, cots)).backward()
    for x, t in zip(xs, ts):
        if t.requires_grad:
            want = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
            got = x.grad.numpy() if x.grad is not None else np.zeros(x.shape)
            np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9, err_msg=c.name)


def test_case_count():
    """The number of (case, inputs) comparisons against PyTorch this file adds (printed for the closing note)."""
    assert len(PAIRS) >= 220 and len(GRAD_PAIRS) >= 90
    print(f"\n{len(CASES)} cases, {len(PAIRS)} value comparisons and {len(GRAD_PAIRS)} gradient comparisons")


# ---------------------------------------------------------------- in-place methods

INPLACE = [
    ("zero_", lambda t: t.zero_()),
    ("fill_", lambda t: t.fill_(2.5)),
    ("copy_", lambda t: t.copy_(t.new_tensor([1.0, -2.0, 3.0]) if isinstance(t, torch.Tensor)
                                else t.copy_(tt.tensor([1.0, -2.0, 3.0])))),
    ("copy_ broadcast", lambda t: t.copy_(t[:1] * 0 + 4)),
    ("add_", lambda t: t.add_(t, alpha=2)),
    ("add_ scalar", lambda t: t.add_(1.5)),
    ("mul_", lambda t: t.mul_(-3)),
    ("clamp_", lambda t: t.clamp_(min=-0.5, max=0.5)),
    ("masked_fill_", lambda t: t.masked_fill_(t > 0, -7.0)),
]


@pytest.mark.parametrize("name,fn", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_matches_torch_and_writes_the_buffer(name, fn):
    a = np.array([0.25, -1.5, 3.0], np.float32)
    x, t = tt.tensor(a), torch.tensor(a)
    alias = tt.tensor(a)
    alias._node = x._node  # a second handle on the same Buffer, as a state dict or an optimizer holds
    out = fn(x)
    fn(t)
    assert out is x
    np.testing.assert_array_equal(x.numpy(), t.numpy())
    np.testing.assert_array_equal(alias.numpy(), t.numpy())  # the write reached the shared Buffer
    np.testing.assert_array_equal(x.numpy(), fn(tt.tensor(a)).numpy())
    assert x.dtype == np.float32


def test_chained_inplace_writes_all_reach_the_buffer():
    x = tt.tensor([1.0, -2.0, 3.0])
    alias = tt.tensor([0.0])
    alias._node = x._node
    x.zero_().add_(2.0).mul_(3.0)
    x.clamp_(max=5.0)
    np.testing.assert_array_equal(alias.numpy(), [5.0, 5.0, 5.0])
    np.testing.assert_array_equal(x.numpy(), [5.0, 5.0, 5.0])


def test_inplace_on_a_lazy_intermediate_keeps_the_gradient():
    a = np.array([0.5, -1.0, 2.0])
    x, t = tt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for L, v in ((tt, x), (torch, t)):
        y = v * 2
        y.add_(1).mul_(3.0).clamp_(max=8.0)
        y.masked_fill_(y < 0.5, 0.0)
        (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_inplace_on_a_grad_leaf_needs_no_grad_and_then_invalidates_old_graphs():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*no_grad"):
        w.add_(1)
    loss = (w * w).sum()  # saves w for backward
    with tt.no_grad():
        w.mul_(0.5)
        w.zero_().add_(3.0)
    np.testing.assert_array_equal(w.numpy(), [3.0, 3.0])
    assert w.requires_grad and w.is_leaf
    with pytest.raises(RuntimeError, match="overwritten|in place|inplace"):
        loss.backward()
    (w * w).sum().backward()  # a graph built after the write is fine
    np.testing.assert_array_equal(w.grad.numpy(), [6.0, 6.0])


def test_inplace_on_a_module_parameter_is_seen_by_the_module():
    lin = tt.nn.Linear(3, 2)
    with tt.no_grad():
        lin.weight.fill_(1.0)
        lin.bias.zero_()
    np.testing.assert_allclose(lin(tt.ones(1, 3)).numpy(), [[3.0, 3.0]])


def test_inplace_refuses_a_float_result_in_an_int_tensor():
    x = tt.tensor([1, 2])
    with pytest.raises(TypeError, match="mul_: the result is float32"):
        x.mul_(0.5)
    with pytest.raises(RuntimeError, match="can't be cast"):
        torch.tensor([1, 2]).mul_(0.5)


# ---------------------------------------------------------------- devices, generators, grad switches

def test_cpu_device_is_accepted_and_others_are_refused():
    x = tt.tensor([1.0, 2.0])
    assert x.to("cpu") is x and x.cpu() is x and x.to(tt.device("cpu")) is x
    assert x.to("cpu", tt.float64).dtype == np.float64 and x.to(device="cpu", dtype=tt.int32).dtype == np.int32
    assert x.device == tt.device("cpu") == "cpu" and str(x.device) == "cpu" and not x.is_cuda
    assert tt.zeros(2, device="cpu").shape == (2,) and tt.device("cpu:0").index == 0
    assert x.to(tt.tensor([1], dtype=tt.int16)).dtype == np.int16
    for bad in (lambda: x.to("cuda"), lambda: x.to("cuda:0", tt.float64), lambda: x.to(device="mps"),
                lambda: x.cuda(), lambda: tt.zeros(2, device="cuda"), lambda: tt.device("cuda"),
                lambda: tt.rand(2, device="cuda")):
        with pytest.raises(RuntimeError, match="CPU only"):
            bad()


def test_a_ported_device_idiom_runs_on_the_cpu():
    dev = tt.device("cuda" if tt.cuda.is_available() else "cpu")
    model = tt.nn.Linear(3, 2).to(dev)
    assert model.to(dev, tt.float64).weight.dtype == np.float64 and tt.cuda.device_count() == 0
    x = tt.ones(4, 3, device=dev, dtype=tt.float64).to(dev)
    assert model(x).device == dev
    with pytest.raises(RuntimeError, match="CPU only"):
        model.to("cuda")


def test_generator_gives_its_own_repeatable_stream():
    g = tt.Generator().manual_seed(3)
    a = [tt.rand(4, generator=g).numpy(), tt.randn(3, generator=g).numpy(), tt.randint(0, 9, (5,), generator=g).numpy(),
         tt.randperm(6, generator=g).numpy()]
    g.manual_seed(3)
    b = [tt.rand(4, generator=g).numpy(), tt.randn(3, generator=g).numpy(), tt.randint(0, 9, (5,), generator=g).numpy(),
         tt.randperm(6, generator=g).numpy()]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert g.initial_seed() == 3
    tt.manual_seed(0)
    first = tt.rand(3).numpy()
    tt.manual_seed(0)
    tt.rand(5, generator=tt.Generator().manual_seed(1))  # does not advance the global stream
    np.testing.assert_array_equal(tt.rand(3).numpy(), first)


def test_inference_mode_and_set_grad_enabled():
    w = tt.tensor([1.0], requires_grad=True)
    with tt.inference_mode():
        assert not (w * 2).requires_grad and not tt.is_grad_enabled()
    assert (w * 2).requires_grad

    @tt.inference_mode()
    def f():
        return w * 3
    assert not f().requires_grad
    with tt.set_grad_enabled(False):
        assert not (w * 2).requires_grad
        with tt.set_grad_enabled(True):
            assert (w * 2).requires_grad
    assert tt.is_grad_enabled()
    tt.set_grad_enabled(False)
    try:
        assert not (w * 2).requires_grad
    finally:
        tt.set_grad_enabled(True)
    assert tt.is_tensor(w) and not tt.is_tensor(np.ones(2)) and tt.numel(tt.ones(2, 3)) == 6


# ---------------------------------------------------------------- refusals, at the user's line

@pytest.mark.parametrize("bad,err,match", [
    (lambda: tt.eye(-1), ValueError, "eye: sizes must be non-negative"),
    (lambda: tt.ones(2).expand(-2), ValueError, "expand: sizes must be non-negative"),
    (lambda: tt.linspace(0, 1, -1), ValueError, "linspace: steps"),
    (lambda: tt.arange(3.0).flip((0, 0)), ValueError, "flip: dims .* twice"),
    (lambda: tt.div(tt.ones(2), 2, rounding_mode="bad"), ValueError, "rounding_mode must be"),
    (lambda: tt.ones(2, dtype=tt.uint16) + tt.ones(2, dtype=tt.int32), TypeError, "uint16 and int32"),
    (lambda: tt.ones(2, 3)[tt.tensor([True, False, True])], IndexError, "mask of shape"),
    (lambda: tt.ones(2) & tt.ones(2), TypeError, "bitwise_and: takes integer or bool"),
    (lambda: tt.ones(3).scatter_reduce(0, tt.tensor([0]), tt.ones(1), "max"), ValueError, "reduce must be one of"),
    (lambda: tt.einsum("ij,jk->ik", tt.ones(2, 3)), ValueError, "names 2 operands"),
    (lambda: tt.ones(3).unfold(0, 4, 1), ValueError, "unfold: size 4"),
])
def test_bad_input_raises_one_clear_error(bad, err, match):
    with pytest.raises(err, match=match):
        bad()


def test_uint16_promotion_is_refused_as_torch_does():
    with pytest.raises(RuntimeError, match="Promotion for uint16"):
        torch.ones(2, dtype=torch.uint16) + torch.ones(2, dtype=torch.int32)


def test_mask_indexing_realizes_the_mask_only():
    x = tt.tensor(np.arange(6.0).reshape(2, 3))
    m = x > 2
    y = x[m] * 2
    assert m.is_realized and not y.is_realized
    np.testing.assert_array_equal(y.numpy(), [6.0, 8.0, 10.0])
