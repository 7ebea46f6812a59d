"""nn layers and functional forms against torch.nn, forward and gradients, given the same weights."""
import math

import numpy as np
import pytest
import torch

import tinytorch as tt
from tinytorch import nn
import tinytorch.nn.functional as F

TF = torch.nn.functional


def _copy_weights(m, tm):
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(m.named_parameters(), tm.named_parameters()):
            assert name == tname and p.shape == tuple(tp.shape)
            tp.copy_(torch.from_numpy(p.numpy()))


def _check_module(m, tm, x, rtol=1e-4, atol=1e-5, target=None):
    """Forward and the gradients of input and every parameter agree with torch."""
    _copy_weights(m, tm)
    xt = tt.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    out, tout = m(xt), tm(tx)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=rtol, atol=atol)
    w = np.random.default_rng(5).standard_normal(tout.shape).astype(x.dtype)
    (out * tt.tensor(w)).sum().backward()
    (tout * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    for (name, p), tp in zip(m.named_parameters(), tm.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------- layers vs torch

@pytest.mark.parametrize("kw", [
    dict(kernel_size=3),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1)),
    dict(kernel_size=3, padding="same", bias=False),
    dict(kernel_size=3, padding=1, groups=2),
], ids=["plain", "stride-pad", "rect-dilation", "same-nobias", "groups"])
def test_conv2d(kw):
    m, tm = nn.Conv2d(4, 6, **kw), torch.nn.Conv2d(4, 6, **kw)
    _check_module(m, tm, _x(2, 4, 7, 8))


def test_conv2d_unbatched_and_shape_errors():
    m, tm = nn.Conv2d(3, 2, 3), torch.nn.Conv2d(3, 2, 3)
    _check_module(m, tm, _x(3, 5, 5))
    with pytest.raises(ValueError, match="channels"):
        m(tt.tensor(_x(1, 4, 5, 5)))
    with pytest.raises(ValueError, match="does not fit"):
        m(tt.tensor(_x(1, 3, 2, 2)))


@pytest.mark.parametrize("cls,kw", [
    ("MaxPool2d", dict(kernel_size=2)),
    ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1)),
    ("MaxPool2d", dict(kernel_size=2, stride=1, dilation=2)),
    ("AvgPool2d", dict(kernel_size=2)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
])
def test_pools(cls, kw):
    _check_module(getattr(nn, cls)(**kw), getattr(torch.nn, cls)(**kw), _x(2, 3, 7, 6))


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 5)), ("BatchNorm1d", (4, 5, 3)),
                                       ("BatchNorm2d", (4, 5, 3, 3))])
def test_batchnorm_train_eval_and_running_stats(cls, shape):
    m, tm = getattr(nn, cls)(5, momentum=0.2), getattr(torch.nn, cls)(5, momentum=0.2)
    with torch.no_grad():
        tm.weight.copy_(torch.linspace(0.5, 1.5, 5))
        tm.bias.copy_(torch.linspace(-1, 1, 5))
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    for seed in range(3):
        _check_module(m, tm, _x(*shape, seed=seed) * 3 + 1)
        m.zero_grad()
        tm.zero_grad()
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    assert int(m.num_batches_tracked.item()) == 3
    m.eval()
    tm.eval()
    _check_module(m, tm, _x(*shape, seed=9))


def test_batchnorm_cumulative_average_and_no_tracking():
    m, tm = nn.BatchNorm1d(3, momentum=None), torch.nn.BatchNorm1d(3, momentum=None)
    for seed in range(3):
        x = _x(6, 3, seed=seed) * 2
        m(tt.tensor(x))
        tm(torch.from_numpy(x))
    np.testing.assert_allclose(m.running_mean.numpy(), tm.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.running_var.numpy(), tm.running_var.numpy(), rtol=1e-5, atol=1e-6)
    m2, tm2 = nn.BatchNorm1d(3, track_running_stats=False), torch.nn.BatchNorm1d(3, track_running_stats=False)
    m2.eval()
    tm2.eval()
    _check_module(m2, tm2, _x(6, 3))
    assert "running_mean" not in m2.state_dict()


