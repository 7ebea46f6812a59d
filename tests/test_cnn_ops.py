"""The CNN ops PyTorch users reach for, against torch.nn.functional: values and gradients, batched and unbatched.

conv1d, conv_transpose2d, pad modes, max/avg pooling with ceil_mode and indices, max_unpool2d, adaptive pools,
interpolate, public unfold/fold, the depthwise conv2d path, their modules, and the errors bad arguments give.
Each case draws random inputs, runs the op in TinyTorch and in PyTorch, and compares the output and the
gradient of sum(out * g) (g random) with respect to every floating-point input.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinytorch as tt  # noqa: E402
import tinytorch.nn.functional as F  # noqa: E402
from tinytorch import nn  # noqa: E402

TF = torch.nn.functional


def _arr(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


def check(fn, tfn, *arrays, rng, tol=1e-5):
    """Forward (and any extra integer outputs, exactly) and the input gradients agree with torch."""
    xs = [tt.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    ts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out, tout = fn(*xs), tfn(*ts)
    if isinstance(tout, tuple):
        for o, t in zip(out[1:], tout[1:]):
            np.testing.assert_array_equal(o.numpy(), t.numpy())
        out, tout = out[0], tout[0]
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
    g = _arr(rng, out.shape)
    (out * tt.tensor(g)).sum().backward()
    (tout * torch.from_numpy(g)).sum().backward()
    for x, t in zip(xs, ts):
        if t.requires_grad:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


# ---------------------------------------------------------------- convolutions

@pytest.mark.parametrize("xshape, wshape, kw", [
    ((2, 4, 11), (6, 4, 3), dict(stride=2, padding=1, dilation=2)),
    ((4, 9), (6, 2, 5), dict(padding="same", groups=2)),
    ((3, 4, 10), (5, 4, 3), dict(padding="valid")),
    ((2, 6, 8), (6, 1, 3), dict(padding=2, groups=6)),        # depthwise, through conv2d's depthwise path
])
@pytest.mark.parametrize("bias", [False, True])
def test_conv1d(rng, xshape, wshape, kw, bias):
    arrays = [_arr(rng, xshape), _arr(rng, wshape)] + ([_arr(rng, wshape[:1])] if bias else [])
    check(lambda *a: F.conv1d(*a, **kw), lambda *a: TF.conv1d(*a, **kw), *arrays, rng=rng)


@pytest.mark.parametrize("xshape, wshape, kw", [
    ((2, 4, 5, 7), (4, 3, 3, 2), dict()),
    ((2, 4, 5, 7), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((1, 4, 4, 5), (4, 2, 2, 3), dict(stride=(3, 2), padding=(2, 1), output_padding=(2, 1), dilation=2)),
    ((2, 4, 3, 6), (4, 3, 3, 3), dict(stride=2, groups=2)),
    ((4, 5, 6), (4, 2, 3, 3), dict(stride=1, dilation=3, output_padding=2)),  # unbatched; op < dilation
    ((2, 6, 4, 4), (6, 1, 3, 3), dict(stride=2, padding=1, groups=6, output_padding=1)),
])
def test_conv_transpose2d(rng, xshape, wshape, kw):
    out_channels = wshape[1] * kw.get("groups", 1)
    arrays = [_arr(rng, xshape), _arr(rng, wshape), _arr(rng, (out_channels,))]
    check(lambda *a: F.conv_transpose2d(*a, **kw), lambda *a: TF.conv_transpose2d(*a, **kw), *arrays, rng=rng)


@pytest.mark.parametrize("xshape, wshape, kw", [
    ((2, 4, 9, 8), (4, 1, 3, 3), dict(padding=1)),
    ((3, 7, 6), (6, 1, 3, 2), dict(stride=2, dilation=(1, 2))),   # unbatched, 2 outputs per channel
    ((1, 5, 7, 7), (5, 1, 5, 5), dict(padding="same")),
])
def test_depthwise_conv2d(rng, xshape, wshape, kw):
    groups = xshape[-3]
    arrays = [_arr(rng, xshape), _arr(rng, wshape), _arr(rng, wshape[:1])]
    check(lambda *a: F.conv2d(*a, groups=groups, **kw), lambda *a: TF.conv2d(*a, groups=groups, **kw),
          *arrays, rng=rng)


def test_depthwise_is_one_reduction_without_matmul():
    x = tt.randn(2, 8, 12, 12).realize()
    w = tt.randn(8, 1, 3, 3).realize()
    prog = tt.plan(F.conv2d(x, w, padding=1, groups=8))
    ops = [[o.info.op for o in k.ops] for k in prog.kernels]
    assert not any("matmul" in kops for kops in ops), ops
    assert sum("sum" in kops for kops in ops) == 1, ops  # the product is fused into the reduction


# ---------------------------------------------------------------- padding

@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape, pads", [
    ((3, 5), (2, 1)),                       # 2-d input, last dim
    ((2, 3, 6), (-1, 3)),                   # a negative amount crops
    ((2, 3, 5, 6), (2, 1, 1, 3)),
    ((3, 4, 5), (0, 2, 3, 0)),              # 3-d input, two dims
    ((1, 2, 3, 4, 5), (1, 1, 2, 0, 1, 2)),
])
def test_pad_modes(rng, mode, shape, pads):
    check(lambda x: F.pad(x, pads, mode=mode), lambda x: TF.pad(x, pads, mode=mode), _arr(rng, shape), rng=rng)


def test_pad_constant_value(rng):
    check(lambda x: F.pad(x, (1, 2, 0, 1), value=-2.5), lambda x: TF.pad(x, (1, 2, 0, 1), value=-2.5),
          _arr(rng, (2, 3, 4)), rng=rng)


# ---------------------------------------------------------------- pooling

POOL_CASES = [
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(2, 2), padding=(1, 0), ceil_mode=True),
    dict(kernel_size=2, stride=1),
]


@pytest.mark.parametrize("kw", POOL_CASES + [dict(kernel_size=2, dilation=2, ceil_mode=True)])
@pytest.mark.parametrize("shape", [(2, 3, 8, 9), (3, 7, 7)])
def test_max_pool2d_ceil_mode_and_indices(rng, kw, shape):
    check(lambda x: F.max_pool2d(x, return_indices=True, **kw),
          lambda x: TF.max_pool2d(x, return_indices=True, **kw), _arr(rng, shape), rng=rng)


def test_max_pool2d_indices_pick_the_first_maximum(rng):
    x = rng.integers(0, 3, (2, 2, 6, 7)).astype(np.float32)  # many ties inside every window
    out, idx = F.max_pool2d(tt.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    tout, tidx = TF.max_pool2d(torch.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_array_equal(out.numpy(), tout.numpy())


@pytest.mark.parametrize("kw", POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_ceil_mode(rng, kw, count_include_pad):
    check(lambda x: F.avg_pool2d(x, count_include_pad=count_include_pad, **kw),
          lambda x: TF.avg_pool2d(x, count_include_pad=count_include_pad, **kw), _arr(rng, (2, 3, 8, 9)), rng=rng)


def test_avg_pool2d_divisor_override_with_ceil_mode(rng):
    kw = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=4)
    check(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), _arr(rng, (3, 8, 9)), rng=rng)


@pytest.mark.parametrize("shape, kw, output_size", [
    ((2, 3, 8, 8), dict(kernel_size=2), None),
    ((2, 3, 9, 9), dict(kernel_size=2), (9, 9)),
    ((3, 9, 7), dict(kernel_size=3, stride=3, padding=1), (9, 7)),   # unbatched
])
def test_max_unpool2d(rng, shape, kw, output_size):
    x = torch.tensor(_arr(rng, shape))
    pooled, idx = TF.max_pool2d(x, return_indices=True, **kw)
    check(lambda v, i: F.max_unpool2d(v, i, output_size=output_size, **kw),
          lambda v, i: TF.max_unpool2d(v, i, output_size=output_size, **kw), pooled.numpy(), idx.numpy(), rng=rng)


def test_max_unpool2d_of_max_pool2d_keeps_the_maxima(rng):
    x = tt.tensor(_arr(rng, (2, 3, 6, 8)))
    pooled, idx = F.max_pool2d(x, 2, return_indices=True)
    back = F.max_unpool2d(pooled, idx, 2).numpy()
    expect = np.where(back != 0, x.numpy(), 0)
    np.testing.assert_array_equal(back, expect)
    assert (back != 0).sum() == pooled.numel()


@pytest.mark.parametrize("output_size", [(3, 5), 4, (7, None), 1, (11, 13)])
@pytest.mark.parametrize("op", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_pools(rng, op, output_size):
    check(lambda x: getattr(F, op)(x, output_size), lambda x: getattr(TF, op)(x, output_size),
          _arr(rng, (2, 3, 7, 10)), rng=rng)


def test_adaptive_avg_pool2d_unbatched(rng):
    check(lambda x: F.adaptive_avg_pool2d(x, (2, 3)), lambda x: TF.adaptive_avg_pool2d(x, (2, 3)),
          _arr(rng, (3, 5, 7)), rng=rng)


# ---------------------------------------------------------------- resizing

@pytest.mark.parametrize("shape, kw", [
    ((2, 3, 6, 7), dict(size=(5, 13), mode="nearest")),
    ((2, 3, 6, 7), dict(scale_factor=2.5, mode="nearest")),
    ((1, 2, 5, 6), dict(scale_factor=1.5, mode="nearest-exact")),
    ((2, 3, 6, 7), dict(scale_factor=(0.5, 1.7), mode="bilinear")),
    ((2, 3, 6, 7), dict(size=(9, 4), mode="bilinear")),
    ((2, 3, 6, 7), dict(size=(9, 4), mode="bilinear", align_corners=True)),
    ((1, 2, 4, 5), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((2, 3, 6), dict(scale_factor=2.3, mode="linear")),
    ((2, 3, 6), dict(size=4, mode="linear", align_corners=True)),
    ((2, 3, 6), dict(size=11, mode="nearest")),
])
def test_interpolate(rng, shape, kw):
    check(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), _arr(rng, shape), rng=rng)


# ---------------------------------------------------------------- unfold / fold

@pytest.mark.parametrize("shape, kw", [
    ((2, 3, 7, 8), dict(kernel_size=(2, 3), dilation=2, padding=1, stride=(2, 1))),
    ((3, 5, 5), dict(kernel_size=3)),                                            # unbatched
])
def test_unfold_and_fold(rng, shape, kw):
    x = _arr(rng, shape)
    check(lambda a: F.unfold(a, **kw), lambda a: TF.unfold(a, **kw), x, rng=rng)
    cols = TF.unfold(torch.tensor(x), **kw).numpy()
    check(lambda a: F.fold(a, shape[-2:], **kw), lambda a: TF.fold(a, shape[-2:], **kw), cols, rng=rng)


# ---------------------------------------------------------------- modules

def _copy_params(m, tm):
    with torch.no_grad():
        for p, tp in zip(m.parameters(), tm.parameters()):
            tp.copy_(torch.from_numpy(p.numpy()))


@pytest.mark.parametrize("make, shape", [
    (lambda lib: lib.nn.Conv1d(4, 6, 3, stride=2, padding=1), (2, 4, 9)),
    (lambda lib: lib.nn.Conv1d(4, 4, 3, padding="same", groups=4, bias=False), (4, 9)),
    (lambda lib: lib.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2), (2, 4, 5, 5)),
    (lambda lib: lib.nn.AdaptiveAvgPool2d((3, None)), (2, 3, 7, 6)),
    (lambda lib: lib.nn.AdaptiveMaxPool2d(3), (2, 3, 7, 6)),
    (lambda lib: lib.nn.Upsample(scale_factor=2, mode="bilinear"), (1, 2, 3, 4)),
    (lambda lib: lib.nn.UpsamplingBilinear2d(size=(5, 7)), (1, 2, 3, 4)),
    (lambda lib: lib.nn.UpsamplingNearest2d(scale_factor=3), (1, 2, 3, 4)),
    (lambda lib: lib.nn.Unfold(2, padding=1), (2, 3, 4, 5)),
    (lambda lib: lib.nn.Fold((4, 5), 2), (2, 12, 12)),
    (lambda lib: lib.nn.MaxPool2d(3, 2, ceil_mode=True), (2, 3, 8, 8)),
    (lambda lib: lib.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 3, 8, 8)),
])
def test_modules_match_torch(rng, make, shape):
    m, tm = make(tt), make(torch)
    _copy_params(m, tm)
    assert [tuple(p.shape) for p in m.parameters()] == [tuple(p.shape) for p in tm.parameters()]
    assert repr(m) == repr(tm)
    check(m, tm, _arr(rng, shape), rng=rng)


def test_module_max_pool_indices_feed_max_unpool(rng):
    x = _arr(rng, (2, 3, 6, 6))
    out, idx = nn.MaxPool2d(2, return_indices=True)(tt.tensor(x))
    tout, tidx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(nn.MaxUnpool2d(2)(out, idx).numpy(), torch.nn.MaxUnpool2d(2)(tout, tidx).numpy())


def test_conv_transpose2d_output_size_picks_output_padding(rng):
    m, tm = nn.ConvTranspose2d(2, 3, 3, stride=2), torch.nn.ConvTranspose2d(2, 3, 3, stride=2)
    _copy_params(m, tm)
    x = _arr(rng, (1, 2, 4, 4))
    out, tout = m(tt.tensor(x), output_size=(10, 9)), tm(torch.tensor(x), output_size=(10, 9))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("call, match", [
    (lambda: F.conv1d(tt.randn(2, 3, 4, 5), tt.randn(2, 3, 3)), r"conv1d: expects a \(N, C, L\).*\(2, 3, 4, 5\)"),
    (lambda: F.conv1d(tt.randn(2, 3, 9), tt.randn(2, 4, 3)), r"conv1d: input \(2, 3, 9\) has 3 channels.*\(2, 4, 3\)"),
    (lambda: F.conv_transpose2d(tt.randn(4, 5), tt.randn(4, 3, 3, 3)), r"conv_transpose2d: expects .*\(4, 5\)"),
    (lambda: F.conv_transpose2d(tt.randn(1, 4, 5, 5), tt.randn(4, 3, 3, 3), stride=2, output_padding=2),
     r"conv_transpose2d: output_padding \(2, 2\) must be smaller than either stride \(2, 2\) or dilation"),
    (lambda: F.conv_transpose2d(tt.randn(1, 3, 5, 5), tt.randn(4, 3, 3, 3)),
     r"conv_transpose2d: input \(1, 3, 5, 5\) has 3 channels but weight \(4, 3, 3, 3\)"),
    (lambda: F.max_unpool2d(tt.randn(2, 3, 4, 4), tt.zeros(2, 3, 4, 5, dtype=tt.int64), 2),
     r"max_unpool2d: indices \(2, 3, 4, 5\) must have the shape of the input \(2, 3, 4, 4\)"),
    (lambda: F.max_unpool2d(tt.randn(2, 3, 4, 4), tt.zeros(2, 3, 4, 4, dtype=tt.int64), 2, output_size=(12, 8)),
     r"max_unpool2d: output_size \(12, 8\) must .* default \(8, 8\)"),
    (lambda: F.interpolate(tt.randn(1, 2, 4, 4), size=8, scale_factor=2),
     r"interpolate: give exactly one of size and scale_factor.*\(1, 2, 4, 4\)"),
    (lambda: F.interpolate(tt.randn(1, 2, 4), scale_factor=2, mode="bilinear"),
     r"interpolate: mode 'bilinear' expects a 4-d .* got \(1, 2, 4\)"),
    (lambda: F.interpolate(tt.randn(1, 2, 4, 4), scale_factor=2, mode="bicubic"), r"interpolate: mode 'bicubic'"),
    (lambda: F.interpolate(tt.randn(1, 2, 4, 4), scale_factor=2, align_corners=True),
     r"interpolate: align_corners can only be set"),
    (lambda: F.pad(tt.randn(2, 3, 4), (1, 1), mode="mirror"), r"pad: unknown mode 'mirror'"),
    (lambda: F.pad(tt.randn(2, 3, 4), (1, 1), mode="reflect", value=1.0), r"pad: mode 'reflect' takes no value"),
    (lambda: F.pad(tt.randn(2, 3, 4), (4, 1), mode="reflect"),
     r"pad: reflect padding \(4, 1\) of dim 2 must be less than its size 4 \(input \(2, 3, 4\)\)"),
    (lambda: F.pad(tt.randn(2, 3, 4), (5, 0), mode="circular"), r"pad: circular padding \(5, 0\) .* \(2, 3, 4\)"),
    (lambda: F.pad(tt.randn(4), (1, 1), mode="replicate"), r"pad: mode 'replicate' .* got input \(4,\)"),
    (lambda: F.max_pool2d(tt.randn(1, 1, 4, 4), 2, padding=2), r"max_pool2d: padding \(2, 2\) should be at most"),
    (lambda: F.avg_pool2d(tt.randn(2, 4, 4), 5), r"avg_pool2d: a 5x5 window .* \(1, 2, 4, 4\)"),
    (lambda: F.adaptive_avg_pool2d(tt.randn(1, 2, 4, 4), (0, 2)), r"adaptive_avg_pool2d: output_size"),
    (lambda: F.fold(tt.randn(1, 12, 10), (4, 5), 2),
     r"fold: input \(1, 12, 10\) must be \(N, C\*2\*2, L\) with L = 3\*4"),
    (lambda: nn.Conv1d(2, 2, 3, padding="full"), r"Conv1d: padding must be an int or a 1-tuple, 'same' or 'valid'"),
    (lambda: F.unfold(tt.randn(4, 4), 2), r"unfold: expects a \(N, C, H, W\) or \(C, H, W\) input, got \(4, 4\)"),
])
def test_bad_arguments_name_the_op_and_shapes(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
