"""Optimizers and schedulers against torch.optim, step for step, plus the Program-cache contract."""
import numpy as np
import pytest
import torch

import tinytorch as tt
from tinytorch import nn
import tinytorch.nn.functional as F


def _mlp_pair(dtype=np.float32):
    """A TinyTorch MLP and a torch copy with the same weights."""
    m = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    tm = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(m.named_parameters(), tm.named_parameters()):
            assert name == tname
            tp.copy_(torch.from_numpy(p.numpy()))
    return m, tm


def _batches(n=20, seed=1):
    r = np.random.default_rng(seed)
    return [(r.standard_normal((6, 5)).astype(np.float32), r.integers(0, 3, 6)) for _ in range(n)]


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.01, momentum=0.5)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, betas=(0.8, 0.99))),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
]


@pytest.mark.parametrize("name,kw", CONFIGS, ids=[f"{n}-{'-'.join(k)}" for n, k in CONFIGS])
def test_matches_torch_for_20_steps(name, kw):
    m, tm = _mlp_pair()
    opt = getattr(tt.optim, name)(m.parameters(), **kw)
    topt = getattr(torch.optim, name)(tm.parameters(), **kw)
    for x, y in _batches():
        opt.zero_grad()
        loss = F.cross_entropy(m(tt.tensor(x)), tt.tensor(y))
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y))
        tloss.backward()
        topt.step()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
    for p, tp in zip(m.parameters(), tm.parameters()):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_one_program_and_no_recompiles_with_a_scheduler():
    m, _ = _mlp_pair()
    opt = tt.optim.Adam(m.parameters(), lr=0.01)
    sched = tt.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    data = _batches(10)
    tt.reset_stats()
    compiles, lrs = [], []
    for x, y in data:
        opt.zero_grad()
        F.cross_entropy(m(tt.tensor(x)), tt.tensor(y)).backward()
        opt.step()
        sched.step()
        compiles.append(tt.stats()["compiles"])
        lrs.append(sched.get_last_lr()[0])
    assert len(set(lrs)) > 3  # the rate really changed
    assert compiles[-1] == compiles[1] <= 2, compiles
    assert tt.stats()["realizes"] == len(data)  # forward + backward + update: one Program run per step


def test_momentum_sgd_compiles_at_most_twice():
    m, _ = _mlp_pair()
    opt = tt.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    sched = tt.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    tt.reset_stats()
    for x, y in _batches(6):
        opt.zero_grad()
        F.cross_entropy(m(tt.tensor(x)), tt.tensor(y)).backward()
        opt.step()
        sched.step()
    assert tt.stats()["compiles"] <= 2


def test_param_groups_have_their_own_lr():
    m, tm = _mlp_pair()
    groups = lambda mod: [{"params": mod[0].parameters(), "lr": 0.5}, {"params": mod[2].parameters()}]  # noqa
    opt = tt.optim.SGD(groups(m), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(groups(tm), lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]
    for x, y in _batches(3):
        for o, mod, lib, X, Y in ((opt, m, F, tt.tensor(x), tt.tensor(y)),
                                  (topt, tm, torch.nn.functional, torch.from_numpy(x), torch.from_numpy(y))):
            o.zero_grad()
            lib.cross_entropy(mod(X), Y).backward()
            o.step()
    for p, tp in zip(m.parameters(), tm.parameters()):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_gradient_accumulation_equals_one_big_batch():
    x, y = _batches(1)[0]
    m1, _ = _mlp_pair()
    m2 = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    m2.load_state_dict(m1.state_dict())
    o1, o2 = tt.optim.SGD(m1.parameters(), lr=0.1), tt.optim.SGD(m2.parameters(), lr=0.1)
    F.cross_entropy(m1(tt.tensor(x)), tt.tensor(y)).backward()
    o1.step()
    for half in (slice(0, 3), slice(3, 6)):
        (F.cross_entropy(m2(tt.tensor(x[half])), tt.tensor(y[half])) * 0.5).backward()
    o2.step()
    for a, b in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
    assert not np.allclose(m1[0].weight.numpy(), m2[0].weight.numpy() * 0)  # something trained


def test_state_bytes():
    m, _ = _mlp_pair()
    pbytes = sum(p.numel() * 4 for p in m.parameters())

    def run(opt):
        F.cross_entropy(m(tt.tensor(_batches(1)[0][0])), tt.tensor(_batches(1)[0][1])).backward()
        opt.step()
        opt.zero_grad()
        return opt.state_bytes()

    assert run(tt.optim.SGD(m.parameters(), lr=0.1)) == 0
    assert run(tt.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)) == pbytes
    assert run(tt.optim.Adam(m.parameters())) == 2 * pbytes
    assert run(tt.optim.Adam(m.parameters(), amsgrad=True)) == 3 * pbytes


def test_zero_grad_and_closure():
    m, _ = _mlp_pair()
    opt = tt.optim.SGD(m.parameters(), lr=0.1)
    x, y = _batches(1)[0]

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(m(tt.tensor(x)), tt.tensor(y))
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert np.isfinite(loss.item())
    opt.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    closure()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())


