"""Gradients of every differentiable Tensor operation, table-driven, checked two ways.

Each case is a function of a namespace `m` (tinytorch or torch, see `TT` and `TORCH`) and of its inputs, so
the same line runs on both frameworks. Float inputs are float64 and differentiated; integer and bool inputs
(indices, masks) are passed as tensors and not. For every case:

- `test_matches_torch`: the forward value and the vector-Jacobian product with a random cotangent agree with
  torch.autograd (float64);
- `test_matches_finite_differences`: the same VJP agrees with central finite differences of tinytorch's own
  forward (`tinytorch.autograd.gradcheck`), so a case is checked even where torch is not the reference.

Inputs keep clear of kinks (|x| away from 0 for abs/relu, no ties for max) so finite differences are valid;
ties are tested on their own in test_autograd.py.
"""
import types
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import tinytorch as tt
import tinytorch.movement as ttm
from tinytorch.autograd import gradcheck
from tinytorch.tensor_base import op_result as _make


def _tt_fold(x, kernel, stride, dilation, size):
    return _make("fold", (x,), arg=(kernel, stride, dilation, size))


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _torch_unfold(x, kernel, stride, dilation):
    """torch's im2col laid out as tinytorch's unfold: (N, C, kh, kw, oh, ow)."""
    kernel, stride, dilation = _pair(kernel), _pair(stride), _pair(dilation)
    n, c, h, w = x.shape
    oh = (h - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    ow = (w - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    cols = F.unfold(x, kernel, dilation=dilation, stride=stride)
    return cols.reshape(n, c, kernel[0], kernel[1], oh, ow)


def _torch_fold(x, kernel, stride, dilation, size):
    n, c = x.shape[:2]
    return F.fold(x.reshape(n, c * kernel[0] * kernel[1], -1), size, kernel, dilation=dilation, stride=stride)


TT = types.SimpleNamespace(
    tensor=lambda a: tt.tensor(a, dtype=a.dtype), cat=tt.cat, stack=tt.stack, where=tt.where,
    maximum=tt.maximum, minimum=tt.minimum, matmul=tt.matmul, clamp=tt.clamp, gelu=tt.gelu, silu=tt.silu,
    softplus=tt.softplus, sigmoid=tt.sigmoid, relu=tt.relu, pad=ttm.pad, logsumexp=tt.logsumexp,
    unfold=ttm.unfold_windows, fold=_tt_fold, f32="float32", f64="float64", rsqrt=tt.rsqrt)
TORCH = types.SimpleNamespace(
    tensor=torch.from_numpy, cat=torch.cat, stack=torch.stack, where=torch.where,
    maximum=torch.maximum, minimum=torch.minimum, matmul=torch.matmul, clamp=torch.clamp, gelu=F.gelu,
    silu=F.silu, softplus=F.softplus, sigmoid=torch.sigmoid, relu=torch.relu, pad=F.pad,
    logsumexp=torch.logsumexp, unfold=_torch_unfold, fold=_torch_fold, f32=torch.float32, f64=torch.float64,
    rsqrt=torch.rsqrt)


# ---------------------------------------------------------------- input makers: (kind, shape or array)

def R(*shape, scale=1.0):
    """Standard normal float64, kept at least 0.05 from zero (away from the kinks of abs, relu, sign)."""
    return ("normal", shape, scale)


def P(*shape):
    """Positive float64 in [0.5, 2)."""
    return ("positive", shape, None)


def I(values):  # noqa: E743
    """A fixed integer (or bool) array, not differentiated."""
    return ("fixed", np.asarray(values), None)


def _draw(spec, rng):
    kind, what, scale = spec
    if kind == "fixed":
        return what
    if kind == "positive":
        return rng.uniform(0.5, 2.0, what)
    x = rng.standard_normal(what) * scale
    return np.where(np.abs(x) < 0.05, np.sign(x + 1e-12) * 0.05 + x, x)


CASES = {}


def case(name, fn, *inputs, tol=1e-7, fd=True):
    """fd=False: a float32 step inside makes finite differences meaningless; torch is the only check."""
    assert name not in CASES, name
    CASES[name] = (fn, inputs, tol, fd)


# ---------------------------------------------------------------- elementwise (broadcasting in every binary)

case("add", lambda m, a, b: a + b, R(3, 4), R(4))
case("add_0d", lambda m, a, b: a + b, R(), R(2, 3))
case("add_scalar", lambda m, a: 2.5 + a, R(3))
case("sub", lambda m, a, b: a - b, R(2, 1, 3), R(4, 1))
case("rsub_scalar", lambda m, a: 1.5 - a, R(3, 2))
case("mul", lambda m, a, b: a * b, R(3, 4), R(3, 1))
case("div", lambda m, a, b: a / b, R(3, 4), P(4))
case("rdiv_scalar", lambda m, b: 2.0 / b, P(2, 3))
case("pow_both", lambda m, a, b: a ** b, P(3, 4), R(3, 4))
case("pow_broadcast", lambda m, a, b: a ** b, P(3, 1), R(4))
case("pow_scalar_exp", lambda m, a: a ** 2.5, P(5))
case("pow_int_exp", lambda m, a: a ** 3, R(5))
case("pow_square", lambda m, a: a ** 2, R(5))
case("pow_scalar_base", lambda m, b: 2.0 ** b, R(5))
case("neg", lambda m, a: -a, R(3, 2))
case("exp", lambda m, a: a.exp(), R(3, 4))
case("exp_0d", lambda m, a: a.exp(), R())
case("log", lambda m, a: a.log(), P(3, 4))
case("sqrt", lambda m, a: a.sqrt(), P(3, 4))
case("rsqrt", lambda m, a: m.rsqrt(a), P(3, 4))
case("reciprocal", lambda m, a: a.reciprocal(), P(3, 4))
case("abs", lambda m, a: a.abs(), R(3, 4))
case("sin", lambda m, a: a.sin(), R(3, 4))
case("cos", lambda m, a: a.cos(), R(3, 4))
case("tanh", lambda m, a: a.tanh(), R(3, 4))
case("sigmoid", lambda m, a: m.sigmoid(a), R(3, 4, scale=3))
case("relu", lambda m, a: m.relu(a), R(3, 4))
case("gelu", lambda m, a: m.gelu(a), R(3, 4, scale=2), tol=1e-6)  # tinytorch's erf is good to 1.2e-7
case("gelu_tanh", lambda m, a: m.gelu(a, approximate="tanh"), R(3, 4, scale=2))
case("silu", lambda m, a: m.silu(a), R(3, 4, scale=2))
case("softplus", lambda m, a: m.softplus(a), R(4, 5, scale=12))  # some past the threshold of 20
case("softplus_beta", lambda m, a: m.softplus(a, beta=2, threshold=5), R(4, 5, scale=3))
case("clamp", lambda m, a: m.clamp(a, -0.5, 0.7), R(4, 5))
case("clamp_min", lambda m, a: m.clamp(a, min=0.1), R(4, 5))
case("clamp_tensor", lambda m, a, lo, hi: m.clamp(a, lo, hi), R(4, 5), R(5, scale=0.3), P(4, 1))
case("maximum", lambda m, a, b: m.maximum(a, b), R(3, 4), R(4))
case("minimum", lambda m, a, b: m.minimum(a, b), R(3, 4), R(3, 1))
case("where", lambda m, c, a, b: m.where(m.tensor(c), a, b), I([[True, False, True, False]] * 3), R(3, 4), R(4))
case("where_scalar", lambda m, c, a: m.where(m.tensor(c), a, 0.5), I([True, False, False]), R(2, 3))
case("cast_f32_roundtrip", lambda m, a: (a.to(m.f32) * 2).to(m.f64), R(3), tol=1e-6, fd=False)

# ---------------------------------------------------------------- reductions

case("sum", lambda m, a: a.sum(), R(3, 4))
case("sum_dim", lambda m, a: a.sum(1), R(3, 4))
case("sum_dims_keepdim", lambda m, a: a.sum((0, 2), keepdim=True), R(2, 3, 4))
case("sum_0d", lambda m, a: a.sum(), R())
case("mean", lambda m, a: a.mean(), R(3, 4))
case("mean_dim", lambda m, a: a.mean(-1, keepdim=True), R(3, 4))
case("max", lambda m, a: a.max(), R(3, 4))
case("max_dim", lambda m, a: a.max(1).values, R(3, 4))
case("max_dim_keepdim", lambda m, a: a.max(0, keepdim=True).values, R(3, 4))
case("amax_dims", lambda m, a: a.amax((0, 2)), R(2, 3, 4))
case("min", lambda m, a: a.min(), R(3, 4))
case("min_dim", lambda m, a: a.min(0).values, R(3, 4))
case("amin", lambda m, a: a.amin(-1), R(3, 4))
case("var", lambda m, a: a.var(), R(3, 4))
case("var_dim", lambda m, a: a.var(1), R(3, 4))
case("var_correction0", lambda m, a: a.var(0, correction=0, keepdim=True), R(3, 4))
case("std", lambda m, a: a.std(), R(3, 4))
case("std_dim", lambda m, a: a.std(-1), R(3, 4))
case("logsumexp", lambda m, a: m.logsumexp(a, 1), R(3, 4, scale=3))
case("logsumexp_dims", lambda m, a: m.logsumexp(a, (0, 1)), R(3, 4))
case("softmax", lambda m, a: a.softmax(-1), R(3, 5, scale=2))
case("softmax_dim0", lambda m, a: a.softmax(0), R(3, 5))
case("log_softmax", lambda m, a: a.log_softmax(-1), R(3, 5, scale=2))
case("prod_dim", lambda m, a: a.prod(1), R(3, 4))

# ---------------------------------------------------------------- movement and indexing

case("reshape", lambda m, a: a.reshape(4, 3) * m.tensor(np.arange(12.0).reshape(4, 3)), R(3, 4))
case("view_infer", lambda m, a: a.view(-1, 2), R(2, 3, 2))
case("flatten", lambda m, a: a.flatten(1), R(2, 3, 4))
case("permute", lambda m, a: a.permute(2, 0, 1), R(2, 3, 4))
case("transpose", lambda m, a: a.transpose(0, 2), R(2, 3, 4))
case("T", lambda m, a: a.T, R(3, 4))
case("unsqueeze", lambda m, a: a.unsqueeze(1), R(3, 4))
case("squeeze", lambda m, a: a.squeeze(), R(3, 1, 4, 1))
case("squeeze_dim", lambda m, a: a.squeeze(1), R(3, 1, 4, 1))
case("expand", lambda m, a: a.expand(2, 3, 4), R(3, 1))
case("repeat", lambda m, a: a.repeat(2, 1, 3), R(3, 2))
case("getitem_int", lambda m, a: a[1], R(3, 4))
case("getitem_neg_int", lambda m, a: a[-1, 2], R(3, 4))
case("getitem_slice_steps", lambda m, a: a[1:6:2, ::3], R(7, 8))
case("getitem_step_overshoot", lambda m, a: a[0:5:3], R(7, 2))
case("getitem_none", lambda m, a: a[None, :, None], R(3, 4))
case("getitem_ellipsis", lambda m, a: a[..., 1], R(2, 3, 4))
case("getitem_ellipsis_slice", lambda m, a: a[1, ..., ::2], R(2, 3, 5))
case("getitem_int_tensor", lambda m, a, i: a[m.tensor(i)], R(4, 3), I([2, 0, 2, -1]))
case("getitem_int_tensor_2d", lambda m, a, i: a[:, m.tensor(i)], R(3, 4), I([[0, 3], [3, 3]]))
case("getitem_two_tensors", lambda m, a, i, j: a[m.tensor(i), m.tensor(j)], R(3, 4), I([0, 2, 2]), I([1, 1, 3]))
case("getitem_mixed", lambda m, a, i: a[1:, m.tensor(i), None], R(3, 4, 2), I([3, 0, 0]))
case("cat", lambda m, a, b, c: m.cat([a, b, c], 1), R(2, 3), R(2, 1), R(2, 4))
case("cat_dim0", lambda m, a, b: m.cat([a, b]), R(2, 3), R(4, 3))
case("stack", lambda m, a, b: m.stack([a, b]), R(2, 3), R(2, 3))
case("stack_last", lambda m, a, b, c: m.stack([a, b, c], -1), R(2, 3), R(2, 3), R(2, 3))
case("gather", lambda m, a, i: a.gather(1, m.tensor(i)), R(3, 4), I([[0, 0, 3], [1, 2, 1], [3, 3, 3]]))
case("gather_dim0", lambda m, a, i: a.gather(0, m.tensor(i)), R(3, 2), I([[2, 0], [2, 2], [0, 1], [1, 1]]))
case("scatter_add", lambda m, a, i, s: a.scatter_add(1, m.tensor(i), s), R(3, 4), I([[0, 0, 3], [1, 2, 1], [3, 3, 3]]),
     R(3, 3))
case("index_select", lambda m, a, i: a.index_select(1, m.tensor(i)), R(3, 4), I([3, 0, 3, 1]))
case("flip", lambda m, a: a.flip(0), R(3, 4))
case("flip_dims", lambda m, a: a.flip((0, 2)), R(2, 3, 4))
case("pad", lambda m, a: m.pad(a, (1, 2, 0, 3)), R(2, 3, 4))
case("pad_value_crop", lambda m, a: m.pad(a, (-1, 2, 1, -1), value=0.5), R(3, 4))
case("narrow_split", lambda m, a: a.split(2, 1)[1] * a.narrow(1, 0, 2), R(3, 5))

# ---------------------------------------------------------------- matmul in all its shapes

case("mm", lambda m, a, b: a @ b, R(3, 4), R(4, 5))
case("vec_mat", lambda m, a, b: a @ b, R(4), R(4, 5))
case("mat_vec", lambda m, a, b: a @ b, R(3, 4), R(4))
case("dot", lambda m, a, b: m.matmul(a, b), R(4), R(4))
case("bmm", lambda m, a, b: a @ b, R(2, 3, 4), R(2, 4, 5))
case("batch_mat", lambda m, a, b: a @ b, R(2, 3, 4), R(4, 5))
case("mat_batch", lambda m, a, b: a @ b, R(3, 4), R(2, 4, 5))
case("broadcast_batch", lambda m, a, b: a @ b, R(2, 1, 3, 4), R(3, 4, 2))
case("vec_batch", lambda m, a, b: a @ b, R(4), R(2, 4, 3))
case("batch_vec", lambda m, a, b: a @ b, R(2, 3, 4), R(4))

# ---------------------------------------------------------------- windows (convolution and pooling)

case("unfold", lambda m, a: m.unfold(a, (2, 3), (1, 2), (2, 1)), R(2, 2, 6, 7))
case("unfold_overlap", lambda m, a: m.unfold(a, 3, 1, 1), R(1, 2, 5, 5))
case("fold", lambda m, a: m.fold(a, (2, 3), (1, 2), (2, 1), (6, 7)), R(2, 2, 2, 3, 4, 3))

# ---------------------------------------------------------------- compositions (shared subexpressions)

case("reuse", lambda m, a: (a * a.exp() + a.sin() * a).sum(0), R(3, 4))
case("layernorm", lambda m, a: (a - a.mean(-1, keepdim=True)) / (a.var(-1, keepdim=True, correction=0) + 1e-5).sqrt(),
     R(3, 6))
case("cross_entropy", lambda m, a, y: -a.log_softmax(-1).gather(1, m.tensor(y)).mean(), R(4, 5, scale=2),
     I([[1], [0], [4], [4]]))


# ---------------------------------------------------------------- the checks

def _inputs(name):
    fn, specs, tol, fd = CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return fn, [_draw(s, rng) for s in specs], [s[0] != "fixed" for s in specs], tol


def _tt_args(arrays, diff):
    return [tt.tensor(a, dtype=tt.float64, requires_grad=True) if d else a for a, d in zip(arrays, diff)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    fn, arrays, diff, tol = _inputs(name)
    xs = _tt_args(arrays, diff)
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) if d else a for a, d in zip(arrays, diff)]
    out_t = fn(TORCH, *ts)
    out = fn(TT, *xs)
    assert out.shape == tuple(out_t.shape), (out.shape, out_t.shape)
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=tol, atol=tol)
    cot = np.random.default_rng(1).standard_normal(out.shape)
    want = torch.autograd.grad(out_t, [t for t, d in zip(ts, diff) if d], torch.from_numpy(cot))
    got = tt.grad((out * tt.tensor(cot, dtype=tt.float64)).sum(), [x for x, d in zip(xs, diff) if d])
    for g, w in zip(got, want):
        assert g.dtype == np.float64 and g.shape == tuple(w.shape)
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(n for n in CASES if CASES[n][3]))
def test_matches_finite_differences(name):
    fn, arrays, diff, tol = _inputs(name)
    xs = _tt_args(arrays, diff)
    assert gradcheck(lambda *a: fn(TT, *a), xs, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_gradcheck_catches_a_wrong_vjp(monkeypatch):
    """The checker itself can fail: break sin's VJP and it must notice."""
    import tinytorch.compiler.ops as ops
    broken = ops.OpDef(**{**ops.OPS["sin"].__dict__, "vjp": lambda n, g: (ops.mul(g, n.srcs[0]),)})
    monkeypatch.setitem(ops.OPS, "sin", broken)
    x = tt.tensor(np.linspace(0.1, 1.0, 5), dtype=tt.float64, requires_grad=True)
    with pytest.raises(AssertionError, match="analytic"):
        gradcheck(lambda a: a.sin(), [x])
    assert not gradcheck(lambda a: a.sin(), [x], raise_exception=False)
    nan_vjp = ops.OpDef(**{**ops.OPS["sin"].__dict__, "vjp": lambda n, g: (ops.div(g, ops.like(g, 0.0)),)})
    monkeypatch.setitem(ops.OPS, "sin", nan_vjp)
    with pytest.raises(AssertionError, match="analytic"), np.errstate(all="ignore"):
        gradcheck(lambda a: a.sin() * 0, [x])  # 0 * inf is NaN: a NaN gradient must not pass


def test_case_count():
    assert len(CASES) >= 100


def _tt_grads(name, dtype):
    fn, arrays, diff, _ = _inputs(name)
    xs = [tt.tensor(a, dtype=dtype, requires_grad=True) if d else a for a, d in zip(arrays, diff)]
    out = fn(TT, *xs)
    cot = tt.tensor(np.random.default_rng(1).standard_normal(out.shape), dtype=dtype)
    return [g.numpy() for g in tt.grad((out * cot).sum(), [x for x, d in zip(xs, diff) if d])]


@pytest.mark.parametrize("dtype, tol", [("float32", 1e-4), ("float16", 3e-2)])
def test_every_case_in_lower_precision(dtype, tol):
    """Each gradient keeps its input's dtype and stays close to the float64 one checked above."""
    wrong = []
    with np.errstate(all="ignore"):
        for name in sorted(CASES):
            for lo, hi in zip(_tt_grads(name, dtype), _tt_grads(name, "float64")):
                scale = tol * max(1.0, float(np.abs(hi).max()))
                if lo.dtype != np.dtype(dtype) or not np.allclose(lo.astype(np.float64), hi, rtol=tol, atol=scale):
                    wrong.append(f"{name}: {lo.dtype.name}, max error {float(np.abs(lo - hi).max()):.3g}")
    assert not wrong, wrong


def test_every_case_in_eager_mode():
    """The same table with every op computed as it is built (and VJPs computing only what is needed)."""
    wrong = []
    with tt.eager():
        for name in sorted(CASES):
            try:
                test_matches_torch(name)
            except AssertionError as e:
                wrong.append(f"{name}: {str(e)[:200]}")
    assert not wrong, wrong
