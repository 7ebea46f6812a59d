"""sort, argsort, topk, cumsum and multinomial against PyTorch (values, indices, dtypes, gradients through a
float64 torch.autograd oracle), and multinomial's draws by their distribution. The suite runs on each backend
(TINYTORCH_BACKEND), so every case here runs natively too."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats

import tinytorch as tt

_rng = np.random.default_rng(7)


def _ties(*shape, dtype="float32"):
    """Small integers (so many ties), with a NaN, +inf and -inf planted in float rows."""
    a = _rng.integers(-3, 4, shape).astype(dtype)
    if a.dtype.kind == "f" and a.size >= 4:
        flat = a.reshape(-1)
        flat[_rng.choice(a.size, 4, replace=False)] = [np.nan, np.inf, -np.inf, np.nan]
    return a


def _distinct(*shape, dtype="float32"):
    return _rng.permutation(int(np.prod(shape))).reshape(shape).astype(dtype) / 7.0 - 3.0


def _same(ours, theirs):
    theirs = theirs.detach().numpy()
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


SORT_INPUTS = [_ties(9), _ties(4, 6), _ties(3, 4, 5), _ties(3, 70), _ties(5, 4, dtype="float64"),
               _ties(4, 5, dtype="int64"), _ties(6, dtype="int32"), _ties(4, 5, dtype="uint8"),
               _rng.random((3, 5)) < 0.5, np.float32(2.5)]


@pytest.mark.parametrize("x", SORT_INPUTS, ids=lambda x: f"{x.dtype}{list(np.shape(x))}")
@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_argsort_equal_torch_stable_sort_on_every_dim(x, descending):
    for dim in range(-max(np.ndim(x), 1), max(np.ndim(x), 1)):
        want = torch.sort(torch.tensor(x), dim=dim, descending=descending, stable=True)
        got = tt.sort(tt.tensor(x), dim, descending=descending)
        assert type(got).__name__ == "sort" and got._fields == ("values", "indices")
        _same(got.values.numpy(), want.values)
        _same(got.indices.numpy(), want.indices)
        _same(tt.argsort(tt.tensor(x), dim=dim, descending=descending, stable=True).numpy(), want.indices)
        _same(tt.tensor(x).argsort(dim, descending).numpy(), want.indices)


def test_msort_and_the_sort_method():
    x = _ties(5, 3)
    _same(tt.msort(tt.tensor(x)).numpy(), torch.msort(torch.tensor(x)))
    _same(tt.tensor(x).sort(0, True).indices.numpy(), torch.sort(torch.tensor(x), dim=0, descending=True, stable=True).indices)


TOPK = [(_distinct(10), 3, -1), (_distinct(4, 9), 9, 1), (_distinct(3, 200), 5, -1), (_distinct(3, 200), 60, 1),
        (_distinct(40, 3), 4, 0), (_distinct(2, 3, 4), 2, 1), (_distinct(2, 50, dtype="int64"), 3, 1),
        (_distinct(5, dtype="float64"), 0, 0)]


@pytest.mark.parametrize("x,k,dim", TOPK, ids=lambda v: str(getattr(v, "shape", v)))
@pytest.mark.parametrize("largest", [True, False])
def test_topk_equals_torch_on_tie_free_inputs(x, k, dim, largest):
    want = torch.topk(torch.tensor(x), k, dim, largest=largest)
    got = tt.topk(tt.tensor(x), k, dim, largest=largest)
    assert type(got).__name__ == "topk"
    _same(got.values.numpy(), want.values)
    _same(got.indices.numpy(), want.indices)
    _same(tt.tensor(x).topk(k, dim=dim, largest=largest, sorted=False).indices.numpy(), want.indices)


@pytest.mark.parametrize("n,k", [(6, 2), (300, 3)])  # the full sort, and the partition path of a long row
def test_topk_puts_nan_above_everything_as_torch(n, k):
    x = _distinct(2, n)
    x[0, n // 2], x[1, 0] = np.nan, np.inf
    for largest in (True, False):
        want = torch.topk(torch.tensor(x), k, largest=largest)
        got = tt.topk(tt.tensor(x), k, largest=largest)
        _same(got.values.numpy(), want.values)
        _same(got.indices.numpy(), want.indices)


@pytest.mark.parametrize("n,k", [(12, 5), (400, 7)])  # the full sort, and the partition path of a long row
@pytest.mark.parametrize("largest", [True, False])
def test_topk_with_ties_is_the_first_k_of_torchs_stable_sort(n, k, largest):
    x = _ties(4, n)
    want = torch.sort(torch.tensor(x), dim=-1, descending=largest, stable=True)
    got = tt.topk(tt.tensor(x), k, largest=largest)
    _same(got.values.numpy(), want.values[:, :k])
    _same(got.indices.numpy(), want.indices[:, :k])
    _same(got.values.numpy(), torch.topk(torch.tensor(x), k, largest=largest).values)


def test_bad_arguments_name_the_op_and_the_shape():
    x = tt.tensor(_distinct(3, 4))
    with pytest.raises(ValueError, match=r"topk: k=5 .*dim 1 of size 4 .*\(3, 4\)"):
        tt.topk(x, 5)
    with pytest.raises(TypeError, match="topk: does not take bool"):
        tt.topk(x > 0, 1)
    with pytest.raises(IndexError, match="sort: dim 2 is out of range"):
        tt.sort(x, 2)
    with pytest.raises(ValueError, match="argsort: k=5 is out of range"):
        tt.compiler.build("argsort", x._node, arg=(False, 5))


def _grad_pair(fn_tt, fn_torch, x, seed_shape_from=None):
    """d(sum(out * w))/dx from tinytorch and from torch in float64, for a fixed random w."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out_t = fn_torch(xt)
    w = _rng.standard_normal(tuple(out_t.shape))
    (out_t * torch.tensor(w)).sum().backward()
    xs = tt.tensor(x.astype(np.float64), requires_grad=True)
    (fn_tt(xs) * tt.tensor(w)).sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gradients_equal_torch_autograd(dim):
    x = _distinct(4, 6, 5)
    _grad_pair(lambda t: tt.sort(t, dim, descending=True).values,
               lambda t: torch.sort(t, dim=dim, descending=True, stable=True).values, x)
    _grad_pair(lambda t: tt.topk(t, 3, dim, largest=False).values,
               lambda t: torch.topk(t, 3, dim, largest=False).values, x)
    _grad_pair(lambda t: tt.cumsum(t * t, dim), lambda t: torch.cumsum(t * t, dim), x)


