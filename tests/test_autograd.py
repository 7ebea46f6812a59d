"""The autograd engine's behaviour: accumulation, what blocks gradients, grad(), eager against lazy, ties, dtypes.

The per-op gradients themselves are checked in test_gradcheck.py; here each test pins one rule of the engine
against torch.autograd or against a value worked out by hand.

Ties: reductions (max, min, amax, amin, and max(dim).values) split the gradient evenly among the tied
elements, which is torch's rule for amax/amin and for full max()/min(); torch's max(dim) instead sends it all
to the one index it returns. tinytorch's max(dim) has no index-carrying reduction, so it follows amax. The
binary maximum/minimum split a tie in half, as torch does; clamp passes the gradient at its bounds, as torch.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import tinytorch as tt
from tinytorch import compiler as C
from tinytorch.movement import unfold_windows


def param(a, dtype="float64"):
    return tt.tensor(np.asarray(a, dtype=np.float64), dtype=dtype, requires_grad=True)


def torch_param(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


# ---------------------------------------------------------------- accumulation and the engine's entry points

def test_backward_twice_accumulates(rng):
    a = rng.standard_normal((3, 4))
    w, wt = param(a), torch_param(a)
    loss, loss_t = (w.exp() * w).sum(), (wt.exp() * wt).sum()
    loss.backward()
    loss.backward()
    loss_t.backward(retain_graph=True)
    loss_t.backward()
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-12)
    (w * 3).sum().backward()  # a second graph adds to the same .grad
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy() + 3, rtol=1e-12)


def test_grads_are_lazy_nodes_in_the_same_graph(rng):
    w = param(rng.standard_normal(4))
    (w * w).sum().backward()
    assert not w.grad.is_realized and not w.grad.requires_grad
    np.testing.assert_allclose(w.grad.numpy(), 2 * w.numpy())


def test_shared_subexpression_sums_both_paths():
    x = param([1.5, -2.0])
    h = x * x  # used twice: the engine must add both contributions
    (h * h + h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy() ** 3 + 2 * x.numpy())


def test_grad_leaves_dot_grad_alone(rng):
    w = param(rng.standard_normal(3))
    loss = (w.sin() * 2).sum()
    (g,) = tt.grad(loss, [w])
    assert w.grad is None
    np.testing.assert_allclose(g.numpy(), 2 * np.cos(w.numpy()))
    loss.backward()
    before = w.grad.numpy().copy()
    g2 = tt.grad(loss, w)[0]
    np.testing.assert_array_equal(w.grad.numpy(), before)
    np.testing.assert_allclose(g2.numpy(), before)


def test_grad_with_respect_to_an_intermediate(rng):
    w = param(rng.standard_normal(3))
    h = w.exp()
    (gh,) = tt.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.numpy(), 2 * np.exp(w.numpy()))


def test_grad_errors_and_allow_unused(rng):
    w, v = param(rng.standard_normal(3)), param(rng.standard_normal(3))
    loss = (w * 2).sum()
    with pytest.raises(RuntimeError, match="not used"):
        tt.grad(loss, [w, v])
    gw, gv = tt.grad(loss, [w, v], allow_unused=True)
    assert gv is None and np.allclose(gw.numpy(), 2)
    with pytest.raises(RuntimeError, match="does not require grad"):
        tt.grad(loss, [tt.tensor([1.0, 2.0, 3.0])])
    with pytest.raises(RuntimeError, match="does not require grad"):
        tt.grad(tt.tensor([1.0]).sum(), [w])


def test_grad_create_graph_gives_second_derivatives(rng):
    a = rng.standard_normal(4)
    x, xt = param(a), torch_param(a)
    (g,) = tt.grad((x ** 3 * x.sin()).sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad((xt ** 3 * xt.sin()).sum(), xt, create_graph=True)
    (gg,) = tt.grad(g.sum(), x)
    (ggt,) = torch.autograd.grad(gt.sum(), xt)
    np.testing.assert_allclose(gg.numpy(), ggt.numpy(), rtol=1e-12)


def test_non_scalar_backward_needs_gradient(rng):
    a, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    w, wt = param(a), torch_param(a)
    y = w.tanh()
    with pytest.raises(RuntimeError, match="scalar outputs"):
        y.backward()
    with pytest.raises(ValueError, match="does not match"):
        y.backward(gradient=np.ones(3))
    y.backward(gradient=c)
    wt.tanh().backward(gradient=torch.from_numpy(c))
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-12)
    v = param([2.0])
    (v * 3).backward()  # one element, not 0-d: implicit gradient is fine, as in torch
    assert v.grad.shape == (1,) and v.grad.item() == 3


def test_backward_of_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tt.tensor([1.0, 2.0]).sum().backward()


# ---------------------------------------------------------------- what blocks gradients

def test_detach_blocks(rng):
    x = param(rng.standard_normal(4))
    d = x.detach()
    assert not d.requires_grad
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x.numpy())
    y = param(rng.standard_normal(4))
    z = (y * 2).detach()  # detach of an unrealized node
    (z * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * y.numpy())


def test_no_grad_blocks_and_restores():
    w = param([1.0, -2.0, 3.0])
    with tt.no_grad():
        assert not tt.is_grad_enabled()
        frozen = w * 2  # built from a parameter under no_grad: a constant to the loss below
        assert not frozen.requires_grad
    assert tt.is_grad_enabled()
    live = w * 2  # the same expression (the same hash-consed node) outside no_grad still carries gradient
    (frozen * live).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * frozen.numpy())
    with tt.no_grad():
        with pytest.raises(RuntimeError, match="does not require grad"):
            (w * w).sum().backward()
        with tt.enable_grad():
            assert (w * w).requires_grad


def test_requires_grad_false_inputs_get_no_grad(rng):
    x = tt.tensor(rng.standard_normal((2, 3)), dtype="float64")
    w = param(rng.standard_normal((3, 2)))
    (x @ w).sum().backward()
    assert x.grad is None and w.grad is not None
    np.testing.assert_allclose(w.grad.numpy(), x.numpy().sum(0)[:, None].repeat(2, 1))


def test_no_grad_in_eager_mode():
    w = param([1.0, 2.0])
    with tt.eager():
        with tt.no_grad():
            frozen = w.exp()
        (frozen * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.exp(w.numpy()))


# ---------------------------------------------------------------- realized graphs, eager against lazy

def test_realized_loss_can_be_backpropagated(rng):
    a = rng.standard_normal((3, 4))
    w, wt = param(a), torch_param(a)
    h = w.relu() @ w.T
    hv = h.numpy()  # an intermediate realized first
    loss = h.softmax(-1).log().mean()
    value = loss.item()  # and the loss too
    assert loss.is_realized and np.isfinite(hv).all()
    loss.backward()
    lt = (wt.relu() @ wt.T).softmax(-1).log().mean()
    lt.backward()
    assert value == pytest.approx(lt.item(), rel=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-14)


def _model(w1, b1, w2, img, x, labels):
    """A bit of everything: matmul, broadcasting, relu, windows, strided slices, pad, gather, max, softmax."""
    h = (x @ w1 + b1).relu()
    win = unfold_windows(img, 2, 1).amax((-4, -3))  # a max pool over 2x2 windows
    h = h + tt.movement.pad(win.flatten(1)[:, ::2], (0, h.shape[1] - 8))
    logits = h @ w2
    ce = -logits.log_softmax(-1).gather(1, labels).mean()
    return ce + logits.max(1).values.var() * 0.1 + h.std(0).sum() * 0.01


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_eager_matches_lazy(rng, dtype):
    arrays = [rng.standard_normal(s) for s in ((5, 10), (10,), (10, 3), (4, 1, 5, 5), (4, 5))]
    labels = tt.tensor(np.array([[0], [2], [1], [2]]))

    def run():
        params = [param(a, dtype) for a in arrays[:3]]
        data = [tt.tensor(a, dtype=dtype) for a in arrays[3:]]
        loss = _model(*params, *data, labels)
        loss.backward()
        return [loss.numpy()] + [p.grad.numpy() for p in params]

    lazy = run()
    with tt.eager():
        eager = run()
    tol = 1e-12 if dtype == "float64" else 1e-5
    for a, b in zip(lazy, eager):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_eager_model_matches_torch(rng):
    arrays = [rng.standard_normal(s) for s in ((5, 10), (10,), (10, 3), (4, 1, 5, 5), (4, 5))]
    lab = np.array([[0], [2], [1], [2]])
    params = [param(a) for a in arrays[:3]]
    with tt.eager():
        loss = _model(*params, *[tt.tensor(a, dtype="float64") for a in arrays[3:]], tt.tensor(lab))
        loss.backward()
    w1, b1, w2 = [torch_param(a) for a in arrays[:3]]
    img, x = (torch.from_numpy(a) for a in arrays[3:])
    h = (x @ w1 + b1).relu()
    win = F.max_pool2d(img, 2, 1)
    h = h + F.pad(win.flatten(1)[:, ::2], (0, 2))
    logits = h @ w2
    lt = -logits.log_softmax(-1).gather(1, torch.from_numpy(lab)).mean() + logits.amax(1).var() * 0.1 \
        + h.std(0).sum() * 0.01
    lt.backward()
    assert loss.item() == pytest.approx(lt.item(), rel=1e-12)
    for p, t in zip(params, (w1, b1, w2)):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_eager_backward_skips_gradients_nobody_needs(monkeypatch, rng):
    """x @ W with x plain data: backward computes W's gradient only (one matmul forward, one backward)."""
    calls = []
    op = C.OPS["matmul"]
    counting = type(op)(**{**op.__dict__, "numpy": lambda n, a, b: calls.append(1) or np.matmul(a, b)})
    monkeypatch.setitem(C.OPS, "matmul", counting)
    x = tt.tensor(rng.standard_normal((4, 3)), dtype="float64")
    w = param(rng.standard_normal((3, 2)))
    with tt.eager():
        (x @ w).sum().backward()
    assert len(calls) == 2
    np.testing.assert_allclose(w.grad.numpy(), x.numpy().sum(0)[:, None].repeat(2, 1))


