"""Mixed precision: tinytorch.autocast against torch.autocast("cpu", float16) (and against our own float32
computation on float16-rounded inputs where PyTorch's CPU lists differ from CUDA's, which we follow), the
float16 kernels' float32 accumulation, and GradScaler against torch.amp.GradScaler."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinytorch as tt
from tinytorch import nn
from tinytorch.amp.autocast import APPLIED
from tinytorch.amp.policy import POLICY
from tinytorch.nn import functional as F

F16 = dict(rtol=2e-2, atol=2e-2)  # a few float16 roundings of O(1) values


def _pair(rng, *shape):
    a = rng.standard_normal(shape).astype(np.float32)
    return tt.tensor(a), torch.tensor(a)


def test_every_policy_entry_is_applied():
    assert APPLIED == set(POLICY)


# (name, tinytorch fn, torch fn) over x (4, 8), w (6, 8), t int64 (4,): the dtype torch's CPU autocast gives
AGREE = [
    ("matmul", lambda x, w, t, m: x @ w.T, lambda x, w, t, m: x @ w.T),
    ("linear", lambda x, w, t, m: F.linear(x, w), lambda x, w, t, m: TF.linear(x, w)),
    ("conv1d", lambda x, w, t, m: F.conv1d(x[None], w[:2, :4, None].expand(2, 4, 3)),
     lambda x, w, t, m: TF.conv1d(x[None], w[:2, :4, None].expand(2, 4, 3))),
    ("relu after linear", lambda x, w, t, m: F.linear(x, w).relu(), lambda x, w, t, m: TF.linear(x, w).relu()),
    ("float16 + float32 promotes", lambda x, w, t, m: F.linear(x, w) + m, lambda x, w, t, m: TF.linear(x, w) + m),
    ("cross_entropy", lambda x, w, t, m: F.cross_entropy(F.linear(x, w), t),
     lambda x, w, t, m: TF.cross_entropy(TF.linear(x, w), t)),
    ("nll_loss", lambda x, w, t, m: F.nll_loss(F.linear(x, w), t), lambda x, w, t, m: TF.nll_loss(TF.linear(x, w), t)),
    ("mse_loss", lambda x, w, t, m: F.mse_loss(F.linear(x, w), m), lambda x, w, t, m: TF.mse_loss(TF.linear(x, w), m)),
    ("prod", lambda x, w, t, m: (F.linear(x, w) * 0.1 + 1).prod(), lambda x, w, t, m: (TF.linear(x, w) * 0.1 + 1).prod()),
]


@pytest.mark.parametrize("name,ours,theirs", AGREE, ids=[a[0] for a in AGREE])
def test_dtype_and_value_as_torch_autocast(rng, name, ours, theirs):
    (x, tx), (w, tw), (m, tm) = _pair(rng, 4, 8), _pair(rng, 6, 8), _pair(rng, 4, 6)
    t, tt_t = tt.tensor([0, 1, 2, 5]), torch.tensor([0, 1, 2, 5])
    with tt.autocast():
        got = ours(x, w, t, m)
    with torch.autocast("cpu", dtype=torch.float16):
        want = theirs(tx, tw, tt_t, tm)
    assert got.dtype.name == str(want.dtype).split(".")[1]
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.double().numpy(), **F16)


def _h16(x):
    return x.astype(np.float16).astype(np.float32)


# ops our policy keeps in float32 where PyTorch's CPU list runs them in float16 (its CUDA list has them float32):
# value against float32 math on the float16 product
FLOAT32_OPS = {
    "sum": lambda h: h.sum(), "mean": lambda h: h.mean(1), "softmax": lambda h: h.softmax(-1),
    "log_softmax": lambda h: h.log_softmax(-1), "logsumexp": lambda h: h.logsumexp(-1), "var": lambda h: h.var(0),
    "cumsum": lambda h: h.cumsum(1), "layer_norm": lambda h: F.layer_norm(h, (6,)),
    "batch_norm": lambda h: F.batch_norm(h, None, None, training=True),
    "group_norm": lambda h: F.group_norm(h.reshape(4, 6, 1), 2),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_OPS))
def test_float32_ops_read_the_float16_product(rng, name):
    x, w = (rng.standard_normal(s).astype(np.float32) for s in ((4, 8), (6, 8)))
    with tt.autocast():
        h = F.linear(tt.tensor(x), tt.tensor(w))
        got = FLOAT32_OPS[name](h)
    assert h.dtype == tt.float16 and got.dtype == tt.float32
    want = FLOAT32_OPS[name](tt.tensor(_h16(_h16(x) @ _h16(w).T)))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_disabled_and_nested_regions():
    x = tt.randn(3, 4)
    with tt.autocast():
        assert tt.is_autocast_enabled() and (x @ x.T).dtype == tt.float16
        with tt.autocast(enabled=False):
            assert not tt.is_autocast_enabled() and (x @ x.T).dtype == tt.float32
        assert (x @ x.T).dtype == tt.float16
    assert not tt.is_autocast_enabled() and (x @ x.T).dtype == tt.float32

    @tt.autocast()
    def f(a):
        return a @ a.T
    assert f(x).dtype == tt.float16


def test_bad_arguments_name_what_to_do():
    with pytest.raises(TypeError, match="bfloat16.*float16|float16"):
        tt.autocast(dtype=tt.float64)
    with pytest.raises(RuntimeError, match="CPU only"):
        tt.autocast("cuda")


def test_float16_kernels_accumulate_in_float32(rng):
    """A float16 product is the float32 product of its operands, rounded once: a long dot product stays
    within an ulp or two where float16 accumulation would drift by many."""
    a = rng.standard_normal((16, 4096)).astype(np.float16)
    b = rng.standard_normal((4096, 8)).astype(np.float16)
    want = a.astype(np.float32) @ b.astype(np.float32)
    for backend in ("numpy", "llvm"):
        with tt.using_backend(backend):
            got = (tt.tensor(a) @ tt.tensor(b)).numpy()
        assert got.dtype == np.float16
        np.testing.assert_allclose(got.astype(np.float32), want, rtol=2e-3, atol=2e-2)
    img = rng.standard_normal((2, 3, 9, 9)).astype(np.float16)
    k = rng.standard_normal((5, 3, 3, 3)).astype(np.float16)
    want = TF.conv2d(torch.tensor(img, dtype=torch.float32), torch.tensor(k, dtype=torch.float32), padding=1).numpy()
    for backend in ("numpy", "llvm"):
        with tt.using_backend(backend):
            got = F.conv2d(tt.tensor(img), tt.tensor(k), padding=1).numpy()
        assert got.dtype == np.float16
        np.testing.assert_allclose(got.astype(np.float32), want, rtol=2e-3, atol=1e-2)


def _cnn(seed=0):
    tt.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10))


def _torch_cnn(model):
    t = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                            torch.nn.Flatten(), torch.nn.Linear(64, 10))
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    return t


def test_cnn_forward_and_gradients_as_torch_autocast(rng):
    model = _cnn()
    ref = _torch_cnn(model)
    x = rng.standard_normal((6, 1, 8, 8)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 4, 9])
    with tt.autocast():
        logits = model(tt.tensor(x))
        loss = F.cross_entropy(logits, tt.tensor(y))
    with torch.autocast("cpu", dtype=torch.float16):
        t_logits = ref(torch.tensor(x))
        t_loss = TF.cross_entropy(t_logits, torch.tensor(y))
    assert logits.dtype == tt.float16 and t_logits.dtype == torch.float16 and loss.dtype == tt.float32
    np.testing.assert_allclose(logits.numpy().astype(np.float32), t_logits.float().detach().numpy(), **F16)
    loss.backward()
    t_loss.backward()
    for (name, p), tp in zip(model.named_parameters(), ref.parameters()):
        assert p.grad.dtype == tt.float32, name  # float32 master weights get float32 gradients
        scale = np.abs(tp.grad.numpy()).max()
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=3e-2, atol=3e-2 * scale, err_msg=name)


def test_autocast_step_plans_a_smaller_arena():
    """float16 activations: the planned arena of a training step is smaller than float32's."""
    model = _cnn()
    x, y = tt.randn(32, 1, 8, 8), tt.randint(0, 10, (32,))

    def arena(amp):
        for p in model.parameters():
            p.grad = None
        with tt.autocast(enabled=amp):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        grads = [p.grad for p in model.parameters()]
        return tt.plan(loss, *grads).memory_plan.peak_bytes
    full, mixed = arena(False), arena(True)
    assert mixed < 0.8 * full, (mixed, full)