def test_sort_gradient_with_ties_goes_to_the_position_each_value_came_from():
    x = _ties(3, 8)
    x[~np.isfinite(x)] = 1.0
    _grad_pair(lambda t: tt.sort(t, 1).values * tt.arange(8.0, dtype=tt.float64),
               lambda t: torch.sort(t, dim=1, stable=True).values * torch.arange(8.0, dtype=torch.float64), x)


def test_cumsum_double_backward_equals_torch():
    x = _distinct(3, 5).astype(np.float64)
    xt = torch.tensor(x, requires_grad=True)
    gt, = torch.autograd.grad((torch.cumsum(xt ** 3, 1) ** 2).sum(), xt, create_graph=True)
    ggt, = torch.autograd.grad(gt.sum(), xt)
    xs = tt.tensor(x, requires_grad=True)
    gs, = tt.autograd.grad((tt.cumsum(xs ** 3, 1) ** 2).sum(), xs, create_graph=True)
    ggs, = tt.autograd.grad(gs.sum(), xs)
    np.testing.assert_allclose(ggs.numpy(), ggt.numpy(), rtol=1e-12)


CUMSUM = [(_distinct(7), 0, None), (_distinct(3, 4, 5), 1, None), (_distinct(3, 4, 5), -1, None),
          (_ties(4, 5, dtype="int32"), 0, None), (_rng.random((3, 4)) < 0.5, 1, None),
          (_ties(6, dtype="uint8"), 0, None), (_distinct(2, 3), 1, torch.float64), (np.float32(1.5), 0, None),
          (_ties(3, 4, dtype="int64"), 1, torch.float32), (_distinct(4, 3, dtype="float64"), 0, None)]


