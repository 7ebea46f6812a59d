"""The nn surface of issue 13 against torch: activations, nn.init, RNN/LSTM/GRU, GroupNorm/InstanceNorm2d,
containers and shape modules. Values and gradients in float64 (modules get torch's weights through
load_state_dict), state_dict keys, reprs, init statistics and the errors for bad input."""
import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

import tinytorch as tt
from tinytorch import nn
import tinytorch.nn.functional as F

TF = torch.nn.functional

# the kinks and the far tails of every piecewise activation below
EDGES = np.array([-800, -50, -21, -3.5, -3, -2, -1, -1e-10, -1e-20, 0, 1e-20, 1e-10, 0.5, 1, 3, 3.5, 6, 7, 21, 50],
                 dtype=np.float64)


def _x(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def agree(outs, touts, ins, tins, rtol, atol, seed=7):
    """The outputs, and the gradients of `ins` (name -> tensor) after backward of a random weighting of the
    outputs, against torch's. Outputs and gradients are realized together: one compile per case."""
    rng = np.random.default_rng(seed)
    loss, tloss = 0, 0
    for o, t in zip(outs, touts):
        assert o.shape == tuple(t.shape)
        w = rng.standard_normal(tuple(t.shape))
        loss = loss + (o * tt.tensor(w)).sum()
        tloss = tloss + (t * torch.from_numpy(w)).sum()
    loss.backward()
    tloss.backward()
    tt.realize(*outs, *[a.grad for a in ins.values() if a.grad is not None])
    for o, t in zip(outs, touts):
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
    for name, a in ins.items():
        assert a.grad is not None, name
        np.testing.assert_allclose(a.grad.numpy(), tins[name].grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


def check_fn(fn, tfn, *arrays, rtol=1e-10, atol=1e-12):
    """fn(*tensors) against tfn(*torch tensors): values and the gradients of every input (float64)."""
    ins = {str(i): tt.tensor(a, requires_grad=True) for i, a in enumerate(arrays)}
    tins = {str(i): torch.tensor(a, requires_grad=True) for i, a in enumerate(arrays)}
    agree([fn(*ins.values())], [tfn(*tins.values())], ins, tins, rtol, atol)


# ---------------------------------------------------------------- activations

ACTIVATIONS = [  # (name, kwargs, module class name, module kwargs)
    ("hardsigmoid", {}, "Hardsigmoid", {}),
    ("hardswish", {}, "Hardswish", {}),
    ("relu6", {}, "ReLU6", {}),
    ("hardtanh", {}, "Hardtanh", {}),
    ("hardtanh", dict(min_val=-2.0, max_val=3.0), "Hardtanh", dict(min_val=-2.0, max_val=3.0)),
    ("elu", {}, "ELU", {}),
    ("elu", dict(alpha=0.5), "ELU", dict(alpha=0.5)),
    ("celu", {}, "CELU", {}),
    ("celu", dict(alpha=2.0), "CELU", dict(alpha=2.0)),
    ("selu", {}, "SELU", {}),
    ("mish", {}, "Mish", {}),
    ("softsign", {}, "Softsign", {}),
    ("logsigmoid", {}, "LogSigmoid", {}),
    ("softplus", {}, "Softplus", {}),
    ("softplus", dict(beta=2.0, threshold=5.0), "Softplus", dict(beta=2.0, threshold=5.0)),
    ("softplus", dict(beta=0.5), "Softplus", dict(beta=0.5)),
]


@pytest.mark.parametrize("name,kw,cls,mkw", ACTIVATIONS,
                         ids=[f"{a[0]}-{i}" for i, a in enumerate(ACTIVATIONS)])
def test_activation_matches_torch_at_kinks_and_tails(name, kw, cls, mkw):
    # torch's hardsigmoid gradient is the float 1/6, not the double one
    rtol = 1e-7 if name == "hardsigmoid" else 1e-12
    check_fn(lambda x: getattr(F, name)(x, **kw), lambda x: getattr(TF, name)(x, **kw), EDGES, rtol=rtol, atol=0)
    m, tm = getattr(nn, cls)(**mkw), getattr(torch.nn, cls)(**mkw)
    assert repr(m) == repr(tm)
    x = _x(3, 4, seed=1, scale=4)
    check_fn(m, tm, x, rtol=rtol, atol=0)


@pytest.mark.parametrize("name", ["softplus", "logsigmoid", "mish", "elu", "hardswish", "softsign"])
def test_activation_float32_matches_torch(name):
    x = (_x(257, seed=2) * 10).astype(np.float32)
    out = getattr(F, name)(tt.tensor(x))
    assert out.dtype == tt.float32
    np.testing.assert_allclose(out.numpy(), getattr(TF, name)(torch.from_numpy(x)).numpy(), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("shape,dim", [((4, 5), 1), ((2, 3, 4), 0), ((2, 3, 4), -1), ((6,), 0), ((2, 3, 4), None),
                                       ((3, 4), None)])
@pytest.mark.filterwarnings("ignore:Implicit dimension choice")
def test_softmin(shape, dim):
    check_fn(lambda x: F.softmin(x, dim), lambda x: TF.softmin(x, dim), _x(*shape, seed=3))
    if dim is not None:
        check_fn(nn.Softmin(dim), torch.nn.Softmin(dim), _x(*shape, seed=4))
        assert repr(nn.Softmin(dim)) == repr(torch.nn.Softmin(dim))


@pytest.mark.parametrize("shape,dim", [((4, 6), -1), ((4, 6), 1), ((2, 4, 3), 1), ((6, 2), 0)])
def test_glu(shape, dim):
    check_fn(lambda x: F.glu(x, dim), lambda x: TF.glu(x, dim), _x(*shape, seed=5))
    check_fn(nn.GLU(dim), torch.nn.GLU(dim), _x(*shape, seed=6))
    assert repr(nn.GLU(dim)) == repr(torch.nn.GLU(dim))


def test_glu_odd_dim_raises_naming_the_shape():
    with pytest.raises(ValueError, match=r"glu.*even.*\(4, 5\)"):
        F.glu(tt.tensor(_x(4, 5)))


@pytest.mark.parametrize("p,dim,shape", [(2.0, 1, (4, 5)), (1.0, 1, (4, 5)), (3.0, 0, (4, 5)),
                                         (float("inf"), -1, (3, 4, 5)), (2.0, -1, (3, 4, 5)), (0.5, 1, (3, 6))])
def test_normalize(p, dim, shape):
    x = _x(*shape, seed=7)
    if p >= 1:  # (below 1, |x|^p has an infinite slope at 0 in torch too)
        x[0] = 0.0  # a zero slice (for dim=1): the eps clamp, and a finite gradient
    check_fn(lambda t: F.normalize(t, p, dim), lambda t: TF.normalize(t, p, dim), x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("num,shape", [(1, (4, 3, 5)), (3, (4, 3, 5)), (3, (2, 3)), (1, (7,)), (2, (2, 2, 3, 3))])
def test_prelu_module_and_functional(num, shape):
    m, tm = nn.PReLU(num).double(), torch.nn.PReLU(num).double()
    assert repr(m) == repr(tm) and np.allclose(m.weight.numpy(), 0.25)
    tm.weight.data = torch.from_numpy(_x(num, seed=8))
    m.load_state_dict(tm.state_dict())
    x = _x(*shape, seed=9)
    x.flat[0] = 0.0
    xt, txt = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    agree([m(xt)], [tm(txt)], {"x": xt, "w": m.weight}, {"x": txt, "w": tm.weight}, 1e-10, 1e-12)
    check_fn(F.prelu, TF.prelu, x, _x(num, seed=10))


def test_prelu_wrong_parameter_count_raises():
    with pytest.raises(ValueError, match=r"prelu.*3 parameters.*\(2, 4, 5\).*4 channels"):
        nn.PReLU(3)(tt.tensor(_x(2, 4, 5)))


# ---------------------------------------------------------------- nn.init

LAYER_SHAPES = [(10, 20), (1, 7), (30, 3, 3, 3), (16, 8, 5), (4, 2, 3, 3, 3), (6, 1, 3, 3), (64, 32, 1, 1),
                (40, 10)]


@pytest.mark.parametrize("shape", LAYER_SHAPES)
def test_fans_equal_torch(shape):
    ours = nn.init._calculate_fan_in_and_fan_out(tt.zeros(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


def test_fans_of_every_layer_weight_equal_torch():
    layers = [(nn.Linear(7, 3), torch.nn.Linear(7, 3)), (nn.Conv2d(4, 6, 3), torch.nn.Conv2d(4, 6, 3)),
              (nn.Embedding(10, 4), torch.nn.Embedding(10, 4)), (nn.LSTM(5, 4, 2), torch.nn.LSTM(5, 4, 2)),
              (nn.GRU(3, 2, bidirectional=True), torch.nn.GRU(3, 2, bidirectional=True)),
              (nn.PReLU(3), torch.nn.PReLU(3)), (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4))]
    for m, tm in layers:
        tparams = dict(tm.named_parameters())
        for name, p in m.named_parameters():
            tp = tparams[name]
            if tp.ndim < 2:
                continue
            assert nn.init._calculate_fan_in_and_fan_out(p) == torch.nn.init._calculate_fan_in_and_fan_out(tp)


@pytest.mark.parametrize("nl,param", [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
                                      ("conv_transpose2d", None), ("sigmoid", None), ("tanh", None),
                                      ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                      ("leaky_relu", math.sqrt(5)), ("selu", None)])
def test_calculate_gain_equals_torch(nl, param):
    assert nn.init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param), rel=1e-15)


def test_init_errors_name_the_problem():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        nn.init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        nn.init.calculate_gain("leaky_relu", "x")
    with pytest.raises(ValueError, match=r"fewer than 2 dims.*\(5,\)"):
        nn.init.xavier_uniform_(tt.zeros(5))
    with pytest.raises(ValueError, match="fan_avg"):
        nn.init.kaiming_normal_(tt.zeros(3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match=r"orthogonal_.*2 or more.*\(4,\)"):
        nn.init.orthogonal_(tt.zeros(4))
    with pytest.raises(ValueError, match="a < b"):
        nn.init.trunc_normal_(tt.zeros(4), a=1.0, b=-1.0)


def _std_of(init_fn, shape, **kw):
    t = tt.zeros(*shape)
    init_fn(t, **kw)
    return t.numpy()


INIT_STATS = [  # (function, kwargs, shape, expected std from torch's formula, bounded)
    ("kaiming_uniform_", {}, (400, 300), math.sqrt(2 / 300), math.sqrt(6 / 300)),
    ("kaiming_uniform_", dict(a=math.sqrt(5)), (200, 10, 3, 3), math.sqrt(2 / 6 / 90), math.sqrt(1 / 90)),
    ("kaiming_uniform_", dict(mode="fan_out", nonlinearity="relu"), (300, 400), math.sqrt(2 / 300),
     math.sqrt(6 / 300)),
    ("kaiming_normal_", {}, (400, 300), math.sqrt(2 / 300), None),
    ("kaiming_normal_", dict(mode="fan_out", nonlinearity="tanh"), (50, 40, 3, 3), 5 / 3 / math.sqrt(450), None),
    ("xavier_uniform_", {}, (300, 500), math.sqrt(2 / 800), math.sqrt(6 / 800)),
    ("xavier_uniform_", dict(gain=2.0), (64, 32, 3, 3), 2 * math.sqrt(2 / 864), 2 * math.sqrt(6 / 864)),
    ("xavier_normal_", {}, (300, 500), math.sqrt(2 / 800), None),
]


@pytest.mark.parametrize("name,kw,shape,std,bound", INIT_STATS, ids=[f"{r[0]}-{i}" for i, r in enumerate(INIT_STATS)])
def test_init_statistics(name, kw, shape, std, bound):
    v = _std_of(getattr(nn.init, name), shape, **kw)
    assert abs(v.mean()) < 4 * std / math.sqrt(v.size)
    assert v.std() == pytest.approx(std, rel=0.02)
    if bound is not None:
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.99 * bound
    # the same statistics as torch's own draw
    tv = getattr(torch.nn.init, name)(torch.zeros(shape), **kw).numpy()
    assert v.std() == pytest.approx(tv.std(), rel=0.03)


@pytest.mark.parametrize("shape,gain", [((30, 20), 1.0), ((20, 30), 2.0), ((8, 4, 3, 3), 1.0), ((16, 16), 0.5)])
def test_orthogonal(shape, gain):
    w = _std_of(nn.init.orthogonal_, shape, gain=gain).reshape(shape[0], -1)
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(gram, gain * gain * np.eye(gram.shape[0]), atol=1e-5)


def _truncated_moments(mean, std, a, b):
    """Mean and std of N(mean, std^2) conditioned on [a, b], from the closed form."""
    lo, hi = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    mass = cdf(hi) - cdf(lo)
    m = (pdf(lo) - pdf(hi)) / mass
    var = 1 + (lo * pdf(lo) - hi * pdf(hi)) / mass - m * m
    return mean + std * m, std * math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (1.0, 2.0, 2.0, 3.0),
                                          (0.0, 1.0, 2.5, 10.0), (0.0, 1.0, -1.0, 1.5), (0.0, 1.0, -9.0, -3.0),
                                          (0.0, 1.0, 0.5, 0.6)])
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    v = _std_of(nn.init.trunc_normal_, (200, 500), mean=mean, std=std, a=a, b=b).astype(np.float64)
    assert v.min() >= a and v.max() <= b
    mu, sigma = _truncated_moments(mean, std, a, b)
    assert abs(v.mean() - mu) < 6 * sigma / math.sqrt(v.size)
    assert v.std() == pytest.approx(sigma, rel=0.02)
    if abs(mean - a) <= 2 * std and abs(mean - b) <= 2 * std:  # where torch's inverse-CDF draw is accurate
        tv = torch.nn.init.trunc_normal_(torch.zeros(200, 500, dtype=torch.float64), mean, std, a, b).numpy()
        assert v.std() == pytest.approx(tv.std(), rel=0.02)


def test_init_is_seeded_by_manual_seed_and_constants_fill():
    draws = []
    for seed in (3, 3, 4):
        tt.manual_seed(seed)
        t = tt.zeros(6, 5)
        nn.init.kaiming_uniform_(t)
        nn.init.trunc_normal_(u := tt.zeros(10))
        nn.init.orthogonal_(o := tt.zeros(4, 4))
        draws.append(np.concatenate([t.numpy().ravel(), u.numpy(), o.numpy().ravel()]))
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.array_equal(draws[0], draws[2])
    t = tt.zeros(3, 2, dtype=tt.float64)
    np.testing.assert_array_equal(nn.init.constant_(t, 2.5).numpy(), np.full((3, 2), 2.5))
    np.testing.assert_array_equal(nn.init.ones_(t).numpy(), np.ones((3, 2)))
    np.testing.assert_array_equal(nn.init.zeros_(t).numpy(), np.zeros((3, 2)))
    assert t.dtype == tt.float64
    empty = tt.zeros(0, 3)
    assert nn.init.kaiming_uniform_(empty) is empty and nn.init.orthogonal_(empty) is empty


# ---------------------------------------------------------------- RNN, LSTM, GRU

RNN_CONFIGS = [  # (class, kwargs, batched, with initial state)
    ("RNN", dict(), True, False),
    ("RNN", dict(num_layers=2, bidirectional=True, batch_first=True), True, True),
    ("RNN", dict(nonlinearity="relu", bias=False), True, True),
    ("RNN", dict(num_layers=2), False, True),
    ("LSTM", dict(), True, False),
    ("LSTM", dict(num_layers=2, bidirectional=True, batch_first=True), True, True),
    ("LSTM", dict(bidirectional=True, bias=False), True, True),
    ("LSTM", dict(num_layers=2, batch_first=True), True, False),
    ("LSTM", dict(bidirectional=True), False, False),
    ("GRU", dict(), True, True),
    ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True), True, False),
    ("GRU", dict(bidirectional=True, bias=False, batch_first=True), True, True),
    ("GRU", dict(num_layers=2), False, True),
]
SEQ, BATCH, IN, HID = 2, 2, 4, 5  # two steps: the recurrence, in both directions, at the least compile time


