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