def test_eager_grad_does_not_keep_the_graph(rng):
    w = param(rng.standard_normal(3))
    with tt.eager():
        (w.exp() * 2).sum().backward()
    assert w.grad.node.op == "buffer"


# ---------------------------------------------------------------- ties (see the module docstring)

TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, -1.0], [5.0, 1.0, 0.0, 5.0]])


@pytest.mark.parametrize("name, ours, theirs", [
    ("max", lambda x: x.max(), lambda x: x.max()),
    ("min", lambda x: x.min(), lambda x: x.min()),
    ("amax_dim", lambda x: x.amax(1), lambda x: x.amax(1)),
    ("amin_dim", lambda x: x.amin(0), lambda x: x.amin(0)),
    ("amax_dims", lambda x: x.amax((0, 1)), lambda x: x.amax((0, 1))),
    ("max_dim_values", lambda x: x.max(1).values, lambda x: x.amax(1)),  # our choice: amax's rule
    ("min_dim_values", lambda x: x.min(1).values, lambda x: x.amin(1)),
    ("maximum", lambda x: tt.maximum(x, x[:, 1:2]), lambda x: torch.maximum(x, x[:, 1:2])),
    ("minimum", lambda x: tt.minimum(x, x[1:2]), lambda x: torch.minimum(x, x[1:2])),
    ("clamp_at_bounds", lambda x: x.clamp(0.0, 3.0), lambda x: x.clamp(0.0, 3.0)),
    ("clamp_tensor_bounds", lambda x: x.clamp(x[:, 1:2], x[:, 2:3] + 0.5),  # row 2 has min > max
     lambda x: x.clamp(x[:, 1:2], x[:, 2:3] + 0.5)),
])
def test_ties_follow_torch(name, ours, theirs):
    x, xt = param(TIES), torch_param(TIES)
    c = np.arange(1.0, 1.0 + ours(x).numel()).reshape(ours(x).shape)
    (ours(x) * tt.tensor(c, dtype="float64")).sum().backward()
    (theirs(xt) * torch.from_numpy(c)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_relu_at_zero_has_gradient_zero_like_torch():
    """relu's gradient is g * (x > 0): 0 at exactly 0 as torch.relu's, while maximum(x, 0) still splits a tie."""
    x = param([-1.0, 0.0, 2.0])
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0])
    x = param([-1.0, 0.0, 2.0])
    tt.maximum(x, 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.5, 1.0])