def _rnn_pair(cls, kw, seed=0):
    torch.manual_seed(seed)
    tm = getattr(torch.nn, cls)(IN, HID, **kw).double()
    m = getattr(nn, cls)(IN, HID, **kw).double()
    assert list(m.state_dict()) == list(tm.state_dict())
    assert [tuple(v.shape) for v in m.state_dict().values()] == [tuple(v.shape) for v in tm.state_dict().values()]
    assert repr(m) == repr(tm)
    m.load_state_dict(tm.state_dict())
    return m, tm


@pytest.mark.parametrize("cls,kw,batched,with_h0", RNN_CONFIGS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(RNN_CONFIGS)])
def test_rnn_matches_torch(cls, kw, batched, with_h0):
    m, tm = _rnn_pair(cls, kw)
    dirs = 2 if kw.get("bidirectional") else 1
    layers = kw.get("num_layers", 1)
    shape = ((BATCH, SEQ) if kw.get("batch_first") else (SEQ, BATCH)) if batched else (SEQ,)
    x = _x(*shape, IN, seed=1)
    ins = {"x": x}
    if with_h0:
        hshape = (layers * dirs, BATCH, HID) if batched else (layers * dirs, HID)
        ins["h0"] = _x(*hshape, seed=2)
        if cls == "LSTM":
            ins["c0"] = _x(*hshape, seed=3)
    ours = {k: tt.tensor(v, requires_grad=True) for k, v in ins.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in ins.items()}
    if not with_h0:
        out, hn = m(ours["x"])
        tout, thn = tm(theirs["x"])
    elif cls == "LSTM":
        out, hn = m(ours["x"], (ours["h0"], ours["c0"]))
        tout, thn = tm(theirs["x"], (theirs["h0"], theirs["c0"]))
    else:
        out, hn = m(ours["x"], ours["h0"])
        tout, thn = tm(theirs["x"], theirs["h0"])
    outs = [out] + (list(hn) if cls == "LSTM" else [hn])
    touts = [tout] + (list(thn) if cls == "LSTM" else [thn])
    agree(outs, touts, {**ours, **dict(m.named_parameters())}, {**theirs, **dict(tm.named_parameters())},
          1e-9, 1e-11)


