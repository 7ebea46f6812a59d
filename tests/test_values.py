"""Values that must match PyTorch at the edges: relu's gradient at 0, argmax/argmin over NaN, native sin/cos
of huge arguments, finite gradients of saturating activations, and a gradient whose saved input was
overwritten by `assign`. Each runs on both backends (and eagerly where cheap), whatever TINYTORCH_BACKEND says."""
import numpy as np
import pytest
import torch

import tinytorch as tt

MODES = ["numpy", "llvm", "eager"]


@pytest.fixture(params=MODES)
def mode(request):
    if request.param == "eager":
        with tt.using_backend("numpy"), tt.eager(True):
            yield request.param
    else:
        with tt.using_backend(request.param):
            yield request.param


def param(values, dtype="float32"):
    return tt.tensor(np.asarray(values, dtype), requires_grad=True)


def torch_grad(fn, values, dtype=torch.float32):
    x = torch.tensor(np.asarray(values), dtype=dtype, requires_grad=True)
    fn(x).sum().backward()
    return x.grad.numpy()


# ---------------------------------------------------------------- relu

def test_relu_gradient_at_zero_is_zero(mode):
    vals = [-2.0, -0.0, 0.0, 1e-30, 3.0]
    x = param(vals)
    y = x.relu()
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), torch.tensor(vals).relu().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), torch_grad(torch.relu, vals))


def test_relu_stays_one_kernel():
    with tt.using_backend("llvm"):
        x = tt.randn(64, 64).realize()
        assert len(tt.plan(x.relu()).kernels) == 1
        assert len(tt.plan((x.relu() * 2 + 1).sum()).kernels) == 1


# ---------------------------------------------------------------- argmax / argmin with NaN

NAN, INF = float("nan"), float("inf")
ROWS = [
    [1.0, NAN, 3.0, 2.0],        # NaN in the middle, a larger value after it
    [NAN, 5.0, NAN, -1.0],       # NaN first and again later: the first one
    [3.0, 1.0, 2.0, NAN],        # NaN last
    [NAN, NAN, NAN, NAN],        # all NaN
    [2.0, 7.0, 7.0, -7.0],       # tie for the max: the first index
    [-7.0, 2.0, -7.0, 2.0],      # tie for the min
    [-INF, INF, 0.0, INF],       # +inf ties
    [-INF, -INF, -INF, -INF],    # all -inf
    [INF, -INF, NAN, -INF],      # inf before a NaN: NaN still wins
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_argmax_argmin_with_nan_match_torch(mode, dtype):
    data = np.asarray(ROWS, dtype)
    x, xt = tt.tensor(data), torch.tensor(data)
    for ours, theirs in ((x.argmax(1), xt.argmax(1)), (x.argmin(1), xt.argmin(1)),
                         (x.T.argmax(0), xt.T.argmax(0)), (x.max(1).indices, xt.max(1).indices),
                         (x.min(1).indices, xt.min(1).indices), (x.argmax(), xt.argmax()),
                         (x.argmin(), xt.argmin())):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_argmax_of_int_rows_unchanged(mode):
    data = np.array([[3, 9, 9, 1], [-5, -5, 2, 2]], np.int64)
    np.testing.assert_array_equal(tt.tensor(data).argmax(1).numpy(), torch.tensor(data).argmax(1).numpy())
    np.testing.assert_array_equal(tt.tensor(data).argmin(1).numpy(), torch.tensor(data).argmin(1).numpy())


# ---------------------------------------------------------------- native sin/cos of huge arguments

def test_two_over_pi_pieces_are_the_bits_of_two_over_pi():
    mpmath = pytest.importorskip("mpmath")
    from tinytorch.compiler.llvm import mathfns
    mpmath.mp.prec = 300
    bits = int(mpmath.floor(2 / mpmath.pi * mpmath.mpf(2) ** 174))
    assert sum(k << (29 * (5 - i)) for i, k in enumerate(mathfns.TWO_OVER_PI_29)) == bits


@pytest.mark.parametrize("fn", ["sin", "cos"])
def test_llvm_sin_cos_of_any_float32(fn):
    x = np.geomspace(1e-30, 3.4e38, 20001).astype(np.float32)
    x = np.concatenate([x, -x, np.float32([1e18, 1e20, 1e25, 3.4028235e38, 0.0])])
    with tt.using_backend("llvm"):
        got = getattr(tt.tensor(x), fn)().numpy()
    want = getattr(np, fn)(x.astype(np.float64))
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("fn", ["sin", "cos"])
def test_llvm_sin_cos_float64(fn, rng):
    x = np.concatenate([rng.uniform(-1e5, 1e5, 20000), np.geomspace(1e5, 1e38, 2000), [1e18, 1e20, 1e25]])
    x = np.concatenate([x, -x])
    with tt.using_backend("llvm"):
        got = getattr(tt.tensor(x), fn)().numpy()
    np.testing.assert_allclose(got, getattr(np, fn)(x), rtol=0, atol=1e-7)
    with tt.using_backend("llvm"):  # beyond float32's range: NaN, never a value out of [-1, 1]
        far = getattr(tt.tensor(np.array([1e39, -1e300])), fn)().numpy()
    assert np.all(np.isnan(far) | (np.abs(far) <= 1))


# ---------------------------------------------------------------- finite gradients at the extremes

EXTREMES = [-1e4, -1000.0, -100.0, -30.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 30.0, 100.0, 1000.0, 1e4]
ACTIVATIONS = {
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid),
    "silu": (lambda x: x.silu(), torch.nn.functional.silu),
    "softplus": (lambda x: x.softplus(), torch.nn.functional.softplus),
    "tanh": (lambda x: x.tanh(), torch.tanh),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_gradients_finite_at_extremes(mode, name, dtype):
    ours, theirs = ACTIVATIONS[name]
    x = param(EXTREMES, dtype)
    y = ours(x)
    y.sum().backward()
    xt = torch.tensor(np.asarray(EXTREMES, dtype), requires_grad=True)
    yt = theirs(xt)
    yt.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy())), x.grad.numpy()
    tol = dict(rtol=1e-5, atol=1e-12) if dtype == "float32" else dict(rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), **tol)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=tol["rtol"], atol=1e-12)


