"""runtime/gemm.py: a matmul split across the runtime's threads equals np.matmul, for every operand layout."""
import numpy as np
import pytest

import tinytorch as tt
from tinytorch.runtime import blas, gemm


def _operands(rng, kind):
    """(a, b) of one of the layouts the compiler hands the runner: contiguous, attention's permuted views of
    one (B, T, 3C) array, a transposed operand, an operand broadcast over the batch (stride 0)."""
    B, H, T, D = 4, 3, 40, 16
    if kind == "2d rows":  # split along the rows of a and out
        return rng.standard_normal((50, 20), np.float32), rng.standard_normal((20, 7), np.float32)
    if kind == "2d columns":  # a weight gradient: xᵀ @ g, split along the columns of b and out
        return rng.standard_normal((60, 9), np.float32).T, rng.standard_normal((60, 33), np.float32)
    if kind == "contiguous":
        return rng.standard_normal((B, H, T, D), np.float32), rng.standard_normal((B, H, D, T), np.float32)
    x = rng.standard_normal((B, T, 3 * H * D), np.float32)
    q = x[..., :H * D].reshape(B, T, H, D).transpose(0, 2, 1, 3)
    k = x[..., H * D:2 * H * D].reshape(B, T, H, D).transpose(0, 2, 1, 3)
    if kind == "permuted":
        return q, k.transpose(0, 1, 3, 2)
    if kind == "transposed":
        return q.transpose(0, 1, 3, 2), k
    w = rng.standard_normal((D, 2 * D), np.float32)
    return q, np.broadcast_to(w, (B, H, D, 2 * D))


@pytest.mark.parametrize("kind", ["contiguous", "permuted", "transposed", "broadcast", "2d rows", "2d columns"])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_split_matmul_equals_numpy(kind, threads, rng, monkeypatch):
    monkeypatch.setenv("TINYTORCH_NUM_THREADS", str(threads))
    monkeypatch.setattr(gemm, "MIN_SPLIT_MACS", 1)  # split even these small products
    splits = []
    real_split = gemm.parallel.split
    monkeypatch.setattr(gemm.parallel, "split", lambda fn, n, t: splits.append(n) or real_split(fn, n, t))
    a, b = _operands(rng, kind)
    want = np.matmul(a, b)
    out = np.full(want.shape, np.nan, np.float32)
    gemm.matmul(a, b, out)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    along = out.shape[1] if kind == "2d columns" else out.shape[0]  # B, or the rows, or the columns
    assert splits == ([along] if threads > 1 and blas.available() else [])


def test_blas_threads_are_restored(monkeypatch, rng):
    if not blas.available():
        pytest.skip("no OpenBLAS thread setter found")
    monkeypatch.setenv("TINYTORCH_NUM_THREADS", "2")
    monkeypatch.setattr(gemm, "MIN_SPLIT_MACS", 1)
    get = blas._FUNCS[0]
    before = get()
    a, b = _operands(rng, "permuted")
    gemm.matmul(a, b, np.empty(a.shape[:-1] + b.shape[-1:], np.float32))
    assert get() == before


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_attention_products_through_a_program(backend, monkeypatch):
    """The batched products of attention, forward and backward, through both backends, split, against torch."""
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("TINYTORCH_NUM_THREADS", "2")
    monkeypatch.setattr(gemm, "MIN_SPLIT_MACS", 1)
    rng = np.random.default_rng(3)
    qn, kn, vn = (rng.standard_normal((2, 3, 9, 4)).astype(np.float32) for _ in range(3))
    with tt.using_backend(backend):
        q, k, v = (tt.tensor(a, requires_grad=True) for a in (qn, kn, vn))
        y = ((q @ k.transpose(-2, -1)).softmax(-1) @ v)
        (y * y).sum().backward()
        got = [y.numpy(), q.grad.numpy(), k.grad.numpy(), v.grad.numpy()]
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (qn, kn, vn))
    ty = (tq @ tk.transpose(-2, -1)).softmax(-1) @ tv
    (ty * ty).sum().backward()
    for g, w in zip(got, [ty.detach(), tq.grad, tk.grad, tv.grad]):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=1e-5)