def test_rnn_default_init_is_torchs_uniform():
    m = nn.LSTM(3, 16, num_layers=2, bidirectional=True)
    bound = 1 / math.sqrt(16)
    vals = np.concatenate([p.numpy().ravel() for p in m.parameters()])
    assert np.abs(vals).max() <= bound and np.abs(vals).max() > 0.95 * bound
    assert vals.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert all(p.dtype == tt.float32 for p in m.parameters())


def test_rnn_compiles_once_per_sequence_length():
    m = nn.GRU(IN, HID, batch_first=True)

    def step(seed, length):
        x = tt.tensor(_x(BATCH, length, IN, seed=seed).astype(np.float32), requires_grad=True)
        out, hn = m(x)
        (out.sum() + hn.sum()).backward()
        return x.grad.numpy()

    step(0, 3)
    before = tt.stats()["compiles"]
    g1 = step(1, 3)
    assert tt.stats()["compiles"] == before
    g2 = step(2, 3)
    assert tt.stats()["compiles"] == before and not np.array_equal(g1, g2)
    step(3, 2)
    assert tt.stats()["compiles"] > before


def test_lstm_dropout_between_layers():
    m, tm = _rnn_pair("LSTM", dict(num_layers=2, dropout=1.0))
    x = _x(SEQ, BATCH, IN, seed=4)
    out, (hn, cn) = m(tt.tensor(x))  # training: the second layer sees zeros, as in torch
    tout, (thn, tcn) = tm(torch.from_numpy(x))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(hn.numpy(), thn.detach().numpy(), rtol=1e-10)
    m.eval()
    tm.eval()
    np.testing.assert_allclose(m(tt.tensor(x))[0].numpy(), tm(torch.from_numpy(x))[0].detach().numpy(), rtol=1e-10)
    half = nn.GRU(IN, HID, num_layers=2, dropout=0.5)
    a, b = half(tt.tensor(x))[0].numpy(), half(tt.tensor(x))[0].numpy()
    assert not np.array_equal(a, b)  # a fresh mask each call
    half.eval()
    np.testing.assert_array_equal(half(tt.tensor(x))[0].numpy(), half(tt.tensor(x))[0].numpy())