@pytest.mark.parametrize("x,dim,dtype", CUMSUM, ids=lambda v: str(getattr(v, "shape", v)))
def test_cumsum_equals_torch_values_and_dtype(x, dim, dtype):
    want = torch.cumsum(torch.tensor(x), dim, dtype=dtype)
    got = tt.cumsum(tt.tensor(x), dim, dtype=None if dtype is None else tt.dtypes.as_dtype(str(dtype)[6:]))
    got = got.numpy()
    assert got.dtype == want.numpy().dtype and got.shape == tuple(want.shape)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-6)
    np.testing.assert_allclose(tt.tensor(x).cumsum(dim).numpy(), torch.tensor(x).cumsum(dim).numpy(), rtol=1e-6)


def test_cumsum_of_a_long_row_is_a_sequential_float64_accurate_scan():
    x = _rng.random(200_000).astype(np.float32)
    got = tt.cumsum(tt.tensor(x), 0).numpy()
    np.testing.assert_allclose(got, np.cumsum(x, dtype=np.float64).astype(np.float32), rtol=1e-7)
    nodes = tt.plan(tt.cumsum(tt.tensor(x), 0)).kernels
    assert [o.info.op for k in nodes for o in k.ops] == ["cumsum"]  # one O(n) op, no log2(n) rounds


# ------------------------------------------------------------------------------------------------ multinomial

P5 = np.array([0.1, 0.0, 0.5, 0.25, 0.15])


def _chi2_p(counts, probs):
    expected = probs[probs > 0] / probs.sum() * counts.sum()
    return scipy_stats.chisquare(counts[probs > 0], expected).pvalue


def test_multinomial_with_replacement_follows_the_distribution_and_never_draws_a_zero():
    p = tt.tensor((P5 * 4).astype(np.float32))  # unnormalized
    draws = tt.multinomial(p, 20000, replacement=True).numpy()
    assert draws.dtype == np.int64 and draws.shape == (20000,)
    counts = np.bincount(draws, minlength=5)
    assert counts[1] == 0
    assert _chi2_p(counts, P5) > 1e-4
    one = tt.multinomial(tt.tensor(np.tile(P5, (20000, 1))), 1).numpy()  # one draw without replacement
    assert one.shape == (20000, 1)
    counts = np.bincount(one[:, 0], minlength=5)
    assert counts[1] == 0 and _chi2_p(counts, P5) > 1e-4


def test_multinomial_rows_are_drawn_from_their_own_distributions():
    probs = np.array([[0.0, 0.0, 1.0, 3.0], [5.0, 1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 1.0]])
    draws = tt.multinomial(tt.tensor(probs), 6000, True).numpy()
    assert draws.shape == (3, 6000)
    for row, d in zip(probs, draws):
        counts = np.bincount(d, minlength=4)
        assert (counts[row == 0] == 0).all()
        if (row > 0).sum() > 1:
            assert _chi2_p(counts, row) > 1e-4


def test_multinomial_without_replacement_draws_distinct_indices_in_sequential_order():
    probs = np.array([0.5, 0.3, 0.2, 0.0])
    rows = np.tile(probs, (20000, 1))
    draws = tt.multinomial(tt.tensor(rows), 2).numpy()
    assert draws.shape == (20000, 2) and (draws[:, 0] != draws[:, 1]).all() and (draws != 3).all()
    # P(first=i, second=j) = p_i * p_j / (1 - p_i): the law of drawing one after another
    pairs = [(i, j) for i in range(3) for j in range(3) if i != j]
    law = np.array([probs[i] * probs[j] / (1 - probs[i]) for i, j in pairs])
    counts = np.array([((draws[:, 0] == i) & (draws[:, 1] == j)).sum() for i, j in pairs])
    assert _chi2_p(counts, law) > 1e-4
    full = tt.multinomial(tt.tensor(np.tile(probs[:3], (50, 1))), 3).numpy()
    assert (np.sort(full, 1) == [0, 1, 2]).all()


