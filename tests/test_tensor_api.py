"""The Tensor API, op by op, against PyTorch (values, shapes, dtypes) and NumPy (values, shapes).

`CASES` is the table: each row names an op, one function written against a
library `L` (run once with `L = tinytorch` and once with `L = torch`, since the
APIs share their names) or a separate torch function where they differ, an
optional NumPy reference, and several input sets of different shapes and
dtypes. `TORCH_COMPARISONS` counts the (case, inputs) pairs checked against
PyTorch; `python tests/test_tensor_api.py` prints the counts.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import tinytorch as tt

_rng = np.random.default_rng(1234)


def f32(*shape, lo=-2.0, hi=2.0, dtype="float32"):
    return _rng.uniform(lo, hi, shape).astype(dtype)


def pos(*shape, dtype="float32"):
    return f32(*shape, lo=0.1, hi=3.0, dtype=dtype)


def i64(*shape, lo=-5, hi=6, dtype="int64"):
    return _rng.integers(lo, hi, shape).astype(dtype)


def bools(*shape):
    return _rng.random(shape) < 0.5


def f16(*shape): return f32(*shape, dtype="float16")
def f64(*shape): return f32(*shape, dtype="float64")
def i32(*shape): return i64(*shape, dtype="int32")
def nz(*shape, dtype="int64"): return (i64(*shape, lo=1, hi=6) * np.where(bools(*shape), 1, -1)).astype(dtype)


Case = namedtuple("Case", "name fn torch_fn np_fn inputs tol")


def case(name, fn, *inputs, torch_fn=None, np_fn=None, tol=None):
    return Case(name, fn, torch_fn, np_fn, list(inputs) or [()], tol)


SHAPES = [(), (5,), (3, 4), (2, 3, 4)]
FLOATS = [(f32(*s),) for s in SHAPES]
POS = [(pos(*s),) for s in SHAPES]
MIXED_BINARY = [  # (a, b) pairs: broadcasting, 0-dim tensors, every dtype pairing the promotion table has
    (f32(3, 4), f32(3, 4)), (f32(3, 4), f32(4)), (f32(2, 1, 4), f32(3, 1)), (f32(), f32(3)),
    (i64(3, 4), f32(4)), (i32(2, 3), i64(2, 3)), (i32(3), np.array(2, np.int64)), (i64(3), np.array(1.5)),
    (f16(2, 3), f32(3)), (f16(3), np.array(2.5)), (f64(2, 2), f32(2)), (i32(4), f16(4)), (bools(3), i64(3)),
    (bools(2, 3), f32(3)), (bools(4), bools(4)),
]
NUMERIC_BINARY = [p for p in MIXED_BINARY if not (p[0].dtype == bool and p[1].dtype == bool)]
DIV_BINARY = [(a, np.where(b == 0, 3, b).astype(b.dtype) if b.dtype.kind in "iub" else b + np.where(b >= 0, 0.5,
              -0.5).astype(b.dtype)) for a, b in NUMERIC_BINARY if b.dtype != bool]
INT_BINARY = [(i64(3, 4), nz(4)), (i32(5), nz(5, dtype="int32")), (i64(2, 3), nz()), (i32(3), nz(3))]

CASES = [
    # ---------------------------------------------------------------- creation
    case("tensor(int list)", lambda L: L.tensor([[1, 2], [3, -4]]), np_fn=lambda: np.array([[1, 2], [3, -4]])),
    case("tensor(float list)", lambda L: L.tensor([1.5, 2.0, -3.25])),
    case("tensor(bool list)", lambda L: L.tensor([True, False])),
    case("tensor(scalar)", lambda L: L.tensor(3.5)),
    case("tensor(int scalar)", lambda L: L.tensor(7)),
    case("tensor(dtype=f16)", lambda L: L.tensor([[1, 2]], dtype=L.float16)),
    case("tensor(dtype=i32)", lambda L: L.tensor([1.7, -2.7], dtype=L.int32)),
    case("tensor(ndarray f64)", lambda L: L.tensor(np.array([1.0, 2.0]))),
    case("tensor(np.float64 scalar)", lambda L: L.tensor(np.float64(2.5))),
    case("tensor(np.int32 scalar)", lambda L: L.tensor(np.int32(-3))),
    case("tensor(ndarray i32)", lambda L: L.tensor(np.array([1, 2], np.int32))),
    case("from_numpy", lambda L, x: L.from_numpy(x.numpy()),
         *[(a,) for a in (f32(2, 3), f64(3), i32(4), i64(2), bools(3))],
         np_fn=lambda x: x),
    case("zeros", lambda L: L.zeros(2, 3), np_fn=lambda: np.zeros((2, 3))),
    case("zeros(tuple, dtype)", lambda L: L.zeros((2, 3), dtype=L.int32)),
    case("zeros(0-dim)", lambda L: L.zeros(())),
    case("ones", lambda L: L.ones(4), np_fn=lambda: np.ones(4)),
    case("ones(dtype=bool)", lambda L: L.ones(2, 2, dtype=L.bool)),
    case("full float", lambda L: L.full((2, 3), 1.5), np_fn=lambda: np.full((2, 3), 1.5)),
    case("full int", lambda L: L.full((2,), 7)),
    case("full bool", lambda L: L.full((3,), True)),
    case("full dtype", lambda L: L.full((2, 2), 3, dtype=L.float64)),
    case("arange(n)", lambda L: L.arange(5), np_fn=lambda: np.arange(5)),
    case("arange(a,b,s)", lambda L: L.arange(1, 7, 2), np_fn=lambda: np.arange(1, 7, 2)),
    case("arange(neg step)", lambda L: L.arange(10, 0, -3), np_fn=lambda: np.arange(10, 0, -3)),
    case("arange(float)", lambda L: L.arange(0, 1, 0.125), np_fn=lambda: np.arange(0, 1, 0.125)),
    case("arange(float step)", lambda L: L.arange(-1.0, 2.0, 0.5)),
    case("arange(dtype)", lambda L: L.arange(4, dtype=L.float64)),
    case("eye(n)", lambda L: L.eye(3), np_fn=lambda: np.eye(3)),
    case("eye(n,m)", lambda L: L.eye(2, 4), np_fn=lambda: np.eye(2, 4)),
    case("eye(dtype)", lambda L: L.eye(3, dtype=L.int64)),
    case("zeros_like", lambda L, x: L.zeros_like(x), (f32(2, 3),), (i32(4),), (bools(2),),
         np_fn=lambda x: np.zeros_like(x)),
    case("ones_like", lambda L, x: L.ones_like(x), (f64(2, 3),), (i64(4),), np_fn=lambda x: np.ones_like(x)),
    case("ones_like(dtype)", lambda L, x: L.ones_like(x, dtype=L.float16), (i64(3),)),
    case("full_like", lambda L, x: L.full_like(x, 2), (f32(2),), (i32(3),)),
    case("linspace", lambda L: L.linspace(-1, 2, 7), np_fn=lambda: np.linspace(-1, 2, 7)),
    # ---------------------------------------------------------------- dtype conversion
    case(".float()", lambda L, x: x.float(), (i64(3, 2),), (f64(4),), (bools(3),), (f16(2),)),
    case(".double()", lambda L, x: x.double(), (f32(3),), (i32(2, 2),)),
    case(".half()", lambda L, x: x.half(), (f32(3),)),
    case(".long()", lambda L, x: x.long(), (f32(2, 3),), (bools(3),), (i32(3),),
         np_fn=lambda x: x.astype(np.int64)),
    case(".int()", lambda L, x: x.int(), (f32(5),), (i64(3),)),
    case(".bool()", lambda L, x: x.bool(), (f32(5),), (i64(2, 3),)),
    case(".to(dtype)", lambda L, x: x.to(L.int32), (f32(3, 4),), (bools(2),), (f16(3),)),
    case(".to(float64)", lambda L, x: x.to(L.float64), (f32(3, 4),), (i32(2),)),
    case(".to(dtype=)", lambda L, x: x.to(dtype=L.float16), (f32(3),)),
    # ---------------------------------------------------------------- arithmetic, broadcasting, promotion
    case("a + b", lambda L, a, b: a + b, *MIXED_BINARY, np_fn=np.add),
    case("a - b", lambda L, a, b: a - b, *[p for p in NUMERIC_BINARY if p[0].dtype != bool], np_fn=np.subtract),
    case("a * b", lambda L, a, b: a * b, *MIXED_BINARY, np_fn=np.multiply),
    case("a / b", lambda L, a, b: a / b, *DIV_BINARY, np_fn=np.true_divide),
    case("a ** b", lambda L, a, b: a.abs() ** b, (pos(3, 4), f32(4)), (f32(3), np.array(2.0)), (pos(2, 3), i64(3)),
         (i64(2, 3), np.abs(i64(3))), (f64(4), f32(4)), np_fn=lambda a, b: np.abs(a) ** b),
    case("a // b (int, floors)", lambda L, a, b: a // b, *INT_BINARY, np_fn=np.floor_divide),
    case("a // b (float)", lambda L, a, b: a // b, (f32(3, 4), pos(4)), (f32(5), -pos(5)), (i64(4), pos(4)),
         np_fn=np.floor_divide),
    case("a % b", lambda L, a, b: a % b, *INT_BINARY, (f32(3, 4), pos(4)), (f32(4), -pos(4)), np_fn=np.remainder),
    case("a @ b", lambda L, a, b: a @ b, (f32(3, 4), f32(4, 5)), (f32(4), f32(4)), (f32(4), f32(4, 5)),
         (f32(3, 4), f32(4)), (f32(2, 3, 4), f32(4, 5)), (f32(2, 3, 4), f32(2, 4, 5)),
         (f32(2, 1, 3, 4), f32(5, 4, 2)), (f32(3), f32(2, 3, 4)), (i64(2, 3), i64(3, 2)), (f64(2, 3), f64(3)),
         (f32(1, 4), f32(4, 1)), np_fn=np.matmul),
    case("matmul()", lambda L, a, b: L.matmul(a, b), (f32(3, 4), f32(4, 2)), np_fn=np.matmul),
    case("-a", lambda L, x: -x, *FLOATS, (i64(3),), (i32(2, 2),), (f16(3),), np_fn=np.negative),
    case("maximum", lambda L, a, b: L.maximum(a, b), *MIXED_BINARY[:12], np_fn=np.maximum),
    case("minimum", lambda L, a, b: L.minimum(a, b), *MIXED_BINARY[:12], np_fn=np.minimum),
    case("add()", lambda L, a, b: L.add(a, b), (f32(3), f32(3))),
    case("sub(alpha=)", lambda L, a, b: L.sub(a, b, alpha=2), (f32(3), f32(3))),
    case("mul()", lambda L, a, b: L.mul(a, b), (i32(3), f32(3))),
    case("div()", lambda L, a, b: L.div(a, b), (i64(3), nz(3))),
    case("div(floor)", lambda L, a, b: L.div(a, b, rounding_mode="floor"), (i64(4), nz(4)), (f32(4), -pos(4))),
    case("div(trunc)", lambda L, a, b: L.div(a, b, rounding_mode="trunc"), (i64(4), nz(4)), (f32(4), -pos(4))),
    # ---------------------------------------------------------------- Python scalars, reflected operators
    case("t + 2", lambda L, x: x + 2, *FLOATS, (i32(3),), (bools(3),), (f16(2),), np_fn=lambda x: x + 2),
    case("2 + t", lambda L, x: 2 + x, (f32(3),), (i64(3),), np_fn=lambda x: 2 + x),
    case("t + 2.5", lambda L, x: x + 2.5, (f32(3),), (i64(3),), (i32(2, 2),), (bools(2),), (f16(3),), (f64(2),),
         np_fn=lambda x: x + 2.5),
    case("t + True", lambda L, x: x + True, (i32(3),), (f32(2),)),
    case("2.5 - t", lambda L, x: 2.5 - x, (f32(3),), (i64(3),), np_fn=lambda x: 2.5 - x),
    case("t - 1", lambda L, x: x - 1, (i32(3),), (f16(2),)),
    case("3 * t", lambda L, x: 3 * x, (f32(3, 2),), (i32(3),), (bools(3),), np_fn=lambda x: 3 * x),
    case("t * 0.5", lambda L, x: x * 0.5, (i64(3),), (f16(3),)),
    case("t / 2", lambda L, x: x / 2, (f32(3),), (i64(4),), (i32(2),), (f64(2),), np_fn=lambda x: x / 2),
    case("2 / t", lambda L, x: 2 / x, (pos(3),), (nz(4),), np_fn=lambda x: 2 / x),
    case("t // 2", lambda L, x: x // 2, (i64(6),), (i32(3),), (f32(4),), np_fn=lambda x: x // 2),
    case("7 // t", lambda L, x: 7 // x, (nz(6),), np_fn=lambda x: 7 // x),
    case("t // -2.5", lambda L, x: x // -2.5, (f32(4),), (i64(4),)),
    case("t % 3", lambda L, x: x % 3, (i64(6),), (f32(4),), np_fn=lambda x: x % 3),
    case("t % -3", lambda L, x: x % -3, (i64(6),), np_fn=lambda x: x % -3),
    case("t ** 2", lambda L, x: x ** 2, *FLOATS, (i64(3),), (i32(3),), np_fn=lambda x: x ** 2),
    case("t ** 3", lambda L, x: x ** 3, (f32(3),), (i64(3),), np_fn=lambda x: x ** 3),
    case("t ** 0.5", lambda L, x: x ** 0.5, (pos(3),), np_fn=np.sqrt),
    case("t ** -1", lambda L, x: x ** -1, (pos(3),), np_fn=lambda x: 1 / x),
    case("t ** 1.5", lambda L, x: x ** 1.5, (pos(3),), (i64(3) + 5,), np_fn=lambda x: x ** 1.5),
    case("2 ** t", lambda L, x: 2 ** x, (f32(3),), (np.abs(i64(4)),), np_fn=lambda x: 2.0 ** x),
    case("2.0 ** t", lambda L, x: 2.0 ** x, (f32(3),), (i32(3),)),
    # ---------------------------------------------------------------- comparisons
    *[case(f"a {op} b", fn, *MIXED_BINARY[:12], (f32(3), np.array(0.5)), np_fn=npf) for op, fn, npf in (
        ("<", lambda L, a, b: a < b, np.less), ("<=", lambda L, a, b: a <= b, np.less_equal),
        (">", lambda L, a, b: a > b, np.greater), (">=", lambda L, a, b: a >= b, np.greater_equal),
        ("==", lambda L, a, b: a == b, np.equal), ("!=", lambda L, a, b: a != b, np.not_equal))],
    case("t < 0.5 / 0 == t", lambda L, x: (x < 0.5) & (0 == x), (i64(5),), (f32(3),)),
    case("t == t (exact)", lambda L, x: x == x.round(), (np.array([1.0, 1.5, -2.0, 0.0], np.float32),)),
    # ---------------------------------------------------------------- unary math and activations
    case("exp", lambda L, x: x.exp(), *FLOATS, (i64(3),), (f64(3),), np_fn=np.exp),
    case("log", lambda L, x: x.log(), *POS, (np.abs(nz(3)),), np_fn=np.log),
    case("sqrt", lambda L, x: x.sqrt(), *POS, (pos(3, dtype="float64"),), np_fn=np.sqrt),
    case("rsqrt", lambda L, x: x.rsqrt(), *POS, np_fn=lambda x: 1 / np.sqrt(x)),
    case("abs", lambda L, x: x.abs(), *FLOATS, (i64(5),), (i32(3),), np_fn=np.abs),
    case("sin", lambda L, x: x.sin(), *FLOATS, np_fn=np.sin),
    case("cos", lambda L, x: x.cos(), *FLOATS, np_fn=np.cos),
    case("tanh", lambda L, x: x.tanh(), *FLOATS, (f32(7) * 20,), np_fn=np.tanh),
    case("sigmoid", lambda L, x: x.sigmoid(), *FLOATS, (f32(6) * 50,), (i64(3),), np_fn=lambda x: 1 / (1 + np.exp(-x))),
    case("relu", lambda L, x: x.relu(), *FLOATS, (i64(5),), np_fn=lambda x: np.maximum(x, 0)),
    case("gelu", lambda L, x: L.gelu(x), *FLOATS, (f32(9) * 4,), torch_fn=lambda x: F.gelu(x)),
    case("erf", lambda L, x: L.erf(x), *FLOATS, torch_fn=torch.erf),
    case("erf(f64): |err| < 1.2e-7", lambda L, x: L.erf(x), (np.linspace(-6, 6, 20001),), torch_fn=torch.erf,
         tol=(0, 1.2e-7)),
    case("gelu(f64)", lambda L, x: L.gelu(x), (f64(50) * 3,), torch_fn=lambda x: F.gelu(x), tol=(0, 2e-7)),
    case("gelu(tanh)", lambda L, x: L.gelu(x, approximate="tanh"), *FLOATS, (f32(9) * 4,),
         torch_fn=lambda x: F.gelu(x, approximate="tanh")),
    case("silu", lambda L, x: L.silu(x), *FLOATS, torch_fn=F.silu, np_fn=lambda x: x / (1 + np.exp(-x))),
    case("softplus", lambda L, x: L.softplus(x), *FLOATS, (f32(8) * 30,), torch_fn=F.softplus),
    case("softplus(beta)", lambda L, x: L.softplus(x, beta=2, threshold=5), (f32(8) * 6,),
         torch_fn=lambda x: F.softplus(x, beta=2, threshold=5)),
    case("clamp", lambda L, x: x.clamp(-0.5, 1.0), *FLOATS, (i64(6),), np_fn=lambda x: np.clip(x, -0.5, 1.0)),
    case("clamp(min=)", lambda L, x: x.clamp(min=0.25), (f32(3, 4),), (i64(4),)),
    case("clamp(max=)", lambda L, x: L.clamp(x, max=1), (f32(3, 4),), (i64(5),)),
    case("clip", lambda L, x: x.clip(-1, 1), (f32(3, 4),), (i32(5),), np_fn=lambda x: np.clip(x, -1, 1)),
    case("where", lambda L, c, a, b: L.where(c, a, b), (bools(3, 4), f32(3, 4), f32(3, 4)),
         (bools(3, 1), f32(4), f32(3, 4)), (bools(4), i64(2, 4), f32(1)), (bools(2), i32(2), i64(2)),
         np_fn=np.where),
    case("where(scalars)", lambda L, c, a: L.where(c, a, 0.0), (bools(3, 4), f32(3, 4)), (bools(3), i64(3))),
    case("where(t > 0)", lambda L, a: L.where(a > 0, a, -a), *FLOATS, np_fn=lambda a: np.abs(a)),
    case("float16 math", lambda L, x: ((x * 2).exp() + x.sigmoid() - x.tanh()) / 3, (f16(3, 4),), (f16(),)),
    case("nan propagates", lambda L, x: (L.maximum(x, x * 0), L.minimum(x, x * 0 + 0.5), x.relu(), x.clamp(-1, 1)),
         (np.array([np.nan, 1.0, -2.0, np.inf, -np.inf], np.float32),)),
    case("0-dim scalar math", lambda L, x: (x + 2.5, x * x, x / 2, x.exp(), x > 0), (i64(),), (f32(),), (f16(),)),
    case("empty tensors", lambda L, x: (x + 1, x.sum(0), x.reshape(0, 6), x.T * 2), (f32(0, 3),), (i64(2, 0),)),
    # ---------------------------------------------------------------- reductions
    case("sum()", lambda L, x: x.sum(), *FLOATS, (i32(3, 2),), (bools(5),), np_fn=np.sum),
    case("sum(dim)", lambda L, x: x.sum(1), (f32(3, 4),), (f32(2, 3, 4),), (i64(3, 4),), np_fn=lambda x: x.sum(1)),
    case("sum(-1, keepdim)", lambda L, x: x.sum(-1, keepdim=True), (f32(3, 4),), (f32(2, 3, 4),),
         np_fn=lambda x: x.sum(-1, keepdims=True)),
    case("sum((0,2))", lambda L, x: x.sum((0, 2)), (f32(2, 3, 4),), np_fn=lambda x: x.sum((0, 2))),
    case("sum(axis=)", lambda L, x: x.sum(axis=0), (f32(3, 4),), torch_fn=lambda x: x.sum(0),
         np_fn=lambda x: x.sum(axis=0)),
    case("sum(())", lambda L, x: x.sum(()), (f32(3, 4),), np_fn=np.sum),
    case("reductions axis=", lambda L, x: (x.argmax(axis=1), x.argmin(axis=0), x.softmax(axis=1), x.log_softmax(axis=0),
                                           x.logsumexp(axis=1), x.amax(axis=0), x.std(axis=1), x.max(axis=1)),
         (f32(3, 4),), torch_fn=lambda x: (x.argmax(1), x.argmin(0), x.softmax(1), x.log_softmax(0), x.logsumexp(1),
                                           x.amax(0), x.std(1), x.max(1))),
    case("empty reductions", lambda L, x: (x.sum(0), x.max(1), x.amin(1), x.argmax(1), x.mean(0)), (f32(0, 3),)),
    case("sum(dtype=)", lambda L, x: x.sum(0, dtype=L.float64), (f32(3, 4),)),
    case("mean()", lambda L, x: x.mean(), *FLOATS, np_fn=np.mean),
    case("float16 reductions", lambda L, x: (x.sum(), x.mean(0), x.max(), x.softmax(-1)), (f16(3, 8),)),
    case("reductions over -inf", lambda L, x: (x.logsumexp(1), x.max(1).values, x.softmax(1)),
         (np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf]], np.float32),)),
    case("var of one element", lambda L, x: (x.var(0), x.var(0, unbiased=False)), (f32(1, 3),)),
    case("mean(dim, keepdim)", lambda L, x: x.mean((0, -1), keepdim=True), (f32(2, 3, 4),), (f64(3, 4),),
         np_fn=lambda x: x.mean((0, -1), keepdims=True)),
    case("mean(axis=)", lambda L, x: x.mean(axis=1), (f32(3, 4),), torch_fn=lambda x: x.mean(1)),
    case("max()", lambda L, x: x.max(), *FLOATS, (i64(4, 3),), (bools(4),), np_fn=np.max),
    case("max(dim)", lambda L, x: x.max(1), (f32(3, 4),), (f32(2, 3, 4),), (i64(4, 6),)),
    case("max(dim, keepdim)", lambda L, x: x.max(-1, keepdim=True), (f32(3, 4),), (i32(4, 6),)),
    case("max(tuple)", lambda L, x: x.max((0, 2)), (f32(2, 3, 4),), torch_fn=lambda x: x.amax((0, 2)),
         np_fn=lambda x: x.max((0, 2))),
    case("max(other)", lambda L, a, b: a.max(b), (f32(3, 4), f32(4)), np_fn=np.maximum),
    case("min()", lambda L, x: x.min(), *FLOATS, (i64(4, 3),), (bools(4),), np_fn=np.min),
    case("min(dim)", lambda L, x: x.min(0), (f32(3, 4),), (i64(6, 2),)),
    case("amax/amin", lambda L, x: (x.amax(1), x.amin((0, 1))), (f32(2, 3, 4),)),
    case("var()", lambda L, x: x.var(), (f32(5),), (f32(3, 4),), (f32(2, 3, 4),), np_fn=lambda x: x.var(ddof=1)),
    case("var(dim)", lambda L, x: x.var(1), (f32(3, 4),), (f64(2, 3, 4),), np_fn=lambda x: x.var(1, ddof=1)),
    case("var(unbiased=False)", lambda L, x: x.var(1, unbiased=False), (f32(3, 4),), np_fn=lambda x: x.var(1)),
    case("var(correction=0, keepdim)", lambda L, x: x.var((0, 1), correction=0, keepdim=True), (f32(2, 3, 4),)),
    case("var(correction=2)", lambda L, x: x.var(-1, correction=2), (f32(3, 6),)),
    case("std()", lambda L, x: x.std(), (f32(5),), (f32(3, 4),), np_fn=lambda x: x.std(ddof=1)),
    case("std(dim, unbiased=False)", lambda L, x: x.std(0, unbiased=False), (f32(3, 4),),
         np_fn=lambda x: x.std(0)),
    case("std(dim, keepdim)", lambda L, x: x.std(-1, keepdim=True), (f32(2, 3, 4),)),
    case("argmax()", lambda L, x: x.argmax(), *FLOATS[1:], (i64(5, 4),), np_fn=np.argmax),
    case("argmax(dim) ties", lambda L, x: x.argmax(1), (i64(4, 9, lo=0, hi=3),), (f32(3, 4),),
         np_fn=lambda x: np.argmax(x, 1)),
    case("argmax(dim, keepdim)", lambda L, x: x.argmax(0, keepdim=True), (f32(3, 4),)),
    case("argmin()", lambda L, x: x.argmin(), *FLOATS[1:], np_fn=np.argmin),
    case("argmin(dim) ties", lambda L, x: x.argmin(-1), (i64(4, 9, lo=0, hi=3),), (f32(2, 3, 4),),
         np_fn=lambda x: np.argmin(x, -1)),
    case("logsumexp", lambda L, x: x.logsumexp(1), (f32(3, 4),), (f32(2, 3, 4) * 40,)),
    case("logsumexp(tuple, keepdim)", lambda L, x: L.logsumexp(x, (0, 2), keepdim=True), (f32(2, 3, 4),)),
    case("softmax", lambda L, x: x.softmax(-1), (f32(3, 4),), (f32(2, 3, 4) * 30,), (f64(5),)),
    case("softmax(dim=0)", lambda L, x: L.softmax(x, dim=0), (f32(3, 4),)),
    case("log_softmax", lambda L, x: x.log_softmax(-1), (f32(3, 4),), (f32(2, 3, 4) * 30,)),
    case("log_softmax(dim=1)", lambda L, x: L.log_softmax(x, dim=1), (f32(2, 3, 4),)),
    # ---------------------------------------------------------------- movement
    case("reshape(-1)", lambda L, x: x.reshape(-1), *FLOATS, np_fn=lambda x: x.reshape(-1)),
    case("reshape(a, -1)", lambda L, x: x.reshape(2, -1), (f32(2, 3, 4),), (i64(4, 2),),
         np_fn=lambda x: x.reshape(2, -1)),
    case("reshape(tuple)", lambda L, x: x.reshape((4, 1, 3)), (f32(3, 4),), np_fn=lambda x: x.reshape(4, 1, 3)),
    case("view", lambda L, x: x.view(-1, 4), (f32(2, 3, 4),), (f32(4, 2),)),
    case("flatten()", lambda L, x: x.flatten(), *FLOATS, np_fn=lambda x: x.reshape(-1)),
    case("flatten(1)", lambda L, x: x.flatten(1), (f32(2, 3, 4),), (f32(3, 4),)),
    case("flatten(0, 1)", lambda L, x: L.flatten(x, 0, 1), (f32(2, 3, 4),)),
    case("permute", lambda L, x: x.permute(2, 0, 1), (f32(2, 3, 4),), np_fn=lambda x: x.transpose(2, 0, 1)),
    case("permute(tuple, neg)", lambda L, x: x.permute((-1, 0)), (f32(3, 4),)),
    case("transpose", lambda L, x: x.transpose(0, 2), (f32(2, 3, 4),), np_fn=lambda x: x.swapaxes(0, 2)),
    case("transpose(neg)", lambda L, x: x.transpose(-1, -2), (f32(3, 4),), (i64(2, 3, 4),)),
    case(".T", lambda L, x: x.T, (f32(3, 4),), (i64(1, 5),), np_fn=lambda x: x.T),
    case(".mT", lambda L, x: x.mT, (f32(2, 3, 4),), np_fn=lambda x: x.swapaxes(-1, -2)),
    case("unsqueeze", lambda L, x: x.unsqueeze(0), *FLOATS, np_fn=lambda x: x[None]),
    case("unsqueeze(-1)", lambda L, x: x.unsqueeze(-1), (f32(3, 4),), (f32(),)),
    case("squeeze()", lambda L, x: x.squeeze(), (f32(1, 3, 1, 4),), (f32(1),), np_fn=np.squeeze),
    case("squeeze(dim)", lambda L, x: x.squeeze(0), (f32(1, 3, 1),), (f32(3, 1),)),
    case("squeeze(-2)", lambda L, x: x.squeeze(-2), (f32(1, 3, 1, 4),)),
    case("expand", lambda L, x: x.expand(3, -1, 4), (f32(1, 2, 1),), (f32(2, 4),),
         np_fn=lambda x: np.broadcast_to(x, (3, 2, 4))),
    case("expand(tuple)", lambda L, x: x.expand((2, 5)), (f32(5),), (i64(2, 1),)),
    case("repeat", lambda L, x: x.repeat(2, 1, 3), (f32(3, 4),), (f32(2),), np_fn=lambda x: np.tile(x, (2, 1, 3))),
    case("repeat(same rank)", lambda L, x: x.repeat(2, 2), (i64(2, 3),), np_fn=lambda x: np.tile(x, (2, 2))),
    case("contiguous", lambda L, x: x.T.contiguous(), (f32(3, 4),), np_fn=lambda x: x.T),
    case("detach", lambda L, x: (x * 2).detach(), (f32(3, 4),), np_fn=lambda x: x * 2),
    case("cat", lambda L, a, b: L.cat([a, b], 0), (f32(2, 3), f32(4, 3)), (i64(2), i64(5)),
         np_fn=lambda a, b: np.concatenate([a, b], 0)),
    case("cat(dim=-1)", lambda L, a, b: L.cat((a, b, a), dim=-1), (f32(2, 3), f32(2, 1)), (bools(2, 2), bools(2, 1)),
         np_fn=lambda a, b: np.concatenate([a, b, a], -1)),
    case("cat(promote)", lambda L, a, b: L.cat([a, b], 1), (i64(2, 3), f32(2, 2)), (i32(3, 1), i64(3, 2))),
    case("stack", lambda L, a, b: L.stack([a, b]), (f32(2, 3), f32(2, 3)), (i64(4), i64(4)),
         np_fn=lambda a, b: np.stack([a, b])),
    case("stack(dim=-1)", lambda L, a, b: L.stack([a, b, b], dim=-1), (f32(2, 3), f32(2, 3)),
         np_fn=lambda a, b: np.stack([a, b, b], -1)),
    case("stack(dim=1)", lambda L, a, b: L.stack((a, b), 1), (f32(3), f32(3)), (f32(2, 2), f32(2, 2))),
    case("gather", lambda L, x, i: L.gather(x, 1, i), (f32(3, 4), _rng.integers(0, 4, (3, 5))),
         (f32(3, 4), _rng.integers(0, 4, (2, 2))), np_fn=lambda x, i: np.take_along_axis(x[:i.shape[0]], i, 1)),
    case("gather(dim=0)", lambda L, x, i: x.gather(0, i), (f32(4, 3), _rng.integers(0, 4, (6, 3)))),
    # ---------------------------------------------------------------- indexing
    *[case(f"x[{name}]", fn, (f32(4, 5, 6),), (i64(4, 5, 6),), np_fn=fn_np) for name, fn, fn_np in (
        ("1", lambda L, x: x[1], lambda x: x[1]),
        ("-1", lambda L, x: x[-1], lambda x: x[-1]),
        ("1, 2", lambda L, x: x[1, 2], lambda x: x[1, 2]),
        ("1, 2, 3", lambda L, x: x[1, 2, 3], lambda x: x[1, 2, 3]),
        (":, 1:3", lambda L, x: x[:, 1:3], lambda x: x[:, 1:3]),
        ("::2", lambda L, x: x[::2], lambda x: x[::2]),
        ("1:, ::3, -4:-1:2", lambda L, x: x[1:, ::3, -4:-1:2], lambda x: x[1:, ::3, -4:-1:2]),
        ("None", lambda L, x: x[None], lambda x: x[None]),
        (":, None, 1", lambda L, x: x[:, None, 1], lambda x: x[:, None, 1]),
        ("..., 0", lambda L, x: x[..., 0], lambda x: x[..., 0]),
        ("0, ..., None", lambda L, x: x[0, ..., None], lambda x: x[0, ..., None]),
        ("..., 1:3, None", lambda L, x: x[..., 1:3, None], lambda x: x[..., 1:3, None]),
        ("10:", lambda L, x: x[10:], lambda x: x[10:]),
        ("2:1", lambda L, x: x[:, 2:1], lambda x: x[:, 2:1]),
        ("[0, 2]", lambda L, x: x[[0, 2]], lambda x: x[[0, 2]]),
        ("[[3, -1], [0, 0]]", lambda L, x: x[:, [[3, -1], [0, 0]]], lambda x: x[:, [[3, -1], [0, 0]]]),
        ("idx", lambda L, x: x[L.tensor([2, 0, 3])], lambda x: x[np.array([2, 0, 3])]),
        ("idx, :, 0", lambda L, x: x[L.tensor([1, -1]), :, 0], lambda x: x[np.array([1, -1]), :, 0]),
        ("i, j", lambda L, x: x[L.tensor([0, 1, 3]), L.tensor([4, 0, 2])],
         lambda x: x[np.array([0, 1, 3]), np.array([4, 0, 2])]),
        ("i, :, k (apart)", lambda L, x: x[L.tensor([0, 3]), :, L.tensor([[1], [5]])],
         lambda x: x[np.array([0, 3]), :, np.array([[1], [5]])]),
        (":, i, k", lambda L, x: x[:, L.tensor([1, 2]), L.tensor([0, 5])],
         lambda x: x[:, np.array([1, 2]), np.array([0, 5])]),
        ("1, idx", lambda L, x: x[1, L.tensor([[0, 4], [1, 1]])], lambda x: x[1, np.array([[0, 4], [1, 1]])]),
        ("1, :, idx", lambda L, x: x[1, :, L.tensor([0, 2])], lambda x: x[1, :, np.array([0, 2])].T),
        ("idx, :, 1", lambda L, x: x[L.tensor([0, 2]), :, 1], lambda x: x[np.array([0, 2]), :, 1]),
        (":, 1, idx", lambda L, x: x[:, 1, L.tensor([0, 2])], lambda x: x[:, 1, np.array([0, 2])]),
        ("idx int32", lambda L, x: x[L.tensor([1, 3], dtype=L.int32)], lambda x: x[np.array([1, 3])]),
    )],
]

TORCH_COMPARISONS = sum(len(c.inputs) for c in CASES)
NUMPY_COMPARISONS = sum(len(c.inputs) for c in CASES if c.np_fn is not None)


# ---------------------------------------------------------------- the comparison machinery

def _flat(out):
    if isinstance(out, (tuple, list)):
        return [v for o in out for v in _flat(o)]
    return [out]


def _to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, tt.Tensor):
        return x.numpy()
    return np.asarray(x)


def _tolerance(dtype, tol):
    if tol is not None:
        return tol
    return {"float16": (2e-3, 2e-3), "float32": (1e-5, 1e-6), "float64": (1e-12, 1e-12)}.get(dtype.name, (0, 0))


def _close(got, want, tol, what):
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    rtol, atol = _tolerance(want.dtype if want.dtype.kind == "f" else got.dtype, tol)
    if got.dtype.kind in "biu" and want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=what)
    else:
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol,
                                   equal_nan=True, err_msg=what)


def _ids(cases):
    return [f"{c.name}#{k}" for c in cases for k in range(len(c.inputs))]


def _pairs(cases):
    return [(c, k) for c in cases for k in range(len(c.inputs))]


@pytest.mark.parametrize("c,k", _pairs(CASES), ids=_ids(CASES))
def test_against_torch(c, k):
    arrays = c.inputs[k]
    got = c.fn(tt, *[tt.tensor(a) for a in arrays])
    ref = (c.torch_fn or (lambda *xs: c.fn(torch, *xs)))(*[torch.from_numpy(np.array(a)) for a in arrays])
    got, ref = _flat(got), _flat(ref)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert isinstance(g, tt.Tensor), f"{c.name}: returned {type(g).__name__}, not a Tensor"
        g_np, r_np = _to_numpy(g), _to_numpy(r)
        assert g.dtype == r_np.dtype, f"{c.name}: dtype {g.dtype} != torch {r_np.dtype}"
        assert g.shape == tuple(r.shape), f"{c.name}: shape {g.shape} != torch {tuple(r.shape)}"
        assert g_np.dtype == g.dtype and g_np.shape == g.shape, f"{c.name}: realized array disagrees with metadata"
        _close(g_np, r_np, c.tol, c.name)


NP_CASES = [c for c in CASES if c.np_fn is not None]


@pytest.mark.parametrize("c,k", _pairs(NP_CASES), ids=_ids(NP_CASES))
def test_against_numpy(c, k):
    """Values and shapes against NumPy (its dtype rules differ from PyTorch's, so dtypes are torch's job)."""
    arrays = c.inputs[k]
    got = _flat(c.fn(tt, *[tt.tensor(a) for a in arrays]))
    want = _flat(c.np_fn(*[np.array(a) for a in arrays]))
    for g, w in zip(got, want):
        w = np.asarray(w)
        tol = c.tol or _tolerance(g.dtype if g.dtype.kind == "f" else w.dtype, None)
        _close(g.numpy(), w.astype(g.dtype) if g.dtype.kind == "f" else w, tol, c.name)


def test_case_count():
    assert TORCH_COMPARISONS >= 300 and len(CASES) >= 150
    print(f"\n{len(CASES)} op cases, {TORCH_COMPARISONS} comparisons against PyTorch, "
          f"{NUMPY_COMPARISONS} against NumPy")


# ---------------------------------------------------------------- properties and the ways out

def test_properties_match_torch():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x, y = tt.tensor(a), torch.tensor(a)
    assert type(x.shape) is tuple and x.shape == tuple(y.shape) == (2, 3, 4)
    assert x.ndim == y.ndim == 3 and x.dim() == 3
    assert x.numel() == y.numel() == 24
    assert x.size() == tuple(y.size()) and x.size(1) == y.size(1) == 3 and x.size(-1) == 4
    assert len(x) == len(y) == 2
    assert x.dtype == tt.float32 == np.float32
    assert x.T.shape == tuple(y.permute(2, 1, 0).shape) == (4, 3, 2)
    np.testing.assert_array_equal(x.T.numpy(), a.T)
    assert tt.tensor(1.0).shape == () and tt.tensor(1.0).ndim == 0
    with pytest.raises(TypeError):
        len(tt.tensor(1.0))


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "int32", "int64", "bool"])
def test_every_dtype_round_trips(name):
    d = getattr(tt, name)
    x = tt.ones(2, 3, dtype=d)
    assert x.dtype == np.dtype(name) and x.numpy().dtype == np.dtype(name)
    assert tt.zeros(3).to(d).dtype == d and tt.tensor([1, 0], dtype=d).dtype == d
    y = torch.ones(2, 3, dtype=getattr(torch, name))
    assert (x + x).dtype == (y + y).numpy().dtype and (x * 2).dtype == (y * 2).numpy().dtype


def test_numpy_item_tolist_repr():
    x = tt.tensor([[1.5, -2.0], [0.25, 4.0]])
    y = x * 2
    assert not y.is_realized
    out = y.numpy()
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, [[3.0, -4.0], [0.5, 8.0]])
    assert y.is_realized
    s = (x.sum() + 1)
    assert s.item() == pytest.approx(4.75) and isinstance(s.item(), float)
    assert isinstance(tt.tensor([3]).sum().item(), int) and tt.tensor([3]).sum().item() == 3
    assert isinstance((x > 0).all().item(), bool)
    assert y.tolist() == [[3.0, -4.0], [0.5, 8.0]] and tt.tensor([1, 2]).tolist() == [1, 2]
    with pytest.raises(ValueError, match="item"):
        x.item()
    z = x + 1
    text = repr(z)
    assert z.is_realized and text.startswith("tensor(") and "2.5" in text
    assert "dtype=int32" in repr(tt.tensor([1], dtype=tt.int32)) and "dtype" not in repr(tt.tensor([1]))
    assert float(tt.tensor(2.5)) == 2.5 and int(tt.tensor(3)) == 3
    assert np.asarray(tt.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]


def test_realize_returns_self_and_realize_many_compiles_once():
    a = tt.tensor(np.ones((3, 3), np.float32))
    b, c = a * 3, (a + 1).sum(0)
    assert b.realize() is b and b.is_realized
    d, e = a.exp(), a.exp().log() - 2
    tt.reset_stats()
    tt.realize(d, e, c)
    s = tt.stats()
    assert (s["realizes"], s["compiles"] + s["cache_hits"]) == (1, 1)
    assert d.is_realized and e.is_realized and c.is_realized
    np.testing.assert_allclose(e.numpy(), np.full((3, 3), -1.0), rtol=1e-6)
    tt.realize([d, e])  # already computed: nothing to do
    assert tt.stats()["realizes"] == 1


def test_building_never_computes():
    x = tt.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    before = tt.stats()["realizes"]
    outs = [x + 1, x @ x.T, x.softmax(-1), x[1:, ::2], tt.cat([x, x]), x.var(0), x.max(1).indices,
            tt.zeros(3), tt.arange(4), tt.eye(3), tt.rand(2), tt.randn(3), tt.randint(0, 5, (3,)), x.long(),
            x.gelu(), tt.where(x > 2, x, 0), x.unsqueeze(0).expand(2, 3, 4), x.argmax(), x.std()]
    assert not any(o.is_realized for o in outs)
    assert tt.stats()["realizes"] == before
    tt.realize(*outs)
    assert all(o.is_realized for o in outs) and tt.stats()["realizes"] == before + 1


def test_random_is_seeded():
    tt.manual_seed(7)
    a = [tt.rand(3, 4).numpy(), tt.randn(50).numpy(), tt.randint(0, 10, (20,)).numpy(), tt.randint(5, (4,)).numpy()]
    tt.manual_seed(7)
    b = [tt.rand(3, 4).numpy(), tt.randn(50).numpy(), tt.randint(0, 10, (20,)).numpy(), tt.randint(5, (4,)).numpy()]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], tt.rand(3, 4).numpy())  # the next draw differs
    assert a[0].dtype == np.float32 and a[1].dtype == np.float32 and a[2].dtype == np.int64


def test_random_distributions():
    tt.manual_seed(1)
    u = tt.rand(20000).numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    z = tt.randn(20000).numpy()
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    r = tt.randint(-3, 4, (20000,)).numpy()
    assert r.dtype == np.int64 and set(np.unique(r)) == set(range(-3, 4))
    assert tt.rand(2, 3, dtype=tt.float64).dtype == tt.float64 and tt.randn((4,)).shape == (4,)


def test_tensor_constructor_forms():
    a = np.array([[1, 2]], np.int32)
    t = tt.Tensor(a)
    a[0, 0] = 99  # tensor() copies, as torch.tensor does
    assert t.dtype == np.int32 and t.tolist() == [[1, 2]]
    assert tt.Tensor([1.0, 2.0]).dtype == tt.float32
    assert tt.tensor(tt.tensor([1, 2])).tolist() == [1, 2]
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    assert w.requires_grad and w.is_leaf and w.is_realized
    assert tt.tensor([[1, 2], [3, 4]], dtype=tt.float64).dtype == tt.float64


if __name__ == "__main__":
    print(f"{len(CASES)} op cases, {TORCH_COMPARISONS} comparisons against PyTorch, "
          f"{NUMPY_COMPARISONS} against NumPy")