# ---------------------------------------------------------------- dtypes, 0-d tensors, edge values

@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_grads_keep_each_inputs_dtype(dtype, rng):
    w = param(rng.standard_normal((3, 4)) * 0.5, dtype)
    v = param(rng.standard_normal(4), "float64")  # mixed: w is promoted, its gradient cast back
    s = param(1.5, dtype)
    loss = ((w.softmax(-1) @ w.T).exp().mean() + (w * v).sum() * s) / s.sqrt()
    loss.backward()
    assert (w.grad.dtype, v.grad.dtype, s.grad.dtype) == (np.dtype(dtype), np.dtype("float64"), np.dtype(dtype))
    assert s.grad.shape == ()
    wt, vt, st = (torch.tensor(np.asarray(p.numpy(), np.float64), requires_grad=True) for p in (w, v, s))
    lt = ((wt.softmax(-1) @ wt.T).exp().mean() + (wt * vt).sum() * st) / st.sqrt()
    lt.backward()
    tol = {"float16": 2e-2, "float32": 1e-5, "float64": 1e-12}[dtype]
    for p, t in ((w, wt), (v, vt), (s, st)):
        np.testing.assert_allclose(p.grad.numpy().astype(np.float64), t.grad.numpy(), rtol=tol, atol=tol)


