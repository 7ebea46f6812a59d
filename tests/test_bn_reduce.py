"""BatchNorm in two passes, and reductions over leading axes, on the backend under test.

BatchNorm1d/2d training and eval: outputs, gradients (input, weight, bias) and running statistics against
torch, for small batches (N=2) and inputs whose mean dwarfs their spread (mean 1e3, std 1: the variance as
E[x^2] - E[x]^2 of the raw input would lose every digit in float32). The training step's structure: the
statistics, the output, and the two gradient sums each read the input once, with no full-size temporary.
Reductions over leading and middle axes (the kept axis between reduced ones) against NumPy, over random
shapes and axis sets.
"""
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import tinytorch as tt
from tinytorch import nn

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _pair(cls, c, **kw):
    m, tm = getattr(nn, cls)(c, **kw), getattr(torch.nn, cls)(c, **kw)
    if tm.affine:
        with torch.no_grad():
            tm.weight.copy_(torch.linspace(0.5, 1.5, c))
            tm.bias.copy_(torch.linspace(-1, 1, c))
        m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return m, tm


def _step(m, tm, x, dy, tol):
    """One forward+backward on both; outputs and gradients must agree."""
    xt = tt.tensor(x).requires_grad_()
    y = m(xt)
    y.backward(tt.tensor(dy))
    tx = torch.from_numpy(x).requires_grad_()
    ty = tm(tx)
    ty.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=tol, atol=tol, err_msg="output")
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol, err_msg="input grad")
    if tm.affine:
        for name in ("weight", "bias"):
            np.testing.assert_allclose(getattr(m, name).grad.numpy(), getattr(tm, name).grad.numpy(),
                                       rtol=tol, atol=tol * math.sqrt(x.size), err_msg=f"{name} grad")
    m.zero_grad()
    tm.zero_grad()


CASES = [("BatchNorm1d", (2, 3)), ("BatchNorm1d", (16, 7)), ("BatchNorm1d", (2, 4, 5)), ("BatchNorm1d", (6, 3, 9)),
         ("BatchNorm2d", (2, 3, 4, 4)), ("BatchNorm2d", (8, 16, 5, 3)), ("BatchNorm2d", (4, 32, 8, 8))]


@pytest.mark.parametrize("cls,shape", CASES)
@pytest.mark.parametrize("mean", [0.0, 1e3])
def test_batchnorm_against_torch(cls, shape, mean):
    """Three training steps (outputs, gradients, running stats), then eval, against torch."""
    rng = np.random.default_rng(sum(shape))
    m, tm = _pair(cls, shape[1], momentum=0.3)
    for _ in range(3):
        x = (rng.standard_normal(shape) + mean).astype(np.float32)
        _step(m, tm, x, rng.standard_normal(shape).astype(np.float32), 2e-4 if mean == 0 else 2e-3)
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-5, atol=1e-5, err_msg=k)
    m.eval()
    tm.eval()
    x = (rng.standard_normal(shape) + mean).astype(np.float32)
    _step(m, tm, x, rng.standard_normal(shape).astype(np.float32), 1e-4)


@pytest.mark.parametrize("kw", [dict(affine=False), dict(momentum=None), dict(track_running_stats=False)])
def test_batchnorm_options_against_torch(kw):
    rng = np.random.default_rng(1)
    m, tm = _pair("BatchNorm2d", 3, **kw)
    for _ in range(2):
        x = (rng.standard_normal((4, 3, 3, 5)) * 2 + 5).astype(np.float32)
        _step(m, tm, x, rng.standard_normal(x.shape).astype(np.float32), 2e-4)
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-5, atol=1e-5, err_msg=k)


