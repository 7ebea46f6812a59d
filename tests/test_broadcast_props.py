"""Property tests: broadcasting and type promotion over random shapes and dtypes.

Binary ops on random broadcastable shape pairs must match NumPy (values and
shapes); random shape pairs that NumPy refuses must raise a ValueError when the
op is built (before any realize) naming the op and both shapes; and the result
dtype of every operand mix (dimensioned tensor, 0-dim tensor, Python scalar)
must be PyTorch's.
"""
from __future__ import annotations

import re

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import tinytorch as tt

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

BINARY = {  # name: (tinytorch, numpy)
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.true_divide),
    "pow": (lambda a, b: a.abs() ** b, lambda a, b: np.abs(a) ** b),
    "maximum": (tt.maximum, np.maximum),
    "minimum": (tt.minimum, np.minimum),
    "lt": (lambda a, b: a < b, np.less),
    "le": (lambda a, b: a <= b, np.less_equal),
    "gt": (lambda a, b: a > b, np.greater),
    "ge": (lambda a, b: a >= b, np.greater_equal),
    "eq": (lambda a, b: a == b, np.equal),
    "ne": (lambda a, b: a != b, np.not_equal),
}

shape_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=4)
any_shape = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4)


def _data(shape, seed, kind="f"):
    rng = np.random.default_rng(seed)
    if kind == "f":  # a coarse grid, so == and <= meet ties
        return np.asarray(rng.integers(-8, 9, shape) / 4, dtype=np.float32)
    return np.asarray(rng.integers(-4, 5, shape), dtype=np.int64)


@SETTINGS
@given(shapes=shape_pairs, op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
def test_binary_broadcast_matches_numpy(shapes, op, seed):
    (sa, sb), want_shape = shapes.input_shapes, shapes.result_shape
    a, b = _data(sa, seed), np.asarray(_data(sb, seed + 1) + 0.125)  # b never 0: no inf from div
    fn, ref = BINARY[op]
    out = fn(tt.tensor(a), tt.tensor(b))
    want = ref(a, b)
    assert out.shape == want_shape == want.shape
    got = out.numpy()
    if want.dtype == bool:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want.astype(np.float32), rtol=1e-6, atol=0)


@SETTINGS
@given(shapes=shape_pairs, seed=st.integers(0, 2**16), scalar=st.sampled_from([2, -3, 0.5]))
def test_mixed_with_scalars_and_reflected(shapes, seed, scalar):
    (sa, sb), _ = shapes.input_shapes, shapes.result_shape
    a, b = _data(sa, seed, "i"), _data(sb, seed + 1)
    ta, tb = tt.tensor(a), tt.tensor(b)
    x, y = torch.from_numpy(a), torch.from_numpy(b)
    for got, want in ((ta * tb + scalar, x * y + scalar), (scalar - ta * 2, scalar - x * 2),
                      (scalar * tb - ta, scalar * y - x), (ta / (tb.abs() + 1), x / (y.abs() + 1))):
        assert got.dtype == want.numpy().dtype and got.shape == tuple(want.shape)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, max_side=3),
       seed=st.integers(0, 2**16))
def test_where_broadcasts_three_ways(shapes, seed):
    sc, sa, sb = shapes.input_shapes
    c = np.asarray(np.random.default_rng(seed).random(sc) < 0.5)
    a, b = _data(sa, seed), _data(sb, seed + 2, "i")
    out = tt.where(tt.tensor(c), tt.tensor(a), tt.tensor(b))
    want = torch.where(torch.from_numpy(c), torch.from_numpy(a), torch.from_numpy(b))
    assert out.shape == tuple(want.shape) and out.dtype == want.numpy().dtype
    np.testing.assert_array_equal(out.numpy(), want.numpy())


@SETTINGS
@given(sa=any_shape, sb=any_shape, op=st.sampled_from(sorted(BINARY)))
def test_random_shape_pairs_broadcast_or_raise_at_build(sa, sb, op):
    a, b = tt.tensor(np.ones(sa, np.float32)), tt.tensor(np.full(sb, 2.0, np.float32))
    fn, ref = BINARY[op]
    try:
        want = np.broadcast_shapes(sa, sb)
    except ValueError:
        want = None
    before = tt.stats()["realizes"]
    if want is None:
        with pytest.raises(ValueError, match=rf"{op}.*{re.escape(str(sa))}.*{re.escape(str(sb))}"):
            fn(a, b)
        assert tt.stats()["realizes"] == before  # raised while building, nothing ran
    else:
        out = fn(a, b)
        assert out.shape == want and tt.stats()["realizes"] == before
        np.testing.assert_allclose(out.numpy(), ref(np.ones(sa, np.float32), np.full(sb, 2.0, np.float32)))