def test_rnn_float32_loads_a_torch_state_dict():
    torch.manual_seed(1)
    tm = torch.nn.LSTM(IN, HID, batch_first=True)
    m = nn.LSTM(IN, HID, batch_first=True)
    m.load_state_dict(tm.state_dict())
    x = _x(BATCH, SEQ, IN, seed=5).astype(np.float32)
    out, (hn, cn) = m(tt.tensor(x))
    assert out.dtype == tt.float32
    np.testing.assert_allclose(out.numpy(), tm(torch.from_numpy(x))[0].detach().numpy(), rtol=1e-5, atol=1e-6)


RNN_ERRORS = [
    ("rank", lambda m: m(tt.zeros(2, 3, 4, IN)), r"LSTM: expected input to be 2-d .* or 3-d .*4-d.*\(2, 3, 4, 4\)"),
    ("features", lambda m: m(tt.zeros(SEQ, BATCH, 7)),
     rf"LSTM: input \({SEQ}, {BATCH}, 7\) has 7 features.*input_size is {IN}"),
    ("hidden", lambda m: m(tt.zeros(SEQ, BATCH, IN), (tt.zeros(1, BATCH, HID), tt.zeros(2, BATCH, HID))),
     r"LSTM: expected h_0 of shape \(2, 2, 5\).*got \(1, 2, 5\)"),
    ("hidden size", lambda m: m(tt.zeros(SEQ, BATCH, IN), (tt.zeros(2, BATCH, HID), tt.zeros(2, BATCH, 3))),
     r"LSTM: expected c_0 of shape \(2, 2, 5\).*got \(2, 2, 3\)"),
    ("not a tuple", lambda m: m(tt.zeros(SEQ, BATCH, IN), tt.zeros(2, BATCH, HID)), r"LSTM: hx must be a tuple"),
    ("unbatched 3-d h", lambda m: m(tt.zeros(SEQ, IN), (tt.zeros(2, 1, HID), tt.zeros(2, 1, HID))),
     r"LSTM: for unbatched 2-d input, h_0 must be 2-d"),
]