def test_batchnorm_running_stats_do_not_recompile():
    m = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))
    opt = tt.optim.SGD(m.parameters(), lr=0.1)
    tt.reset_stats()
    for seed in range(5):
        opt.zero_grad()
        F.mse_loss(m(tt.tensor(_x(8, 4, seed=seed))), tt.tensor(_x(8, 2, seed=seed + 10))).backward()
        opt.step()
    assert tt.stats()["compiles"] <= 2
    assert not np.allclose(m[1].running_mean.numpy(), 0)


def test_batchnorm_training_step_is_one_program_and_matches_torch():
    """The running statistics ride along with the optimizer's Program: one realize a step, not one more per
    BatchNorm layer recomputing the forward pass; after three steps stats and weights equal PyTorch's."""
    def build(mod):
        return mod.Sequential(mod.Conv2d(2, 3, 3), mod.BatchNorm2d(3), mod.ReLU(), mod.Conv2d(3, 4, 3),
                              mod.BatchNorm2d(4), mod.ReLU(), mod.Flatten(), mod.Linear(16, 2))
    m = build(nn)
    tm = build(torch.nn)
    tm.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in m.state_dict().items()})
    opt, topt = tt.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), torch.optim.SGD(tm.parameters(), lr=0.1,
                                                                                     momentum=0.9)
    realizes = []
    for seed in range(3):
        x, y = _x(4, 2, 6, 6, seed=seed), _x(4, 2, seed=seed + 10)
        before = tt.stats()["realizes"]
        opt.zero_grad()
        F.mse_loss(m(tt.tensor(x)), tt.tensor(y)).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.mse_loss(tm(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        topt.step()
        realizes.append(tt.stats()["realizes"] - before)
    print(realizes)
    assert max(realizes) <= 1, realizes
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("shape,norm", [((4, 6), 6), ((2, 3, 4, 5), (4, 5))])
def test_layernorm(shape, norm):
    m, tm = nn.LayerNorm(norm), torch.nn.LayerNorm(norm)
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
        tm.bias.uniform_(-1, 1)
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    _check_module(m, tm, _x(*shape) * 2 + 3)


def test_linear_and_activations():
    for act, tact in ((nn.ReLU(), torch.nn.ReLU()), (nn.GELU(), torch.nn.GELU()),
                      (nn.GELU("tanh"), torch.nn.GELU("tanh")), (nn.Tanh(), torch.nn.Tanh()),
                      (nn.Sigmoid(), torch.nn.Sigmoid()), (nn.SiLU(), torch.nn.SiLU())):
        m = nn.Sequential(nn.Linear(5, 4), act, nn.Flatten(), nn.Linear(4, 3, bias=False))
        tm = torch.nn.Sequential(torch.nn.Linear(5, 4), tact, torch.nn.Flatten(), torch.nn.Linear(4, 3, bias=False))
        _check_module(m, tm, _x(6, 5))


def test_embedding_with_padding_idx():
    m, tm = nn.Embedding(7, 3, padding_idx=1), torch.nn.Embedding(7, 3, padding_idx=1)
    np.testing.assert_array_equal(m.weight.numpy()[1], 0)
    _copy_weights(m, tm)
    idx = np.array([[0, 1, 6], [1, 3, 3]])
    out, tout = m(tt.tensor(idx)), tm(torch.from_numpy(idx))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy())
    w = _x(2, 3, 3)
    (out * tt.tensor(w)).sum().backward()
    (tout * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-6)
    assert not m.weight.grad.numpy()[1].any()


# ---------------------------------------------------------------- losses vs torch

def _loss_check(fn, tfn, x, *args, rtol=1e-5, atol=1e-6, **kw):
    xt, tx = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    conv = lambda a, lib: (lib.tensor(a) if isinstance(a, np.ndarray) else a)  # noqa: E731
    out = fn(xt, *[conv(a, tt) for a in args], **{k: conv(v, tt) for k, v in kw.items()})
    tout = tfn(tx, *[conv(a, torch) for a in args], **{k: conv(v, torch) for k, v in kw.items()})
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=rtol, atol=atol)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("kw", [
    dict(), dict(reduction="sum"), dict(reduction="none"), dict(label_smoothing=0.2),
    dict(ignore_index=2), dict(ignore_index=2, label_smoothing=0.1), dict(ignore_index=2, reduction="none"),
    dict(weight=np.array([0.2, 1.0, 2.0, 0.5], np.float32)),
    dict(weight=np.array([0.2, 1.0, 2.0, 0.5], np.float32), label_smoothing=0.3, ignore_index=0),
])
def test_cross_entropy(kw):
    y = np.array([0, 2, 3, 2, 1, 2])
    _loss_check(F.cross_entropy, TF.cross_entropy, _x(6, 4) * 3, y, **kw)