@SETTINGS
@given(batch=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       m=st.integers(1, 4), k=st.integers(1, 4), n=st.integers(1, 4), bad=st.booleans(), seed=st.integers(0, 99))
def test_matmul_batch_broadcast(batch, m, k, n, bad, seed):
    (ba, bb) = batch.input_shapes
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(ba + (m, k)).astype(np.float32)
    b = rng.standard_normal(bb + (k + bad, n)).astype(np.float32)
    if bad:
        with pytest.raises(ValueError, match=rf"matmul.*{re.escape(str(a.shape))}.*{re.escape(str(b.shape))}"):
            tt.tensor(a) @ tt.tensor(b)
        return
    out = tt.tensor(a) @ tt.tensor(b)
    want = np.matmul(a, b)
    assert out.shape == want.shape
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-5)


DTYPES = ["bool", "int32", "int64", "float16", "float32", "float64"]
operand = st.one_of(
    st.tuples(st.just("tensor"), st.sampled_from(DTYPES)),
    st.tuples(st.just("0-dim"), st.sampled_from(DTYPES)),
    st.tuples(st.just("scalar"), st.sampled_from([True, 3, -2, 1.5])),
)


def _make(lib, kind, what):
    if kind == "scalar":
        return what
    shape = (3,) if kind == "tensor" else ()
    arr = np.array(np.arange(1, 4).reshape(shape) if shape else 2).astype(what)
    return tt.tensor(arr) if lib is tt else torch.from_numpy(arr)


PROMOTING = {
    "add": lambda L, x, y: x + y, "sub": lambda L, x, y: x - y, "mul": lambda L, x, y: x * y,
    "div": lambda L, x, y: x / y, "floor_divide": lambda L, x, y: x // y, "remainder": lambda L, x, y: x % y,
    "pow": lambda L, x, y: x ** y, "lt": lambda L, x, y: x < y, "eq": lambda L, x, y: x == y,
    "where": lambda L, x, y: L.where(L.tensor([True, False, True]), x, y),
}


OPERANDS = [("tensor", d) for d in DTYPES] + [("0-dim", d) for d in DTYPES] + [("scalar", s) for s in (True, 3, 1.5)]


@pytest.mark.parametrize("op", sorted(PROMOTING))
def test_promotion_table_exhaustive(op):
    """Every pairing of the operand kinds: the dtype chosen at build time, or the refusal, is PyTorch's."""
    fn, wrong = PROMOTING[op], []
    for a in OPERANDS:
        for b in OPERANDS:
            if a[0] == b[0] == "scalar":
                continue
            try:
                want = fn(torch, _make(torch, *a), _make(torch, *b)).numpy().dtype
            except RuntimeError:
                want = "error"
            try:
                got = fn(tt, _make(tt, *a), _make(tt, *b)).dtype  # built, not realized
            except (TypeError, ValueError):
                got = "error"
            if got != want:
                wrong.append(f"{a} {op} {b}: {got} != torch {want}")
    assert not wrong, "\n".join(wrong)


@settings(max_examples=150, deadline=None)
@given(a=operand, b=operand, op=st.sampled_from(sorted(PROMOTING)))
def test_promotion_matches_torch(a, b, op):
    """Result dtype (and value) of every operand mix is PyTorch's; where PyTorch refuses, so do we."""
    if a[0] == "scalar" and b[0] == "scalar":
        return
    fn = PROMOTING[op]
    try:
        want = fn(torch, _make(torch, *a), _make(torch, *b))
    except RuntimeError:
        with pytest.raises((TypeError, ValueError)):
            fn(tt, _make(tt, *a), _make(tt, *b))
        return
    got = fn(tt, _make(tt, *a), _make(tt, *b))
    assert got.dtype == want.numpy().dtype, f"{op}({a}, {b}): {got.dtype} != torch {want.dtype}"
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.numpy().astype(np.float64), rtol=1e-3)