@pytest.mark.parametrize("name,call,pattern", RNN_ERRORS, ids=[e[0] for e in RNN_ERRORS])
def test_rnn_bad_input_raises_clearly(name, call, pattern):
    m = nn.LSTM(IN, HID, num_layers=2)
    with pytest.raises(ValueError, match=pattern):
        call(m)


def test_rnn_bad_construction():
    with pytest.raises(ValueError, match="nonlinearity 'gelu'"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        nn.GRU(3, 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.LSTM(3, 4, dropout=0.2)
    assert any("num_layers=1" in str(w.message) for w in caught)


# ---------------------------------------------------------------- GroupNorm, InstanceNorm2d

def _check_norm_module(m, tm, x, rtol=1e-10, atol=1e-12):
    m.load_state_dict(tm.state_dict())
    xt, txt = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    agree([m(xt)], [tm(txt)], {"x": xt, **dict(m.named_parameters())}, {"x": txt, **dict(tm.named_parameters())},
          rtol, atol)


@pytest.mark.parametrize("groups,channels,shape,kw", [(2, 6, (3, 6, 4, 4), {}), (1, 6, (2, 6, 5), {}),
                                                      (6, 6, (2, 6, 3, 3), {}), (3, 6, (4, 6), {}),
                                                      (2, 4, (2, 4, 3, 3), dict(affine=False)),
                                                      (2, 4, (2, 4, 3), dict(bias=False))])
def test_group_norm_matches_torch(groups, channels, shape, kw):
    tm = torch.nn.GroupNorm(groups, channels, **kw).double()
    m = nn.GroupNorm(groups, channels, **kw).double()
    assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict())
    with torch.no_grad():
        for p in tm.parameters():
            p.copy_(torch.from_numpy(_x(*p.shape, seed=11)))
    _check_norm_module(m, tm, _x(*shape, seed=12, scale=3) + 5)
    check_fn(lambda t: F.group_norm(t, groups), lambda t: TF.group_norm(t, groups), _x(*shape, seed=13))


def test_group_norm_errors():
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 6\).*\(2, 4, 3\)"):
        nn.GroupNorm(2, 6)(tt.zeros(2, 4, 3))
    with pytest.raises(ValueError, match=r"group_norm.*\(2, 5, 3\).*5 channels.*num_groups=2"):
        F.group_norm(tt.zeros(2, 5, 3), 2)


