"""The NumPy lowering: one copy of a window matrix, blocked kernels, unrolled small reductions, updates written
straight into their parameter (and never when another input aliases it), all against eager values."""
import numpy as np
import pytest

import tinytorch as tt
from tinytorch.compiler import ops
from tinytorch.compiler.queries import array_of as value
from tinytorch.compiler.realizer import realize as realize_nodes
from tinytorch.runtime import Buffer

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def numpy_backend():
    with tt.using_backend("numpy"):  # these are the numpy lowering's tests, whatever the suite runs on
        yield


def t(*shape):
    return tt.tensor(RNG.standard_normal(shape).astype(np.float32))


def eager(fn, *arrays):
    with tt.eager():
        return fn(*[tt.tensor(a) for a in arrays]).numpy()


def im2col_step(x, w):
    n, c = x.shape[:2]
    cols = tt.movement.unfold_windows(x, 3).permute(0, 4, 5, 1, 2, 3)
    oh, ow = cols.shape[1:3]
    cols = cols.reshape(n * oh * ow, c * 9)
    y = cols @ w
    return y, cols.T @ y  # the forward matmul and a weight-gradient-like matmul share the window matrix


def test_a_window_matrix_is_copied_once_for_all_its_readers():
    """...in the order that reads image rows (layout.py); both matmuls read it as a strided view."""
    x, w = t(2, 3, 8, 8), t(27, 4)
    y, g = im2col_step(x, w)
    prog = tt.plan(y, g)
    copies = [k for k in prog.kernels if k.op_names == ["copy"] and k.out_kind == "arena"]
    assert len(copies) == 1 and copies[0].shape == (3, 3, 3, 2, 6, 6)  # stored as (C, kh, kw, N, oh, ow)
    assert all(i.view is not None for k in prog.kernels for i in k.inputs)  # every input is a strided view
    ey, eg = (eager(lambda a, b: im2col_step(a, b)[i], x.numpy(), w.numpy()) for i in (0, 1))
    np.testing.assert_allclose(y.numpy(), ey, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(g.numpy(), eg, rtol=1e-4, atol=1e-4)


def test_a_matmul_every_reader_transposes_is_computed_transposed():
    x, g = t(32, 300), t(32, 256)
    grad_w = (x.T @ g).T  # a Linear weight's gradient, (out, in): big enough to be worth it (MIN_TRANSPOSED)
    w = tt.tensor(RNG.standard_normal((256, 300)).astype(np.float32))
    w_before = w.numpy().copy()
    w.assign(w - 0.1 * grad_w)
    prog = tt.plan(grad_w, w)
    (mm,) = [k for k in prog.kernels if "matmul" in k.op_names]
    assert mm.shape == (256, 300)  # g.T @ x: the update and the copy the user gets read it contiguous
    tt.realize(grad_w, w)
    want = (x.numpy().T @ g.numpy()).T
    np.testing.assert_allclose(grad_w.numpy(), want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(w.numpy(), w_before - 0.1 * want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("op", ["sum", "max"])
def test_pooling_reduction_is_unrolled_and_matches(op):
    x = t(64, 6, 28, 28)
    pooled = lambda a: getattr(a.relu().reshape(64, 6, 14, 2, 14, 2), "amax" if op == "max" else "sum")((3, 5))
    y = pooled(x)
    prog = tt.plan(y)
    (low,) = [low for k, low in zip(prog.kernels, prog.lowered) if op in k.op_names]
    assert low.chunk_rows and not any(".reduce(" in line for line in low.code)
    np.testing.assert_allclose(y.numpy(), eager(pooled, x.numpy()), rtol=1e-6, atol=1e-6)


def test_row_reduction_with_big_producers_runs_in_blocks():
    x = t(1024, 512)
    y = ((x * 0.5).exp().sum(-1, keepdim=True) + 1).log()
    (low,) = tt.plan(y).lowered
    assert low.chunk_rows and low.scratch_bytes < x.numpy().nbytes // 4
    np.testing.assert_allclose(y.numpy(), np.log(np.exp(x.numpy() * 0.5).sum(-1, keepdims=True) + 1), rtol=1e-5)


@pytest.mark.parametrize("axis", [0, 1])
def test_sum_of_a_product_is_one_einsum(axis):
    x, b = t(300, 200), t(1, 200)
    y = ((x - 1) * b).sum(axis, keepdim=True) * 2  # the product reads a broadcast row
    assert any("_einsum(" in line for low in tt.plan(y).lowered for line in low.code)
    want = ((x.numpy() - 1) * b.numpy()).sum(axis, keepdims=True) * 2
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-4, atol=1e-4)


def test_einsum_operands_stay_alive_until_the_einsum():
    x = t(4, 4)
    y = x.gelu().sum()  # 0.5 * x * (1 + erf(...)): the einsum reads a value made three ops earlier
    np.testing.assert_allclose(y.numpy(), eager(lambda a: a.gelu().sum(), x.numpy()), rtol=1e-5)


def test_update_is_computed_in_the_parameter():
    w = tt.tensor(RNG.standard_normal((256, 256)).astype(np.float32), requires_grad=True)
    g, lr = t(256, 256), tt.tensor(0.1)
    before = w.numpy().copy()
    w.assign(w.detach() - lr * g)
    prog = tt.plan(w)
    (low,) = prog.lowered
    assert any("computed in the target" in line for line in low.code)
    tt.realize(w)
    np.testing.assert_allclose(w.numpy(), before - 0.1 * g.numpy(), rtol=1e-6)


def test_an_input_aliasing_the_target_through_a_view_is_read_before_it_is_written():
    arr = RNG.standard_normal((300, 300)).astype(np.float32)
    buf = Buffer(arr.copy())
    target, alias = ops.leaf(buf), ops.leaf(buf)  # two graph inputs, one array
    value_ = ops.build("add", ops.build("mul", target, ops.const(2.0, arr.shape, np.float32)),
                       ops.build("permute", alias, arg=(1, 0)))
    node = ops.build("assign", target, value_)
    realize_nodes([node])
    np.testing.assert_allclose(value(node), 2 * arr + arr.T, rtol=1e-6)
    np.testing.assert_allclose(buf.array, 2 * arr + arr.T, rtol=1e-6)