def test_multinomial_without_replacement_takes_zero_categories_last_as_torch():
    p = np.array([0.0, 2.0, 0.0, 1.0])
    got = tt.multinomial(tt.tensor(p), 4).numpy()
    assert sorted(got[:2]) == [1, 3]
    np.testing.assert_array_equal(got[2:], torch.multinomial(torch.tensor([1.0, 0, 0]), 2).numpy() * 2)


def test_same_seed_same_draws_and_a_new_seed_reuses_the_program():
    p = tt.tensor(np.array([[0.2, 0.3, 0.5], [0.6, 0.0, 0.4]])).realize()
    draw = {True: lambda g=None: tt.multinomial(p, 16, True, generator=g).numpy(),
            False: lambda g=None: tt.multinomial(p, 2, generator=g).numpy()}
    for replacement, fn in draw.items():
        tt.manual_seed(3)
        a = fn()
        tt.manual_seed(3)
        np.testing.assert_array_equal(fn(), a)
        gen = tt.Generator()
        b = fn(gen.manual_seed(11))
        np.testing.assert_array_equal(fn(gen.manual_seed(11)), b)
        compiles = tt.stats()["compiles"]
        samples = {fn(gen.manual_seed(s)).tobytes() for s in range(12, 20)} | {fn().tobytes() for _ in range(4)}
        assert tt.stats()["compiles"] == compiles, "a new seed must be data, not a new Program"
        assert len(samples) > 1


@pytest.mark.parametrize("probs,n,replacement,error,match", [
    ([1.0, -1.0, 0.0], 1, True, RuntimeError, "inf`, `nan` or element < 0"),
    ([1.0, np.nan], 1, False, RuntimeError, "inf`, `nan` or element < 0"),
    ([1.0, np.inf], 1, True, RuntimeError, "inf`, `nan` or element < 0"),
    ([[0.0, 0.0], [1.0, 1.0]], 1, True, RuntimeError, "sum of probabilities <= 0"),
    ([1.0, 2.0], 3, False, ValueError, "n_sample > prob_dist.size"),
    ([1.0, 2.0], 0, True, ValueError, "n_sample <= 0"),
    (np.ones((2, 2, 2)), 1, True, ValueError, "1 or 2 dim"),
    (np.array([1, 2]), 1, True, TypeError, "floating-point"),
])
def test_multinomial_refuses_what_torch_refuses(probs, n, replacement, error, match):
    with pytest.raises(Exception):
        torch.multinomial(torch.tensor(np.asarray(probs)), n, replacement)
    with pytest.raises(error, match=match):
        tt.multinomial(tt.tensor(np.asarray(probs)), n, replacement)


# ------------------------------------------------------------------------------------------------ causal mask

def test_causal_mask_by_masked_fill_then_softmax_equals_torch():
    T = 5
    scores = _distinct(2, T, T)
    future = tt.arange(T).unsqueeze(1) < tt.arange(T).unsqueeze(0)
    got = tt.tensor(scores).masked_fill(future, float("-inf")).softmax(-1).numpy()
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    want = torch.tensor(scores).masked_fill(mask, float("-inf")).softmax(-1).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)
    if hasattr(tt, "triu"):  # the lead's tril/triu (tinytorch/shape_ops.py)
        ones = tt.ones(T, T, dtype=tt.bool)
        np.testing.assert_array_equal(tt.triu(ones, 1).numpy(), mask.numpy())
        np.testing.assert_array_equal(tt.tril(ones).numpy(), torch.tril(torch.ones(T, T, dtype=torch.bool)).numpy())
