"""The convolution ops (compiler/ops/conv.py): forward and both gradients against torch over many argument
combinations, on whichever backend the suite runs; their tiling and thread split (tiles forced small); second
order gradients; finite differences; the shape rules' errors; and that no im2col matrix is kept in the arena."""
import threading

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch import compiler as C
from tinytorch.autograd import gradcheck
from tinytorch.compiler.ops import conv as conv_ops
from tinytorch.runtime import blas
from tinytorch.tensor_base import op_result

TF = torch.nn.functional

# (N, C, H, W, O, kernel, stride, padding, dilation)
CASES = [
    (2, 3, 9, 7, 4, 3, 1, 1, 1),
    (1, 1, 5, 5, 2, 1, 1, 0, 1),          # 1x1: the input is the window matrix
    (3, 2, 11, 10, 5, (3, 2), (2, 1), (1, 2), (1, 2)),
    (2, 3, 8, 8, 4, 1, 2, 0, 1),          # 1x1 with a stride: a window copy after all
    (1, 3, 6, 9, 2, (2, 4), 3, 0, 1),     # stride > kernel: pixels no window covers get no gradient
    (2, 4, 7, 8, 3, 3, 1, "same", 2),
    (1, 1, 4, 4, 1, 4, 1, 0, 1),          # the window is the whole image
    (5, 2, 5, 6, 3, 2, 2, 1, 1),
    # at least MIN_GEMM_ROWS channels: a GEMM per image, and at stride 1 the input gradient as a convolution
    (2, 16, 6, 5, 16, 3, 1, 1, 1),
    (3, 17, 5, 6, 20, (2, 3), 1, (1, 2), (2, 1)),
    (1, 16, 4, 4, 16, 1, 1, 1, 1),        # padding wider than the window: the input gradient adds windows back
    (2, 16, 7, 7, 16, 3, 2, 1, 1),
]


def _run(case, dtype=np.float32, bias=False, seed=0):
    N, Cin, H, W, O, k, s, p, d = case
    k2 = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, Cin, H, W)).astype(dtype)
    w = rng.standard_normal((O, Cin) + k2).astype(dtype)
    b = rng.standard_normal(O).astype(dtype) if bias else None
    tx, tw = tt.tensor(x, requires_grad=True), tt.tensor(w, requires_grad=True)
    tb = tt.tensor(b, requires_grad=True) if bias else None
    y = F.conv2d(tx, tw, tb, stride=s, padding=p, dilation=d)
    X, Wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    B = torch.tensor(b, requires_grad=True) if bias else None
    Y = TF.conv2d(X, Wt, B, stride=s, padding=p, dilation=d)
    g = rng.standard_normal(tuple(Y.shape)).astype(dtype)
    (y * tt.tensor(g)).sum().backward()
    (Y * torch.from_numpy(g)).sum().backward()
    pairs = [(y, Y), (tx.grad, X.grad), (tw.grad, Wt.grad)] + ([(tb.grad, B.grad)] if bias else [])
    return [(a.numpy(), e.detach().numpy()) for a, e in pairs]


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_forward_and_both_gradients_match_torch(case):
    for got, want in _run(case, bias=case[0] % 2 == 1):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", [(7, 16, 6, 5, 16, 3, 1, 1, 1), (7, 3, 6, 5, 4, 3, 2, 1, 1)])