def test_optimizer_errors_are_clear():
    with pytest.raises(ValueError, match="empty parameter list"):
        tt.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="does not require grad"):
        tt.optim.SGD([tt.zeros(3)], lr=0.1)
    p = nn.Parameter(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="more than one group"):
        tt.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        tt.optim.SGD([p], lr=0.1, nesterov=True)


@pytest.mark.parametrize("make", [
    lambda o: o.StepLR, lambda o: o.CosineAnnealingLR, lambda o: o.LinearLR,
], ids=["StepLR", "CosineAnnealingLR", "LinearLR"])
def test_schedulers_match_torch(make):
    kw = {"StepLR": dict(step_size=3, gamma=0.5), "CosineAnnealingLR": dict(T_max=7, eta_min=0.001),
          "LinearLR": dict(start_factor=0.1, total_iters=4)}
    cls, tcls = make(tt.optim.lr_scheduler), make(torch.optim.lr_scheduler)
    p, tp = nn.Parameter(np.zeros(2, np.float32)), torch.nn.Parameter(torch.zeros(2))
    opt, topt = tt.optim.SGD([p], lr=0.2), torch.optim.SGD([tp], lr=0.2)
    s, ts = cls(opt, **kw[cls.__name__]), tcls(topt, **kw[cls.__name__])
    for _ in range(20):
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
        topt.step()
        s.step()
        ts.step()
    sd = s.state_dict()
    s2 = cls(tt.optim.SGD([p], lr=0.2), **kw[cls.__name__])
    s2.load_state_dict(sd)
    assert s2.last_epoch == s.last_epoch and s2.get_last_lr() == s.get_last_lr()


def test_warmup_then_cosine_with_sequential_lr_matches_torch():
    p, tp = nn.Parameter(np.zeros(2, np.float32)), torch.nn.Parameter(torch.zeros(2))
    opt, topt = tt.optim.SGD([p], lr=0.1), torch.optim.SGD([tp], lr=0.1)
    L, TL = tt.optim.lr_scheduler, torch.optim.lr_scheduler
    s = L.SequentialLR(opt, [L.LinearLR(opt, 0.1, total_iters=3), L.CosineAnnealingLR(opt, T_max=6)], [3])
    ts = TL.SequentialLR(topt, [TL.LinearLR(topt, 0.1, total_iters=3), TL.CosineAnnealingLR(topt, T_max=6)], [3])
    for _ in range(10):
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
        topt.step()
        s.step()
        ts.step()


def test_clip_grad_norm_matches_torch():
    m, tm = _mlp_pair()
    x, y = _batches(1)[0]
    F.cross_entropy(m(tt.tensor(x)), tt.tensor(y)).backward()
    torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    for norm_type in (2.0, float("inf")):
        total = tt.nn.utils.clip_grad_norm_(m.parameters(), 0.05, norm_type)
        ttotal = torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.05, norm_type)
        np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-5)
        for p, tp in zip(m.parameters(), tm.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_optimizer_state_dict_round_trip():
    m, _ = _mlp_pair()
    opt = tt.optim.Adam(m.parameters(), lr=0.01)
    x, y = _batches(1)[0]
    F.cross_entropy(m(tt.tensor(x)), tt.tensor(y)).backward()
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd["state"]) == list(range(4)) and sd["param_groups"][0]["params"] == [0, 1, 2, 3]
    opt2 = tt.optim.Adam(m.parameters(), lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.01
    for p in m.parameters():
        for k in ("step", "exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(opt2.state[p][k].numpy(), opt.state[p][k].numpy())
    with pytest.raises(ValueError, match="parameter groups"):
        tt.optim.Adam([{"params": [m[0].weight]}, {"params": [m[0].bias]}]).load_state_dict(sd)


def test_adam_shares_one_step_counter_per_group_and_splits_it_for_params_without_grads():
    m, tm = _mlp_pair()
    opt, topt = tt.optim.Adam(m.parameters(), lr=0.01), torch.optim.Adam(tm.parameters(), lr=0.01)
    for i, (x, y) in enumerate(_batches(6)):
        for o, model, mod in ((opt, m, tt), (topt, tm, torch)):
            o.zero_grad()
            loss = mod.nn.functional.cross_entropy(model(mod.tensor(x) if mod is tt else torch.from_numpy(x)),
                                                   mod.tensor(y) if mod is tt else torch.from_numpy(y))
            loss.backward()
            if i % 2:  # the last bias sits these steps out: its step count must stay behind
                params = list(model.parameters())
                params[-1].grad = None
            o.step()
    counters = {id(opt.state[p]["step"]) for p in m.parameters()}
    assert len(counters) == 2
    sd = opt.state_dict()
    assert [float(sd["state"][i]["step"].numpy()) for i in range(4)] == [6.0, 6.0, 6.0, 3.0]
    for p, tp in zip(m.parameters(), tm.parameters()):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)
    opt2 = tt.optim.Adam(m.parameters(), lr=0.01)
    opt2.load_state_dict(sd)
    assert len({id(opt2.state[p]["step"]) for p in m.parameters()}) == 2