def test_batchnorm_eval_with_a_large_running_mean():
    """Eval subtracts the running mean before scaling, against float64: x * scale - mean * scale (torch's CPU
    form) loses about 3 digits here."""
    rng = np.random.default_rng(4)
    m = nn.BatchNorm2d(4)
    m.load_state_dict({"weight": np.linspace(0.5, 2, 4, dtype=np.float32), "bias": np.full(4, 0.25, np.float32),
                       "running_mean": np.full(4, 1000.25, np.float32), "running_var": np.full(4, 0.5, np.float32),
                       "num_batches_tracked": np.array(1)})
    m.eval()
    x = (rng.standard_normal((3, 4, 5, 5)) + 1000).astype(np.float32)
    want = (x.astype(np.float64) - 1000.25) / np.sqrt(0.5 + 1e-5) * np.linspace(0.5, 2, 4).reshape(1, 4, 1, 1) + 0.25
    np.testing.assert_allclose(m(tt.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-5)


def test_batchnorm_constant_channel_has_zero_variance():
    """A channel with one value everywhere: var 0 (never a negative rounding residue), output = bias."""
    x = np.full((4, 2, 3, 3), 7.25, np.float32)
    x[:, 1] = np.random.default_rng(0).standard_normal((4, 3, 3))
    m, tm = _pair("BatchNorm2d", 2)
    _step(m, tm, x, np.ones_like(x), 1e-4)
    np.testing.assert_allclose(m.running_var.numpy(), tm.running_var.numpy(), rtol=1e-5, atol=1e-6)


def test_batchnorm_step_reads_the_input_in_six_passes():
    """Training forward+backward: sum(d), sum(d*d), the output; sum(dy), sum(dy*d), dx. Every other kernel
    is per channel, and no full-size temporary is stored (d = x - shift and the rest are recomputed)."""
    shape = (4, 8, 6, 6)
    x = tt.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32)).requires_grad_()
    bn = nn.BatchNorm2d(8)
    y = bn(x)
    y.backward(tt.tensor(np.ones(shape, np.float32)))
    prog = tt.plan(y, x.grad, bn.weight.grad, bn.bias.grad, bn.running_mean, bn.running_var)
    big = [k for k in prog.kernels if max(k.bytes_read, k.bytes_written) >= x.numpy().nbytes]
    assert len(big) == 6, [k.summary() for k in prog.kernels]
    assert sum(k.op_names.count("sum") for k in big) == 4
    assert prog.memory_plan.peak_bytes < x.numpy().nbytes


def test_recompute_matches_stored():
    """A value read by several kernels, recomputed in each, equals the same graph with fusion off."""
    a = np.random.default_rng(2).standard_normal((5, 6, 7)).astype(np.float32)

    def graph():
        x = tt.tensor(a)
        d = x - x[:1, :, :1]
        return [d.sum((0, 2)), (d * d).max((0, 2)), (d * 3).relu(), (d.exp() + d).sum(1)]
    got = [t.numpy() for t in graph()]
    with tt.disable_passes("fuse"):
        want = [t.numpy() for t in graph()]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


@st.composite
def shape_and_axes(draw):
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=1, max_size=4)))
    axes = draw(st.sampled_from([a for r in range(1, len(shape) + 1) for a in itertools.combinations(range(len(shape)), r)]))
    return shape, axes


@SETTINGS
@given(case=shape_and_axes(), op=st.sampled_from(["sum", "max"]), seed=st.integers(0, 2 ** 16))
def test_reduction_over_any_axes_matches_numpy(case, op, seed):
    shape, axes = case
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    x = tt.tensor(a)
    got = getattr(x * x + x, op)(axes, keepdim=True).numpy()
    want = getattr(np, op)(a * a + a, axis=axes, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,axes", [((128, 64, 16, 16), (0, 2, 3)), ((64, 512), (0,)), ((33, 5, 17), (0, 2)),
                                        ((7, 300, 3), (0, 1)), ((2, 3, 2048), (0, 1))])
def test_leading_axis_reduction_matches_numpy(shape, axes):
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    got = tt.tensor(a).sum(axes).numpy()
    want = a.astype(np.float64).sum(axes)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
