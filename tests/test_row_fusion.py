"""Row fusion (compiler/passes/rowfuse.py): softmax, log_softmax, layernorm, rmsnorm and cross-entropy graphs
fuse into the kernel counts written here by hand, and equal the same graphs compiled without row fusion, on
both backends."""
import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn.functional as F

BACKENDS = ["numpy", "llvm"]
TOL = {"float32": 2e-5, "float64": 1e-10}


def run(backend, graph, rows=True):
    """graph()'s outputs realized on `backend` (row fusion on or off) and the number of kernels."""
    off = () if rows else ("rowfuse",)
    with tt.using_backend(backend), tt.disable_passes(*off):
        outs = graph()
        prog = tt.plan(*outs)
        tt.realize(*outs)
        assert all(low.backend == backend for low in prog.lowered)
        return [o.numpy() for o in outs], prog.kernels


def check(graph, fused, unfused, backend):
    got, kernels = run(backend, graph)
    want, plain = run(backend, graph, rows=False)
    assert (len(kernels), len(plain)) == (fused, unfused), [k.summary() for k in kernels]
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        t = TOL[w.dtype.name]
        np.testing.assert_allclose(g, w, rtol=t, atol=t)
    return kernels


def data(*shape, dtype=np.float32, seed=0):
    return tt.tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(64, 300), (300, 257), (3, 5, 40)])  # (300, 257): NumPy runs it in blocks
def test_softmax_is_one_kernel(backend, shape):
    # unfused: max | sub+exp | sum | div
    (k,) = check(lambda: [data(*shape).softmax(-1)], 1, 4, backend)
    assert k.row_axes == (len(shape) - 1,) and k.op_names.count("exp") == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_softmax_float64_and_inf(backend):
    def graph():
        x = np.random.default_rng(1).standard_normal((17, 33))
        x[3] = -np.inf  # a row of -inf: max is -inf, x - max is NaN, as unfused
        x[4, 5] = np.inf
        return [tt.tensor(x).softmax(-1)]
    with np.errstate(all="ignore"):
        got, kernels = run(backend, graph)
        want, _ = run(backend, graph, rows=False)
    assert len(kernels) == 1
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_log_softmax_and_logsumexp(backend):
    # log_softmax unfused: max+abs+cmpeq+where | sub+exp+sum+log+add | sub
    check(lambda: [data(40, 77).log_softmax(-1)], 1, 3, backend)
    # logsumexp (the root has the reduced shape) unfused: max+abs+cmpeq+where | sub+exp+sum+log+add
    (k,) = check(lambda: [data(40, 77).logsumexp(-1, keepdim=True)], 1, 2, backend)
    assert k.shape == (40, 1)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape,normalized", [((300, 257), 257), ((4, 6, 48), 48), ((4, 6, 48), (6, 48))])
def test_layernorm_with_affine_is_one_kernel(backend, shape, normalized):
    def graph():
        w = data(*shape[-(1 if isinstance(normalized, int) else 2):], seed=1)
        b = data(*w.shape, seed=2)
        return [F.layer_norm(data(*shape), normalized, w, b)]
    # unfused: sum+mul (mean) | sub+mul+sum+mul+add+sqrt+recip (rstd) | sub+mul+mul+add (x - mean recomputed)
    (k,) = check(graph, 1, 3, backend)
    assert k.op_names.count("sum") == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_rmsnorm_is_one_kernel(backend):
    def graph():
        x, w = data(50, 96), data(96, seed=1)
        return [x * (x * x).mean(-1, keepdim=True).add(1e-6).rsqrt() * w]
    check(graph, 1, 2, backend)  # unfused: mul+sum+mul+add+sqrt+recip | mul+mul


@pytest.mark.parametrize("backend", BACKENDS)
def test_cross_entropy_forward_and_backward(backend):
    def graph():
        x = data(16, 10)
        x.requires_grad_()
        t = tt.tensor(np.random.default_rng(3).integers(0, 10, 16))
        loss = F.cross_entropy(x, t)
        (g,) = tt.autograd.grad(loss, [x])
        return [loss, g]
    # 14 kernels unfused (the ignore_index mask and its cast are recomputed by each reader, not stored). The
    # forward's max, sum(exp) and log_softmax are each read by the backward too (and log_softmax by a
    # gather), so they stay kernels of their own; the backward's row reduction (neg+sum+div) merges with the
    # ops that read it back (mul+add): 13.
    check(graph, 13, 14, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_softmax_backward(backend):
    def graph():
        x, c = data(32, 70), data(32, 70, seed=1)
        x.requires_grad_()
        y = x.softmax(-1)
        (g,) = tt.autograd.grad((y * c).sum(), [x])
        return [y, g]
    # e = exp(x - max) and s = sum(e) are read by the backward too, so each is materialized once:
    # max+sub+exp | sum | div (y) | the whole gradient as one row kernel (its sum read back over the row).
    (*_, grad) = check(graph, 4, 6, backend)
    assert grad.row_axes == (1,)


@pytest.mark.parametrize("backend", BACKENDS)
def test_what_does_not_row_fuse(backend):
    # a reduction over a leading axis: softmax over dim 0 keeps its four kernels
    check(lambda: [data(30, 20).softmax(0)], 4, 4, backend)
    # the reduced value is an output too: it is materialized by its own kernel
    def graph():
        x = data(30, 20)
        m = x.amax(-1, keepdim=True)
        return [m, (x - m).exp()]
    check(graph, 2, 2, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_costly_value_read_by_two_reductions_and_the_output(backend):
    # llvm stores exp(x) into the output row in the first loop and reads it back in the later ones
    def graph():
        x = data(40, 300)
        e = x.exp()
        return [e / e.sum(-1, keepdim=True) * (e * x).sum(-1, keepdim=True)]
    (k,) = check(graph, 1, 4, backend)  # unfused: exp | sum | mul+sum | div+mul
    assert k.op_names.count("sum") == 2
