"""conv3d and avg_pool3d (composed from conv2d and avg_pool2d) and their modules, against PyTorch in float64.

Each case draws random inputs, runs the op in TinyTorch and in PyTorch, and compares the output and the
gradient of sum(out * g) (g random) with respect to every input; odd sizes everywhere, so a mixed-up axis
or an off-by-one window shows. Then the modules' parameters, init and repr, and the errors bad inputs give.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinytorch as tt  # noqa: E402
import tinytorch.nn.functional as F  # noqa: E402
from tinytorch import nn  # noqa: E402

TF = torch.nn.functional


def check(fn, tfn, *arrays, rng, tol=1e-10):
    """The output and the gradient of every input agree with torch's."""
    xs = [tt.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fn(*xs), tfn(*ts)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(out.shape)
    (out * tt.tensor(g)).sum().backward()
    (tout * torch.from_numpy(g)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("xshape, wshape, kw", [
    ((2, 3, 5, 6, 7), (4, 3, 3, 2, 3), dict()),
    ((2, 3, 7, 6, 5), (4, 3, 3, 3, 3), dict(stride=2, padding=1)),
    ((1, 4, 9, 7, 8), (6, 2, 3, 2, 3), dict(stride=(2, 1, 3), padding=(2, 0, 1), dilation=(2, 1, 2), groups=2)),
    ((4, 7, 5, 6), (4, 4, 2, 3, 2), dict(padding="same", dilation=(3, 2, 1))),   # unbatched, even kernels
    ((2, 4, 5, 5, 5), (4, 1, 3, 3, 3), dict(padding="valid", groups=4)),          # depthwise
    ((2, 3, 1, 5, 5), (2, 3, 1, 3, 3), dict(padding=(0, 1, 1))),                  # depth 1
])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on its own even-kernel copy
def test_conv3d(rng, xshape, wshape, kw, bias):
    arrays = [rng.standard_normal(xshape), rng.standard_normal(wshape)] + \
        ([rng.standard_normal(wshape[:1])] if bias else [])
    check(lambda *a: F.conv3d(*a, **kw), lambda *a: TF.conv3d(*a, **kw), *arrays, rng=rng)


@pytest.mark.parametrize("xshape, kw", [
    ((2, 3, 5, 6, 7), dict(kernel_size=2)),
    ((2, 3, 7, 6, 5), dict(kernel_size=3, stride=2, padding=1)),
    ((3, 7, 8, 9), dict(kernel_size=(3, 2, 3), stride=(2, 1, 2), padding=(1, 1, 0), ceil_mode=True,
                        count_include_pad=False)),
    ((1, 2, 8, 7, 6), dict(kernel_size=(2, 3, 3), stride=(3, 2, 2), padding=(1, 1, 1), ceil_mode=True)),
    ((2, 2, 7, 7, 7), dict(kernel_size=3, stride=2, ceil_mode=True, divisor_override=5)),
    ((2, 2, 5, 6, 7), dict(kernel_size=(1, 2, 3), stride=(1, 3, 1), padding=(0, 1, 1), count_include_pad=False)),
])
def test_avg_pool3d(rng, xshape, kw):
    check(lambda x: F.avg_pool3d(x, **kw), lambda x: TF.avg_pool3d(x, **kw), rng.standard_normal(xshape), rng=rng)


def _copy_params(m, tm):
    with torch.no_grad():
        for p, tp in zip(m.parameters(), tm.parameters()):
            tp.copy_(torch.from_numpy(p.numpy()))


@pytest.mark.parametrize("make, shape", [
    (lambda lib: lib.nn.Conv3d(4, 6, 3, stride=2, padding=1, dtype=lib.float64), (2, 4, 5, 7, 6)),
    (lambda lib: lib.nn.Conv3d(4, 4, (1, 3, 2), padding="same", dilation=(1, 2, 1), groups=2, bias=False,
                               dtype=lib.float64), (4, 3, 5, 6)),
    (lambda lib: lib.nn.AvgPool3d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 3, 6, 7, 5)),
])
def test_modules_match_torch(rng, make, shape):
    m, tm = make(tt), make(torch)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    _copy_params(m, tm)
    assert repr(m) == repr(tm)
    check(m, tm, rng.standard_normal(shape), rng=rng)


def test_conv3d_init_bounds_are_pytorchs():
    """Kaiming-uniform(a=sqrt(5)) weights and bias both lie in +-1/sqrt(fan_in), fan_in = in/groups*kd*kh*kw,
    and fill most of that range."""
    m = nn.Conv3d(4, 8, (3, 2, 5), groups=2)
    bound = 1 / np.sqrt(2 * 3 * 2 * 5)
    for p in (m.weight.numpy(), m.bias.numpy()):
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.7 * bound


@pytest.mark.parametrize("call, match", [
    (lambda: F.conv3d(tt.randn(2, 3, 4), tt.randn(2, 3, 1, 1, 1)),
     r"conv3d: expects a \(N, C, D, H, W\) or \(C, D, H, W\) input, got \(2, 3, 4\)"),
    (lambda: F.conv3d(tt.randn(1, 3, 4, 4, 4), tt.randn(2, 3, 3, 3)),
     r"conv3d: weight must be \(out_channels, in_channels/groups, kd, kh, kw\), got \(2, 3, 3, 3\)"),
    (lambda: F.conv3d(tt.randn(1, 3, 4, 4, 4), tt.randn(2, 2, 1, 1, 1)),
     r"conv3d: input \(1, 3, 4, 4, 4\) has 3 channels but weight \(2, 2, 1, 1, 1\)"),
    (lambda: F.conv3d(tt.randn(1, 3, 2, 4, 4), tt.randn(2, 3, 3, 1, 1)),
     r"conv3d: a 3x1x1 kernel .* size 2x4x4 \(input \(1, 3, 2, 4, 4\)\)"),
    (lambda: F.conv3d(tt.randn(1, 3, 4, 4, 4), tt.randn(2, 3, 1, 3, 3), padding=(0, 0, 1), dilation=2),
     r"conv3d: a 1x3x3 kernel \(dilation \(2, 2, 2\)\) does not fit the padded input of size 4x4x6"),
    (lambda: F.conv3d(tt.randn(1, 3, 4, 4, 4), tt.randn(2, 3, 1, 1, 1), stride=(1, 2)),
     r"conv3d: stride must be an int or a 3-tuple of ints, got \(1, 2\)"),
    (lambda: F.conv3d(tt.randn(1, 3, 4, 4, 4), tt.randn(2, 3, 1, 1, 1), padding="same", stride=2),
     r"conv3d: padding='same' needs stride 1"),
    (lambda: F.conv3d(tt.randn(1, 3, 4, 4, 4), tt.randn(2, 3, 1, 1, 1), dilation=0),
     r"conv3d: dilation must be >= 1, got \(0, 0, 0\) \(input \(1, 3, 4, 4, 4\)\)"),
    (lambda: F.avg_pool3d(tt.randn(2, 4, 4), 2),
     r"avg_pool3d: expects a \(N, C, D, H, W\) or \(C, D, H, W\) input, got \(2, 4, 4\)"),
    (lambda: F.avg_pool3d(tt.randn(1, 1, 4, 4, 4), 2, padding=(2, 0, 0)),
     r"avg_pool3d: padding \(2, 0, 0\) should be at most half the kernel size \(2, 2, 2\)"),
    (lambda: F.avg_pool3d(tt.randn(1, 1, 2, 4, 4), 3), r"avg_pool3d: a 3x3x3 window .* \(1, 1, 2, 4, 4\)"),
    (lambda: nn.Conv3d(2, 2, 3, padding="full"), r"Conv3d: padding must be an int, a 3-tuple"),
    (lambda: nn.AvgPool3d((2, 2)), r"AvgPool3d: kernel_size must be an int or a 3-tuple of ints"),
])
def test_bad_arguments_name_the_op_and_shapes(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.Conv2d(2, 4, 3, padding="same", dilation=2, groups=2, bias=False),
    lambda lib: lib.nn.Conv2d(2, 4, 3, padding="valid"),
    lambda lib: lib.nn.Conv3d(2, 4, (3, 1, 2), stride=(2, 1, 1), padding=(0, 1, 0)),
    lambda lib: lib.nn.Conv3d(2, 4, 3, padding="valid"),
])
def test_conv_repr_is_pytorchs(make):
    """Conv2d and Conv3d share PyTorch's repr rule (a string padding shows, unquoted)."""
    assert repr(make(tt)) == repr(make(torch))