@pytest.mark.parametrize("kw,shape", [({}, (2, 3, 4, 5)), (dict(affine=True), (2, 3, 4, 5)),
                                      (dict(affine=True), (3, 4, 5)), (dict(affine=True, bias=False), (2, 3, 3, 3))])
def test_instance_norm_matches_torch(kw, shape):
    tm = torch.nn.InstanceNorm2d(3, **kw).double()
    m = nn.InstanceNorm2d(3, **kw).double()
    assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict())
    with torch.no_grad():
        for p in tm.parameters():
            p.copy_(torch.from_numpy(_x(*p.shape, seed=14)))
    _check_norm_module(m, tm, _x(*shape, seed=15, scale=2) - 3)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_instance_norm_running_stats_train_then_eval(momentum):
    tm = torch.nn.InstanceNorm2d(3, momentum=momentum, affine=True, track_running_stats=True).double()
    m = nn.InstanceNorm2d(3, momentum=momentum, affine=True, track_running_stats=True).double()
    assert repr(m) == repr(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    for step in range(2):
        x = _x(2, 3, 4, 4, seed=20 + step, scale=2) + step
        np.testing.assert_allclose(m(tt.tensor(x)).numpy(), tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-10)
    for name, v in tm.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[name].numpy(), v.numpy(), rtol=1e-10, err_msg=name)
    m.eval()
    tm.eval()
    _check_norm_module(m, tm, _x(2, 3, 4, 4, seed=22))