def test_many_tiles_split_across_threads_match_one_tile(monkeypatch, case):
    """Tiles of one image (so an odd batch leaves a short last tile), split over 3 threads."""
    one = _run(case, seed=3)
    tt.clear_cache()
    monkeypatch.setattr(conv_ops, "TILE_BYTES", 1)
    monkeypatch.setenv("TINYTORCH_NUM_THREADS", "3")
    many = _run(case, seed=3)
    for (a, want), (b, _) in zip(one, many):
        np.testing.assert_allclose(b, want, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_float64_and_double_backward_match_torch():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((3, 2, 3, 2))
    tx, tw = tt.tensor(x, requires_grad=True), tt.tensor(w, requires_grad=True)
    X, Wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    y = F.conv2d(tx, tw, stride=(1, 2), padding=1)
    Y = TF.conv2d(X, Wt, stride=(1, 2), padding=1)
    gx, gw = tt.grad((y * y).sum(), [tx, tw], create_graph=True)
    GX, GW = torch.autograd.grad((Y * Y).sum(), [X, Wt], create_graph=True)
    np.testing.assert_allclose(gx.numpy(), GX.detach().numpy(), rtol=1e-10, atol=1e-10)
    second = tt.grad((gx * gx).sum() + (gw * gw).sum(), [tx, tw])
    want = torch.autograd.grad((GX * GX).sum() + (GW * GW).sum(), [X, Wt])
    for a, e in zip(second, want):
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("op", ["conv2d", "conv2d_dx", "conv2d_dw"])
def test_each_op_gradients_match_finite_differences(op):
    """Each op's VJP (the other two ops) against central differences, float64."""
    rng = np.random.default_rng(2)
    arg = ((1, 0, 0, 1), (2, 1), (1, 1))
    x, w, g = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 2, 3)), rng.standard_normal((2, 3, 3, 3))
    srcs, full = {"conv2d": ((x, w), arg), "conv2d_dx": ((g, w), arg + ((5, 4),)),
                  "conv2d_dw": ((x, g), arg + ((2, 3),))}[op]
    a, b = (tt.tensor(v, requires_grad=True) for v in srcs)
    assert gradcheck(lambda p, q: op_result(op, (p, q), arg=full), [a, b])


def test_gradcheck_through_the_frontend_with_bias():
    rng = np.random.default_rng(4)
    x, w, b = (tt.tensor(rng.standard_normal(s), requires_grad=True) for s in [(1, 3, 4, 5), (2, 3, 3, 3), (2,)])
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=(1, 2), dilation=(1, 2)), [x, w, b])


def test_shape_rules_name_the_op_and_the_shapes():
    x, w, g = (C.leaf(np.zeros(s, np.float32)) for s in [(2, 3, 5, 5), (4, 3, 3, 3), (2, 4, 3, 3)])
    arg = ((0, 0, 0, 0), (1, 1), (1, 1))
    with pytest.raises(ValueError, match=r"conv2d: cannot convolve \(2, 3, 5, 5\) and \(4, 2, 3, 3\)"):
        C.build("conv2d", x, C.leaf(np.zeros((4, 2, 3, 3), np.float32)), arg=arg)
    with pytest.raises(ValueError, match="conv2d: a 3x3 window does not fit"):
        C.build("conv2d", C.leaf(np.zeros((1, 3, 2, 2), np.float32)), w, arg=arg)
    with pytest.raises(TypeError, match="conv2d: operands must share a numeric dtype"):
        C.build("conv2d", x, C.leaf(np.zeros((4, 3, 3, 3), np.float64)), arg=arg)
    with pytest.raises(ValueError, match=r"conv2d_dx: .*\(2, 4, 3, 3\) and \(4, 3, 3, 3\).* 6x5 input"):
        C.build("conv2d_dx", g, w, arg=arg + ((6, 5),))
    with pytest.raises(ValueError, match=r"conv2d_dw: .* 2x2 window"):
        C.build("conv2d_dw", x, g, arg=arg + ((2, 2),))
    assert C.build("conv2d_dx", g, w, arg=arg + ((5, 5),)).shape == (2, 3, 5, 5)
    assert C.build("conv2d_dw", x, g, arg=arg + ((3, 3),)).shape == (4, 3, 3, 3)


def test_frontend_errors_point_at_the_argument():
    x = tt.tensor(np.zeros((1, 3, 5, 5), np.float32))
    with pytest.raises(ValueError, match="conv2d: stride must be >= 1"):
        F.conv2d(x, tt.tensor(np.zeros((2, 3, 3, 3), np.float32)), stride=0)
    with pytest.raises(ValueError, match="conv2d: a 7x7 window .* does not fit the padded input of size 7x7"):
        F.conv2d(x, tt.tensor(np.zeros((2, 3, 7, 7), np.float32)), padding=1, dilation=2)