def test_zero_dim_tensors():
    x = param(0.7)
    y = (x * x).exp().sum()
    y.backward()
    assert x.grad.shape == () and x.grad.item() == pytest.approx(2 * 0.7 * np.exp(0.49))
    z = param(2.0)
    (z.reshape(1, 1).expand(2, 3) * tt.tensor(np.arange(6.0).reshape(2, 3), dtype="float64")).sum().backward()
    assert z.grad.shape == () and z.grad.item() == 15.0


@pytest.mark.parametrize("name, ours, theirs, values", [
    ("pow_zero_exponent_at_zero", lambda x: x ** 0.0, lambda x: x ** 0.0, [0.0, 2.0]),
    ("pow_tensor_exponent_at_zero", lambda x: x ** (x * 0), lambda x: x ** (x * 0), [0.0, 3.0]),
    ("std_of_a_constant", lambda x: x.std(), lambda x: x.std(), [1.0, 1.0, 1.0]),
    ("abs_at_zero", lambda x: x.abs(), lambda x: x.abs(), [0.0, -2.0]),
    ("softmax_with_minus_inf", lambda x: x.softmax(0), lambda x: x.softmax(0), [-np.inf, 1.0, 2.0]),
    ("logsumexp_with_minus_inf", lambda x: tt.logsumexp(x, 0), lambda x: torch.logsumexp(x, 0), [-np.inf, 1.0]),
    ("where_hides_a_nan_branch", lambda x: tt.where(x > 0, x.log(), 0.0), lambda x: torch.where(x > 0, x.log(), 0.0),
     [-1.0, 2.0]),
    ("remainder", lambda x: x % (x * 0 + 0.7) + (x * 0 + 3.1) % x, lambda x: x % (x * 0 + 0.7) + (x * 0 + 3.1) % x,
     [1.3, -2.9, 2.2]),
])
def test_edge_values_match_torch(name, ours, theirs, values):
    x, xt = param(values), torch_param(values)
    with np.errstate(all="ignore"):
        ours(x).sum().backward()
        theirs(xt).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_integer_indices_get_no_gradient(rng):
    x = param(rng.standard_normal((3, 4)))
    idx = tt.tensor(np.array([[0, 1], [3, 3], [2, 0]]))
    x.gather(1, idx).sum().backward()
    assert idx.grad is None and not idx.requires_grad
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1, 0, 0], [0, 0, 0, 2], [1, 0, 1, 0]])