def test_cross_entropy_spatial_and_probability_targets():
    y = np.random.default_rng(0).integers(0, 4, (2, 3, 5))
    _loss_check(F.cross_entropy, TF.cross_entropy, _x(2, 4, 3, 5), y, label_smoothing=0.1)
    probs = np.random.default_rng(1).dirichlet(np.ones(4), 6).astype(np.float32)
    _loss_check(F.cross_entropy, TF.cross_entropy, _x(6, 4), probs, label_smoothing=0.2)
    with pytest.raises(ValueError, match="target"):
        F.cross_entropy(tt.tensor(_x(6, 4)), tt.tensor(np.zeros(5, np.int64)))


def test_other_losses():
    y = np.array([1, 0, 2])
    _loss_check(F.nll_loss, TF.nll_loss, _x(3, 3), y, ignore_index=0)
    _loss_check(F.mse_loss, TF.mse_loss, _x(4, 3), _x(4, 3, seed=1))
    _loss_check(F.l1_loss, TF.l1_loss, _x(4, 3), _x(4, 3, seed=1), reduction="sum")
    p = 1 / (1 + np.exp(-_x(4, 3)))
    t = (np.random.default_rng(2).random((4, 3)) > 0.5).astype(np.float32)
    _loss_check(F.binary_cross_entropy, TF.binary_cross_entropy, p, t)
    _loss_check(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, _x(4, 3) * 5, t,
                pos_weight=np.array([1.0, 2.0, 0.5], np.float32))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(tt.tensor(_x(2)), tt.tensor(_x(2)), reduction="avg")


def test_functional_forms():
    x = _x(3, 5)
    for fn, tfn in ((F.softmax, TF.softmax), (F.log_softmax, TF.log_softmax)):
        np.testing.assert_allclose(fn(tt.tensor(x), dim=1).numpy(), tfn(torch.from_numpy(x), dim=1).numpy(),
                                   rtol=1e-5, atol=1e-6)
    idx = np.array([[2, 0], [1, 3]])
    np.testing.assert_array_equal(F.one_hot(tt.tensor(idx), 5).numpy(), TF.one_hot(torch.from_numpy(idx), 5))
    np.testing.assert_array_equal(F.one_hot(tt.tensor(idx)).numpy(), TF.one_hot(torch.from_numpy(idx)))
    w, b = _x(4, 5, seed=1), _x(4, seed=2)
    np.testing.assert_allclose(F.linear(tt.tensor(x), tt.tensor(w), tt.tensor(b)).numpy(),
                               TF.linear(*map(torch.from_numpy, (x, w, b))).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="in_features"):
        F.linear(tt.tensor(x), tt.tensor(_x(4, 6)))


# ---------------------------------------------------------------- dropout

def test_dropout_statistics_scaling_and_eval():
    d = nn.Dropout(0.25)
    x = tt.ones(200, 100)
    a, b = d(x).numpy(), d(x).numpy()
    assert set(np.unique(a)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((a == 0).mean() - 0.25) < 0.02
    assert not np.array_equal(a, b)  # a fresh mask per call
    d.eval()
    assert d(x) is x


def test_dropout_reuses_the_program_and_follows_the_seed():
    d = nn.Dropout(0.5)
    x = tt.tensor(_x(10, 10))
    tt.manual_seed(3)
    first = d(x).numpy()
    tt.reset_stats()
    for _ in range(4):
        d(x).numpy()
    assert tt.stats()["compiles"] == 0
    tt.manual_seed(3)
    np.testing.assert_array_equal(d(x).numpy(), first)


# ---------------------------------------------------------------- Module API

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8, 3))

    def forward(self, x):
        return self.head(self.bn(self.conv(x)).relu())