# ------------------------------------------------------------------ GradScaler


def _scaler_run(steps, poison, backend_torch=False, interval=3):
    """SGD with momentum on w under a scaler; at the steps in `poison` the data holds an inf. Returns the scale
    and w after each step, from tinytorch or from torch."""
    data = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    out = []
    if backend_torch:
        w = torch.nn.Parameter(torch.ones(4, 3))
        opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
        sc = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=interval)
    else:
        w = nn.Parameter(tt.ones(4, 3))
        opt = tt.optim.SGD([w], lr=0.1, momentum=0.9)
        sc = tt.GradScaler(init_scale=2.0 ** 10, growth_interval=interval)
    lib = torch if backend_torch else tt
    for i in range(steps):
        x = data.copy()
        if i in poison:
            x[0, 0] = np.inf
        opt.zero_grad()
        loss = (lib.tensor(x) @ w).square().mean()
        sc.scale(loss).backward()
        sc.step(opt)
        sc.update()
        out.append((sc.get_scale(), (w.detach() if backend_torch else w).numpy().copy()))
    return out


def test_grad_scaler_skips_backs_off_and_grows_as_torch():
    poison = {1, 2, 6}
    ours, theirs = _scaler_run(10, poison), _scaler_run(10, poison, backend_torch=True)
    for i, ((s, w), (ts, tw)) in enumerate(zip(ours, theirs)):
        assert s == ts, (i, s, ts)
        np.testing.assert_allclose(w, tw, rtol=1e-5, atol=1e-6, err_msg=f"step {i}")
    assert ours[1][0] == 2.0 ** 9 and ours[2][0] == 2.0 ** 8  # halved on each inf
    assert np.array_equal(ours[0][1], ours[2][1])  # the poisoned steps left w alone
    assert ours[5][0] == 2.0 ** 9  # grown after growth_interval=3 clean steps (3, 4, 5)