def test_a_training_step_keeps_no_im2col_matrix():
    """The arena of a conv's forward + backward holds activations and gradients, not the window matrix
    (N*oh*ow rows of C*kh*kw: 9x the input here), which unfold + matmul kept alive until the backward."""
    N, Cin, H = 8, 16, 16
    x = tt.tensor(np.random.default_rng(0).standard_normal((N, Cin, H, H)).astype(np.float32))
    w = tt.tensor(np.random.default_rng(1).standard_normal((16, Cin, 3, 3)).astype(np.float32), requires_grad=True)
    loss = F.conv2d(x, w, padding=1).relu().sum()
    loss.backward()
    prog = tt.plan(w.grad)
    im2col = N * H * H * Cin * 9 * 4
    assert prog.memory_plan.peak_bytes < im2col / 2, prog.memory_plan.peak_bytes
    assert sum(k.ops[-1].info.op in ("conv2d", "conv2d_dx", "conv2d_dw") for k in prog.kernels) == 2


def _blas_threads():
    return [p["num_threads"] for p in threadpool_info() if p["internal_api"] == "openblas"]


@pytest.mark.skipif(not blas.available(), reason="NumPy's BLAS is not an OpenBLAS we can set")
def test_blas_threads_are_restored_after_convolutions_in_two_threads(monkeypatch):
    """The routines set BLAS to one thread while they split tiles over ours; two threads' convolutions
    overlapping must leave the user's setting as it was."""
    monkeypatch.setattr(conv_ops, "TILE_BYTES", 1)
    monkeypatch.setenv("TINYTORCH_NUM_THREADS", "2")
    with threadpool_limits(3, user_api="blas"):
        errors = []

        def work(seed):
            try:
                for _ in range(3):
                    _run((6, 16, 6, 5, 16, 3, 1, 1, 1), seed=seed)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
        threads = [threading.Thread(target=work, args=(s,)) for s in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert _blas_threads() and set(_blas_threads()) == {3}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k_major", [False, True])
def test_native_window_copy_matches_numpy(dtype, k_major):
    """The native im2col the llvm backend passes to the routines, against NumPy's strided copy: padding on
    uneven sides, strides, dilation, windows hanging over every border, an input with odd strides."""
    from tinytorch.compiler.llvm import im2col
    copy = im2col.copier(dtype)
    rng = np.random.default_rng(6)
    for m, Cin, H, W, kh, kw, s, p, d in [(2, 3, 7, 6, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)),
                                          (3, 2, 11, 10, 3, 2, (2, 1), (1, 1, 2, 2), (1, 2)),
                                          (1, 2, 5, 5, 5, 5, (1, 1), (0, 0, 0, 0), (1, 1)),
                                          (2, 1, 6, 9, 2, 4, (3, 3), (0, 1, 2, 0), (1, 1)),
                                          (2, 2, 4, 4, 1, 1, (1, 1), (3, 3, 3, 3), (1, 1))]:
        x = rng.standard_normal((m + 1, Cin + 2, H, W)).astype(dtype)[1:, 1:-1]  # an offset, strided view
        arg = (p, s, d)
        oh = (H + p[0] + p[1] - d[0] * (kh - 1) - 1) // s[0] + 1
        ow = (W + p[2] + p[3] - d[1] * (kw - 1) - 1) // s[1] + 1
        want = conv_ops._im2col(x, (kh, kw), (oh, ow), arg, m, k_major=k_major).copy()
        got = np.full(want.size, np.nan, dtype)
        copy(got, x, (kh, kw), (oh, ow), arg, k_major)
        np.testing.assert_array_equal(got.reshape(want.shape), want)
    assert im2col.copier(np.int64) is None


def test_scratch_shared_by_layers_of_other_geometries_starts_clean():
    """The routines' scratch is one buffer per role for all layers: a wider padding, then a narrower one on
    a same-sized tile, must not read the first layer's values where the second expects its zero border."""
    rng = np.random.default_rng(7)
    for pad, k in [(2, 5), (1, 3), (0, 1), (3, 3)]:
        x = (rng.standard_normal((2, 3, 6, 6)) + 5).astype(np.float32)
        w = rng.standard_normal((16, 3, k, k)).astype(np.float32)
        got = F.conv2d(tt.tensor(x), tt.tensor(w), padding=pad).numpy()
        want = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=pad).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