def test_instance_norm_errors():
    with pytest.raises(ValueError, match=r"InstanceNorm2d: expected a 3-d.*or 4-d.*\(2, 3\)"):
        nn.InstanceNorm2d(3)(tt.zeros(2, 3))
    with pytest.raises(ValueError, match=r"InstanceNorm2d\(3\).*\(2, 4, 5, 5\) has 4 channels"):
        nn.InstanceNorm2d(3, affine=True)(tt.zeros(2, 4, 5, 5))


# ---------------------------------------------------------------- containers

def test_module_dict_like_torch():
    pairs = [("conv", (nn.Conv2d(1, 2, 3), torch.nn.Conv2d(1, 2, 3))), ("act", (nn.PReLU(), torch.nn.PReLU())),
             ("fc", (nn.Linear(3, 2), torch.nn.Linear(3, 2)))]
    d = nn.ModuleDict({k: v[0] for k, v in pairs})
    td = torch.nn.ModuleDict({k: v[1] for k, v in pairs})
    assert list(d.state_dict()) == list(td.state_dict())
    assert list(d) == list(td) and list(d.keys()) == list(td.keys()) and len(d) == len(td) == 3
    assert "act" in d and "nope" not in d and d["fc"] is pairs[2][1][0]
    assert repr(d) == repr(td)
    d["extra"] = nn.ReLU()
    td["extra"] = torch.nn.ReLU()
    assert d.pop("conv") is pairs[0][1][0] and td.pop("conv") is not None
    d.update([("z", nn.Identity())])
    td.update([("z", torch.nn.Identity())])
    assert list(d.keys()) == list(td.keys())
    assert [n for n, _ in d.named_parameters()] == [n for n, _ in td.named_parameters()]
    with pytest.raises(TypeError, match="must be a Module"):
        d["bad"] = 3


def test_parameter_list_and_dict_like_torch():
    shapes = [(3, 4), (2,), (1, 1, 2)]
    pl = nn.ParameterList([tt.zeros(*s) for s in shapes])
    tpl = torch.nn.ParameterList([torch.zeros(s) for s in shapes])
    assert list(pl.state_dict()) == list(tpl.state_dict()) and len(pl) == len(tpl) == 3
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in pl)
    pl.append(tt.ones(5))
    assert pl[-1].shape == (5,) and [n for n, _ in pl.named_parameters()] == ["0", "1", "2", "3"]
    assert repr(pl).splitlines()[1] == "    (0): Parameter containing: [tinytorch.float32 of size 3x4]"
    with pytest.raises(IndexError, match="out of range"):
        pl[7]
    plain = {"b": tt.zeros(2), "a": tt.zeros(3)}
    pd, tpd = nn.ParameterDict(plain), torch.nn.ParameterDict({"b": torch.zeros(2), "a": torch.zeros(3)})
    assert list(pd.keys()) == list(tpd.keys()) == ["a", "b"]  # a plain dict is sorted
    ordered = nn.ParameterDict(OrderedDict([("b", tt.zeros(2)), ("a", tt.zeros(3))]))
    assert list(ordered) == list(torch.nn.ParameterDict(OrderedDict([("b", torch.zeros(2)),
                                                                      ("a", torch.zeros(3))])))
    pd["c"] = tt.ones(1)
    assert list(pd.state_dict()) == ["a", "b", "c"] and "c" in pd and pd.pop("a").shape == (3,)
    model = nn.Sequential(nn.Linear(2, 2))
    model.extra = nn.ParameterList([tt.zeros(2)])
    tmodel = torch.nn.Sequential(torch.nn.Linear(2, 2))
    tmodel.extra = torch.nn.ParameterList([torch.zeros(2)])
    assert list(model.state_dict()) == list(tmodel.state_dict())