def test_grad_scaler_state_dict_round_trip():
    sc = tt.GradScaler(init_scale=8.0, growth_interval=5)
    _ = sc.state_dict()
    other = tt.GradScaler()
    other.load_state_dict({"scale": 32.0, "growth_factor": 3.0, "backoff_factor": 0.25, "growth_interval": 7,
                           "_growth_tracker": 4})
    assert other.state_dict() == {"scale": 32.0, "growth_factor": 3.0, "backoff_factor": 0.25,
                                  "growth_interval": 7, "_growth_tracker": 4}
    assert sc.get_scale() == 8.0 and tt.GradScaler(enabled=False).get_scale() == 1.0


def test_grad_scaler_misuse_raises():
    w = nn.Parameter(tt.ones(3))
    opt = tt.optim.SGD([w], lr=0.1)
    sc = tt.GradScaler()
    sc.scale((w * 2).sum()).backward()
    sc.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        sc.unscale_(opt)
    sc.step(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        sc.step(opt)
    sc.update()
    np.testing.assert_allclose(w.numpy(), np.full(3, 0.8, np.float32))  # unscaled: the true gradient 2


def test_captured_amp_step_compiles_once_while_the_scale_changes():
    """Scale, found-inf and the skip are data: a captured autocast step keeps replaying the same Programs
    through backoffs (inf gradients) and growth."""
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    opt = tt.optim.Adam(model.parameters(), lr=0.01)
    sc = tt.GradScaler(init_scale=2.0 ** 30, growth_interval=2)  # float16 gradients overflow until it backs off
    x, y = tt.randn(5, 8), tt.tensor([0, 1, 2, 3, 0])

    def step(x, y):
        opt.zero_grad()
        with tt.autocast():
            loss = F.cross_entropy(model(x), y)
        sc.scale(loss).backward()
        sc.step(opt)
        sc.update()
        return loss

    cstep = tt.compile(step)
    scales, compiles = [], []
    for _ in range(24):
        cstep(x, y)
        scales.append(sc.get_scale())
        compiles.append(tt.stats()["compiles"])
    assert min(scales) < 2.0 ** 30 and scales[-1] > min(scales)  # backed off, then grew
    assert len(set(compiles[3:])) == 1, compiles  # no compile after the traces, whatever the scale did
    assert all(p.dtype == tt.float32 for p in model.parameters())


def test_float16_comparisons_see_values_as_stored():
    """cmpeq and cmplt of float16 compare integer keys of the stored bits natively (branchless): every pair of
    special values (signed zeros, subnormals, the largest finite, infinities, NaN) and a sum that rounds
    (1 + 2**-12 is 1 in float16, not in the float register) compare as NumPy compares them."""
    specials = np.array([0.0, -0.0, 2.0 ** -24, -(2.0 ** -24), 6.1e-5, 1.0, -1.0, 1.0009766, 65504.0, -65504.0,
                         np.inf, -np.inf, np.nan], np.float16)
    a, c = (m.ravel() for m in np.meshgrid(specials, specials))
    small = np.full(a.shape, 2.0 ** -12, np.float16)
    zero = np.zeros(a.shape, np.float16)
    with np.errstate(all="ignore"):
        s = a + small  # rounds back to a except near zero
    with tt.using_backend("llvm"):
        ta, tc, ts, tz = (tt.tensor(v) for v in (a, c, small, zero))
        for ours, want in (((ta == tc), a == c), ((ta < tc), a < c), (((ta + tz) == tc), (a + zero) == c),
                           (((ta + tz) < tc), (a + zero) < c), (((ta + ts) == tc), s == c), (((ta + ts) < tc), s < c),
                           ((tc < (ta + ts)), c < s)):
            np.testing.assert_array_equal(ours.numpy(), want)