def test_sigmoid_at_minus_1000_has_gradient_zero(mode):
    x = param([-1000.0])
    x.sigmoid().sum().backward()
    assert x.grad.numpy()[0] == 0.0


# ---------------------------------------------------------------- assign between forward and backward

def test_backward_after_assign_of_a_saved_leaf_raises(mode):
    w = param(np.ones((3, 4)))
    x = tt.tensor(np.ones((2, 3), np.float32))
    loss = (x @ w).sum()
    with tt.no_grad():
        w.assign(w - 1)
    with pytest.raises(RuntimeError, match=r"float32\[3, 4\] tensor that `matmul` saved .* overwritten by assign"):
        loss.backward()
    with pytest.raises(RuntimeError, match=r"float32\[3, 4\] .* overwritten by assign"):
        tt.grad(loss, [w])


def test_backward_after_assign_of_saved_data_raises(mode):
    a = param([1.0, 2.0, 3.0])
    s = tt.tensor(np.full(3, 2.0, np.float32))
    loss = (a * s).sum()
    s.assign(s * 0 + 5)
    with pytest.raises(RuntimeError, match=r"float32\[3\] tensor that `mul` saved"):
        loss.backward()


def test_assign_not_read_by_the_gradient_is_fine(mode):
    a = param([1.0, 2.0, 3.0])
    s = tt.tensor(np.full(3, 2.0, np.float32))
    loss = (a + s).sum()  # add's gradient reads neither operand
    s.assign(s * 0 + 5)
    loss.backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0, 1.0])


def test_training_loop_with_step_after_backward_unaffected(mode):
    w = param(np.ones((3, 2)))
    opt = tt.optim.SGD([w], lr=0.1)
    x = tt.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    for _ in range(3):
        opt.zero_grad()
        loss = ((x @ w) ** 2).mean()
        loss.backward()
        opt.step()
    wt = torch.ones(3, 2, requires_grad=True)
    optt = torch.optim.SGD([wt], lr=0.1)
    xt = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    for _ in range(3):
        optt.zero_grad()
        ((xt @ wt) ** 2).mean().backward()
        optt.step()
    np.testing.assert_allclose(w.numpy(), wt.detach().numpy(), rtol=1e-5)