# ---------------------------------------------------------------- shape modules, Dropout2d

@pytest.mark.parametrize("r,shape", [(2, (2, 8, 3, 4)), (3, (9, 2, 2)), (1, (1, 4, 3, 3)), (2, (2, 1, 4, 2, 3))])
def test_pixel_shuffle_and_unshuffle(r, shape):
    check_fn(nn.PixelShuffle(r), torch.nn.PixelShuffle(r), _x(*shape, seed=30))
    out_shape = tuple(TF.pixel_shuffle(torch.zeros(shape), r).shape)
    check_fn(nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), _x(*out_shape, seed=31))
    x = tt.tensor(_x(*shape, seed=32))
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(x, r), r).numpy(), x.numpy())
    assert repr(nn.PixelShuffle(r)) == repr(torch.nn.PixelShuffle(r))
    assert repr(nn.PixelUnshuffle(r)) == repr(torch.nn.PixelUnshuffle(r))


def test_pixel_shuffle_errors():
    with pytest.raises(ValueError, match=r"pixel_shuffle.*4.*\(1, 6, 2, 2\)"):
        F.pixel_shuffle(tt.zeros(1, 6, 2, 2), 2)
    with pytest.raises(ValueError, match=r"pixel_unshuffle.*\(1, 1, 3, 4\)"):
        F.pixel_unshuffle(tt.zeros(1, 1, 3, 4), 2)


@pytest.mark.parametrize("dim,sizes,shape", [(1, (2, 5), (3, 10)), (-1, (2, -1), (2, 3, 8)), (0, (2, 2), (4, 3))])
def test_unflatten(dim, sizes, shape):
    check_fn(nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes), _x(*shape, seed=33))
    assert repr(nn.Unflatten(dim, sizes)) == repr(torch.nn.Unflatten(dim, sizes))


@pytest.mark.parametrize("padding,shape", [(1, (2, 3, 4, 5)), ((1, 2, 0, 3), (2, 4, 5)), ((2, 0, 1, 1), (3, 3)),
                                           ((-1, 1, 0, -2), (1, 2, 5, 6))])
def test_zero_pad2d(padding, shape):
    check_fn(nn.ZeroPad2d(padding), torch.nn.ZeroPad2d(padding), _x(*shape, seed=34))
    assert repr(nn.ZeroPad2d(padding)) == repr(torch.nn.ZeroPad2d(padding))


def test_dropout2d_zeroes_whole_channels():
    m = nn.Dropout2d(0.4)
    assert repr(m) == repr(torch.nn.Dropout2d(0.4))
    x = np.abs(_x(50, 40, 3, 3, seed=35)) + 1
    out = m(tt.tensor(x)).numpy()
    kept = (out != 0).reshape(50, 40, 9)
    assert np.all(kept.all(-1) | ~kept.any(-1))  # each channel all kept or all dropped
    frac = 1 - kept.all(-1).mean()
    assert abs(frac - 0.4) < 4 * math.sqrt(0.4 * 0.6 / 2000)
    np.testing.assert_allclose(out.reshape(50, 40, 9)[kept.all(-1)], (x / 0.6).reshape(50, 40, 9)[kept.all(-1)],
                               rtol=1e-12)
    unbatched = m(tt.tensor(x[0])).numpy().reshape(40, 9)
    assert np.all((unbatched != 0).all(-1) | (unbatched == 0).all(-1))
    m.eval()
    np.testing.assert_array_equal(m(tt.tensor(x)).numpy(), x)
    with pytest.raises(ValueError, match=r"dropout2d.*3-d.*4-d.*\(5, 4\)"):
        F.dropout2d(tt.zeros(5, 4))
