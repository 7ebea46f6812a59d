"""Fusion groups written out by hand, views that never copy, and the fused kernels' values."""
import numpy as np
import pytest

import tinytorch as tt

RNG = np.random.default_rng(0)


def t(*shape):
    return tt.tensor(RNG.standard_normal(shape).astype(np.float32))


def kernels(*tensors, **kw):
    return [k.op_names for k in tt.plan(*tensors, **kw).kernels]


def test_elementwise_chain_is_one_kernel():
    x = t(64, 64)
    y = x.gelu()
    ks = kernels(y)
    assert len(ks) == 1 and "erf" in ks[0] or "tanh" in ks[0]
    np.testing.assert_allclose(y.numpy(), tt.tensor(x.numpy()).gelu().numpy(), rtol=1e-6)


def test_softmax_groups():
    x = t(8, 16)
    with tt.disable_passes("rowfuse"):  # the node-level rules stop at a reduction read back over its axes
        assert kernels(x.softmax(-1)) == [["max"], ["sub", "exp"], ["sum"], ["div"]]
    assert kernels(x.softmax(-1)) == [["max", "sub", "exp", "sum", "div"]]  # one row kernel


def test_matmul_with_bias_relu_and_residual_is_one_kernel():
    x, w, b, r = t(8, 16), t(16, 4), t(4), t(8, 4)
    y = (x @ w + b).relu() + r
    assert kernels(y) == [["matmul", "add", "maximum", "add"]]
    np.testing.assert_allclose(y.numpy(), np.maximum(x.numpy() @ w.numpy() + b.numpy(), 0) + r.numpy(),
                               rtol=1e-5, atol=1e-6)


def test_reduction_with_producers_and_consumers():
    x = t(8, 16)
    y = ((x * 2).exp().sum(1, keepdim=True) + 1).log()
    assert kernels(y) == [["mul", "exp", "sum", "add", "log"]]


def test_transpose_and_broadcast_are_views_not_kernels():
    x, b = t(16, 8), t(1, 16)
    y = x.T * b
    prog = tt.plan(y)
    assert [k.op_names for k in prog.kernels] == [["mul"]]
    (k,) = prog.kernels
    views = {i.base.shape: i.view for i in k.inputs}
    assert views[(16, 8)].strides == (1, 8)  # transposed: index arithmetic
    assert views[(1, 16)].strides == (0, 1)  # broadcast: stride 0


def test_several_consumers_break_fusion():
    x = t(8, 8)
    e = x.exp()
    a, b = e + 1, e * 2
    assert kernels(a, b) == [["exp"], ["add"], ["mul"]]


def test_reduce_then_broadcast_back_breaks_fusion():
    x = t(8, 8)
    y = x - x.sum(1, keepdim=True)
    with tt.disable_passes("rowfuse"):
        assert kernels(y) == [["sum"], ["sub"]]
    assert kernels(y) == [["sum", "sub"]]  # a row kernel (passes/rowfuse.py)


def test_fuse_off_gives_one_kernel_per_op():
    x = t(8, 8)
    y = (x * 2 + 1).exp()
    with tt.disable_passes("fuse"):
        assert kernels(y) == [["mul"], ["add"], ["exp"]]
        np.testing.assert_allclose(y.numpy(), np.exp(x.numpy() * 2 + 1), rtol=1e-6)


def test_optimizer_update_is_one_kernel_per_parameter():
    w = tt.tensor(RNG.standard_normal((4, 4)).astype(np.float32), requires_grad=True)
    m = tt.zeros(4, 4)
    g = t(4, 4)
    lr = tt.tensor(0.1)
    m.assign(m * 0.9 + g)
    w.assign(w.detach() - lr * (m * 0.9 + g))  # no live tensor holds the new value: nothing else to output
    ks = tt.plan(m, w).kernels
    assert sorted(k.op_names[-1] for k in ks) == ["assign", "assign"]
    assert all(k.out_kind == "target" for k in ks)


def test_big_elementwise_kernel_runs_in_blocks_with_small_scratch():
    x = t(512, 512)
    y = (x * 0.5).tanh() * x + 1
    with tt.using_backend("numpy"):  # blocking is the numpy lowering's
        prog = tt.plan(y)
    (low,) = prog.lowered
    assert low.chunk_rows and low.scratch_bytes < x.numpy().nbytes // 8
    np.testing.assert_allclose(y.numpy(), np.tanh(x.numpy() * 0.5) * x.numpy() + 1, rtol=1e-6, atol=1e-6)


def test_kernel_reports_flops_and_bytes():
    x, w = t(8, 16), t(16, 4)
    prog = tt.plan(x @ w)
    (k,) = prog.kernels
    assert k.flops == 2 * 8 * 16 * 4
    assert k.bytes_read == (8 * 16 + 16 * 4) * 4 and k.bytes_written == 8 * 4 * 4
    assert prog.lowered[0].backend == tt.get_backend()


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_an_output_that_views_a_computed_value_costs_no_kernel(backend):
    x = t(64, 64)
    xa = x.numpy()
    with tt.using_backend(backend):
        total = ((x * 2 + 1).relu() * 3).sum()  # a reduction kept as [1, 1], then reshaped to []
        assert len(tt.plan(total).kernels) == 1
        np.testing.assert_allclose(total.numpy(), (np.maximum(xa * 2 + 1, 0) * 3).sum(), rtol=1e-5)
        flat = (x * 2).reshape(4, 16, 64)
        assert [k.op for k in tt.plan(flat).kernels] == ["mul"]
        np.testing.assert_allclose(flat.numpy(), (xa * 2).reshape(4, 16, 64), rtol=1e-6)
        flipped = (x * 2).T  # copied: the user gets a contiguous array (and a matmul may be stored transposed)
        assert flipped.numpy().flags.c_contiguous


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_outputs_that_share_a_value_or_broadcast_it_are_still_arrays_of_their_own(backend):
    x = t(8, 8)
    with tt.using_backend(backend):
        y = x.exp()
        flat, bcast = y.reshape(64), y.sum(0, keepdim=True).expand(8, 8)
        tt.realize(y, flat, bcast)
        assert not np.shares_memory(y.numpy(), flat.numpy())
        assert bcast.numpy().flags.writeable and bcast.numpy().strides[0] != 0
        np.testing.assert_allclose(flat.numpy(), np.exp(x.numpy()).ravel(), rtol=1e-6)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_split_gradient_sums_its_pads_in_one_kernel(backend):
    """split's gradient is a sum of pads (slice's VJP): the pads join the sum's kernel, on both backends,
    and the gradient equals torch's."""
    torch = pytest.importorskip("torch")
    xn = RNG.standard_normal((3, 5, 12)).astype(np.float32)
    with tt.using_backend(backend):
        x = tt.tensor(xn, requires_grad=True)
        q, k, v = x.split(4, dim=2)
        ((q * k).exp() * v).sum().backward()
        ks = kernels(x.grad)
        got = x.grad.numpy()
    assert [o for o in ks[-1] if o == "pad"] == ["pad"] * 3 and sum("pad" in k for k in ks) == 1
    tx = torch.tensor(xn, requires_grad=True)
    tq, tk, tv = tx.split(4, dim=2)
    ((tq * tk).exp() * tv).sum().backward()
    np.testing.assert_allclose(got, tx.grad.numpy(), rtol=1e-5, atol=1e-6)