def test_module_registry_and_state_dict_keys_match_torch():
    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 2, 3)
            self.bn = torch.nn.BatchNorm2d(2)
            self.head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 3))
    net, tnet = Net(), TNet()
    assert list(net.state_dict()) == list(tnet.state_dict())
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in tnet.named_parameters()]
    assert [n for n, _ in net.named_modules()] == [n for n, _ in tnet.named_modules()]
    assert len(list(net.children())) == 3
    assert repr(net.head) == repr(tnet.head)
    assert repr(nn.Conv2d(1, 2, 3, stride=2, padding=1)) == repr(torch.nn.Conv2d(1, 2, 3, stride=2, padding=1))
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_load_state_dict_errors_name_the_keys_and_shapes():
    net = Net()
    sd = net.state_dict()
    other = Net()
    other.load_state_dict(sd)
    for k in sd:
        np.testing.assert_array_equal(other.state_dict()[k].numpy(), sd[k].numpy())
    bad = dict(sd)
    del bad["conv.weight"]
    bad["extra.weight"] = np.zeros(2, np.float32)
    with pytest.raises(RuntimeError, match=r"missing keys: 'conv.weight'(.|\n)*unexpected keys: 'extra.weight'"):
        other.load_state_dict(bad)
    result = other.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["conv.weight"] and result.unexpected_keys == ["extra.weight"]
    bad = dict(sd)
    bad["head.1.weight"] = np.zeros((3, 9), np.float32)
    with pytest.raises(RuntimeError, match=r"size mismatch for 'head.1.weight'.*\(3, 9\).*\(3, 8\)"):
        other.load_state_dict(bad)


def test_default_init_is_pytorch_shaped_and_seeded():
    tt.manual_seed(7)
    a = nn.Linear(50, 40)
    tt.manual_seed(7)
    b = nn.Linear(50, 40)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    bound = 1 / math.sqrt(50)
    w = a.weight.numpy()
    assert w.min() >= -bound and w.max() <= bound and w.std() == pytest.approx(bound / math.sqrt(3), rel=0.1)
    assert np.abs(a.bias.numpy()).max() <= bound
    c = nn.Conv2d(3, 8, 3)
    assert np.abs(c.weight.numpy()).max() <= 1 / math.sqrt(27)
    e = nn.Embedding(100, 50).weight.numpy()
    assert abs(e.mean()) < 0.05 and abs(e.std() - 1) < 0.05
    assert all(p.is_realized and p.is_leaf and p.requires_grad for p in a.parameters())
    assert isinstance(a.weight, nn.Parameter) and isinstance(a.weight, tt.Tensor)


def test_module_errors():
    class Bad(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(2, 2)
    with pytest.raises(AttributeError, match="super"):
        Bad()
    with pytest.raises(ValueError, match="channels"):
        nn.BatchNorm2d(3)(tt.tensor(_x(2, 4, 3, 3)))
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_pending_assigns_registry_stays_bounded():
    """A parameter is assigned again every step: this thread's registry of pending assigns holds it once."""
    from tinytorch.live_tensors import PENDING_ASSIGNS
    m = nn.Linear(4, 3)
    opt = tt.optim.Adam(m.parameters(), lr=0.1)
    sizes = []
    for seed in range(6):
        opt.zero_grad()
        F.mse_loss(m(tt.tensor(_x(5, 4, seed=seed))), tt.tensor(_x(5, 3, seed=seed))).backward()
        opt.step()
        sizes.append(len(PENDING_ASSIGNS.refs))
    assert max(sizes) <= 7, sizes  # weight, bias, their two moments each, the step counter
