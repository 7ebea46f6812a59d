"""RMSprop, Adagrad, Adamax, NAdam, RAdam and the schedulers of issue 13 against torch.optim, step for step.

Optimizers: a small MLP with torch's weights, 20 steps each, losses and weights within float32 tolerance,
then the state they keep (names, values, bytes), their state_dict round trip, and the Program contract (one
Program per step, none more when the learning rate or a cycled momentum changes, a captured step replays).
Schedulers: stepped beside torch's for many steps (momentum too where they cycle it), including the
argument corners, step(epoch), and state_dict round trips.
"""
import math
import warnings

import numpy as np
import pytest
import torch

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch import nn
from test_optim import _batches, _mlp_pair

L, TL = tt.optim.lr_scheduler, torch.optim.lr_scheduler


def _step_both(opt, topt, m, tm, x, y):
    """One training step of each framework on the same batch; returns both losses."""
    losses = []
    for o, model, X, Y, lib in ((opt, m, tt.tensor(x), tt.tensor(y), F),
                                (topt, tm, torch.from_numpy(x), torch.from_numpy(y), torch.nn.functional)):
        o.zero_grad()
        loss = lib.cross_entropy(model(X), Y)
        loss.backward()
        o.step()
        losses.append(loss.item())
    return losses


def _assert_same_weights(m, tm, rtol=1e-5, atol=1e-6):
    for p, tp in zip(m.parameters(), tm.parameters()):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=rtol, atol=atol)


CONFIGS = [
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, centered=True, maximize=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True, momentum=0.5, eps=1e-6)),  # lerp's other form
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2, eps=1e-6)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01)),  # unrectified for 5 steps, rectified after: both in one Program
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1)),  # rectified from step 2 with beta2 0.9
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
]


@pytest.mark.parametrize("name,kw", CONFIGS, ids=[f"{n}-{'-'.join(k) or 'defaults'}" for n, k in CONFIGS])
def test_matches_torch_for_20_steps_in_one_program(name, kw):
    m, tm = _mlp_pair()
    opt, topt = getattr(tt.optim, name)(m.parameters(), **kw), getattr(torch.optim, name)(tm.parameters(), **kw)
    tt.reset_stats()
    for x, y in _batches():
        loss, tloss = _step_both(opt, topt, m, tm, x, y)
        np.testing.assert_allclose(loss, tloss, rtol=1e-5)
    _assert_same_weights(m, tm)
    assert tt.stats()["compiles"] <= 1  # every step-dependent factor is data (0: an earlier test compiled it)
    assert tt.stats()["realizes"] == 20  # forward + backward + update: one Program run per step


OPTIMIZERS = ["RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam"]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_param_groups_state_and_state_dict_match_torch(name):
    m, tm = _mlp_pair()
    kw = {"RMSprop": dict(momentum=0.5, centered=True)}.get(name, {})
    groups = lambda mod: [{"params": mod[0].parameters(), "lr": 0.03}, {"params": mod[2].parameters()}]  # noqa
    opt, topt = getattr(tt.optim, name)(groups(m), lr=0.01, **kw), getattr(torch.optim, name)(groups(tm), lr=0.01,
                                                                                              **kw)
    for x, y in _batches(6):
        _step_both(opt, topt, m, tm, x, y)
    _assert_same_weights(m, tm)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.03, 0.01]
    for i, tstate in tsd["state"].items():
        assert set(sd["state"][i]) == set(tstate)
        for k, tv in tstate.items():
            np.testing.assert_allclose(np.asarray(sd["state"][i][k].numpy(), np.float64), tv.double().numpy(),
                                       rtol=1e-4, atol=1e-7, err_msg=f"{name} state {k!r}")
    pbytes = sum(p.numel() * 4 for p in m.parameters())
    per_param = {"RMSprop": 3, "Adagrad": 1, "Adamax": 2, "NAdam": 2, "RAdam": 2}[name]
    assert opt.state_bytes() == per_param * pbytes

    # a fresh optimizer loaded from the checkpoint goes on exactly as the original
    m2 = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    m2.load_state_dict(m.state_dict())
    opt2 = getattr(tt.optim, name)(groups(m2), lr=0.5, **kw)
    opt2.load_state_dict(sd)
    for x, y in _batches(4, seed=2):
        for o, model in ((opt, m), (opt2, m2)):
            o.zero_grad()
            F.cross_entropy(model(tt.tensor(x)), tt.tensor(y)).backward()
            o.step()
    for a, b in zip(m.parameters(), m2.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_adagrad_makes_its_state_when_built_as_torch_does():
    p = nn.Parameter(np.ones((2, 3), np.float32))
    opt = tt.optim.Adagrad([p], initial_accumulator_value=0.5)
    tp = torch.nn.Parameter(torch.ones(2, 3))
    tsd = torch.optim.Adagrad([tp], initial_accumulator_value=0.5).state_dict()
    sd = opt.state_dict()
    assert set(sd["state"][0]) == set(tsd["state"][0])
    np.testing.assert_array_equal(sd["state"][0]["sum"].numpy(), tsd["state"][0]["sum"].numpy())
    assert opt.state_bytes() == 2 * 3 * 4


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_changing_lr_every_step_does_not_recompile(name):
    m, tm = _mlp_pair()
    opt, topt = getattr(tt.optim, name)(m.parameters(), lr=0.01), getattr(torch.optim, name)(tm.parameters(),
                                                                                             lr=0.01)
    tt.reset_stats()
    compiles = []
    for i, (x, y) in enumerate(_batches(6)):
        for o in (opt, topt):
            o.param_groups[0]["lr"] = 0.01 * (1 + i)
        _step_both(opt, topt, m, tm, x, y)
        compiles.append(tt.stats()["compiles"])
    assert compiles[0] <= 1 and compiles == compiles[:1] * 6, compiles
    _assert_same_weights(m, tm)


def test_a_parameter_without_grad_keeps_its_own_nadam_count():
    m, tm = _mlp_pair()
    opt, topt = tt.optim.NAdam(m.parameters(), lr=0.01), torch.optim.NAdam(tm.parameters(), lr=0.01)
    for i, (x, y) in enumerate(_batches(6)):
        for o, model, X, Y, lib in ((opt, m, tt.tensor(x), tt.tensor(y), F),
                                    (topt, tm, torch.from_numpy(x), torch.from_numpy(y), torch.nn.functional)):
            o.zero_grad()
            lib.cross_entropy(model(X), Y).backward()
            if i % 2:  # the last bias sits these steps out: its step count and mu_product stay behind
                list(model.parameters())[-1].grad = None
            o.step()
    _assert_same_weights(m, tm)
    sd, tsd = opt.state_dict(), topt.state_dict()
    for i in range(4):
        for k in ("step", "mu_product"):
            np.testing.assert_allclose(float(sd["state"][i][k].numpy()), tsd["state"][i][k].item(), rtol=1e-6)


def test_bad_hyperparameters_name_the_optimizer_and_the_value():
    p = nn.Parameter(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"RMSprop: lr must be >= 0, got -1"):
        tt.optim.RMSprop([p], lr=-1)
    with pytest.raises(ValueError, match=r"Adagrad: lr_decay must be >= 0"):
        tt.optim.Adagrad([p], lr_decay=-0.1)
    with pytest.raises(ValueError, match=r"NAdam: betas must be two numbers in \[0, 1\), got \(0.9, 1.0\)"):
        tt.optim.NAdam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"RAdam: eps must be >= 0"):
        tt.optim.RAdam([p], eps=-1.0)
    with pytest.raises(ValueError, match=r"cycle_as_data: can cycle"):
        tt.optim.Adamax([p]).cycle_as_data("lr")


# ---------------------------------------------------------------- schedulers against torch's

def _sched_pair(cls_name, kw, opt_name="SGD", opt_kw=None, groups=1):
    opt_kw = dict(lr=0.1, momentum=0.9) if opt_kw is None else opt_kw
    ps = [nn.Parameter(np.zeros(2, np.float32)) for _ in range(groups)]
    tps = [torch.nn.Parameter(torch.zeros(2)) for _ in range(groups)]
    opt = getattr(tt.optim, opt_name)([{"params": [p], "lr": opt_kw["lr"] * (i + 1)} for i, p in enumerate(ps)],
                                      **opt_kw)
    topt = getattr(torch.optim, opt_name)([{"params": [p], "lr": opt_kw["lr"] * (i + 1)}
                                           for i, p in enumerate(tps)], **opt_kw)
    return opt, topt, getattr(L, cls_name)(opt, **kw), getattr(TL, cls_name)(topt, **kw)


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


SCHEDULES = [
    ("ExponentialLR", dict(gamma=0.9)),
    ("MultiStepLR", dict(milestones=[3, 7, 7, 12], gamma=0.5)),
    ("ConstantLR", dict(factor=0.25, total_iters=6)),
    ("ConstantLR", dict()),
    ("PolynomialLR", dict(total_iters=10, power=2.0)),
    ("PolynomialLR", dict(total_iters=7, power=0.5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.01)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4)),
    ("CyclicLR", dict(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=5, mode="triangular2")),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range", gamma=0.97,
                      base_momentum=0.7, max_momentum=0.95)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=5, cycle_momentum=False)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=lambda x: 0.5 ** x,
                      scale_mode="iterations")),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=40)),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], epochs=4, steps_per_epoch=10, anneal_strategy="linear", pct_start=0.2)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=40, three_phase=True, div_factor=10.0, final_div_factor=100.0)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=40, three_phase=True, anneal_strategy="linear",
                        cycle_momentum=False)),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.95 if e % 2 else 1.01)),
]


@pytest.mark.parametrize("opt_name,opt_kw", [("SGD", None), ("Adam", dict(lr=0.1))], ids=["SGD", "Adam"])
@pytest.mark.parametrize("cls_name,kw", SCHEDULES, ids=[f"{c}-{'-'.join(k) or 'defaults'}" for c, k in SCHEDULES])
def test_schedulers_match_torch_for_40_steps(cls_name, kw, opt_name, opt_kw):
    opt, topt, s, ts = _sched_pair(cls_name, kw, opt_name, opt_kw, groups=2)
    for i in range(40):
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12, abs=1e-15), (i, s.get_last_lr())
        assert _momenta(opt) == pytest.approx(_momenta(topt), rel=1e-12), i
        topt.step()
        if i < 39 or cls_name != "OneCycleLR":
            s.step()
            ts.step()
    if cls_name == "OneCycleLR":  # torch counts total_steps - 1 steps after the first rate; one more raises
        s.step(), ts.step()
        with pytest.raises(ValueError, match="total_steps is 40"):
            s.step()


@pytest.mark.parametrize("cls_name,kw", SCHEDULES, ids=[f"{c}-{'-'.join(k) or 'defaults'}" for c, k in SCHEDULES])
def test_scheduler_state_dict_resumes_as_torch(cls_name, kw):
    opt, topt, s, ts = _sched_pair(cls_name, kw, groups=2)
    topt.step()
    for _ in range(9):
        s.step(), ts.step()
    sd = s.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == ts.state_dict()["last_epoch"]
    opt2, _, s2, _ = _sched_pair(cls_name, kw, groups=2)
    for g2, g in zip(opt2.param_groups, opt.param_groups):
        g2.update({k: v for k, v in g.items() if k != "params"})
    s2.load_state_dict(sd)
    for _ in range(12):
        s2.step(), ts.step()
        assert s2.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12, abs=1e-15)
        assert _momenta(opt2) == pytest.approx(_momenta(topt), rel=1e-12)


@pytest.mark.parametrize("cls_name,kw", [
    ("ExponentialLR", dict(gamma=0.8)), ("MultiStepLR", dict(milestones=[2, 5, 5])),
    ("ConstantLR", dict(factor=0.5, total_iters=4)), ("PolynomialLR", dict(total_iters=6, power=1.5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2)), ("CosineAnnealingWarmRestarts", dict(T_0=4)),
])
def test_step_with_an_epoch_jumps_by_the_closed_form_as_torch(cls_name, kw):
    _, _, s, ts = _sched_pair(cls_name, kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (3, 1, 8, 0, 5, 2.5, 11.25, 20):
            if isinstance(epoch, float) and cls_name != "CosineAnnealingWarmRestarts":
                continue
            s.step(epoch)
            ts.step(epoch)
            assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12, abs=1e-15), epoch


# a metric that improves, stalls, improves by less than the thresholds, and rises (for 'max' mode: falls)
_METRIC = [1.0, 0.9, 0.8, 0.8, 0.8, 0.79999, 0.8, 0.7, 0.7, 0.7, 0.7, 0.69, 0.7, 0.7, 0.7, 0.7, 0.7, 0.5] * 3


@pytest.mark.parametrize("kw", [
    dict(), dict(patience=1), dict(patience=2, factor=0.5, cooldown=2),
    dict(patience=1, threshold_mode="abs", threshold=0.005), dict(patience=0, min_lr=0.02, factor=0.3),
    dict(mode="max", patience=1), dict(mode="max", patience=1, threshold_mode="abs", threshold=0.01, cooldown=1),
    dict(patience=0, min_lr=[0.001, 0.05], eps=1e-3),
], ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
def test_reduce_lr_on_plateau_matches_torch(kw):
    opt, topt, s, ts = _sched_pair("ReduceLROnPlateau", kw, groups=2)
    sign = -1 if kw.get("mode") == "max" else 1
    for i, v in enumerate(_METRIC):
        s.step(sign * v)
        ts.step(sign * v)
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12), i
        assert (s.num_bad_epochs, s.cooldown_counter, s.best) == (ts.num_bad_epochs, ts.cooldown_counter, ts.best)
    assert s.get_last_lr() != [0.1, 0.2]  # the rate really dropped
    s2 = L.ReduceLROnPlateau(tt.optim.SGD([nn.Parameter(np.zeros(2, np.float32))], lr=0.1), **{
        k: v for k, v in kw.items() if k != "min_lr"})
    s2.load_state_dict(s.state_dict())
    assert (s2.best, s2.num_bad_epochs, s2.mode, s2.last_epoch) == (s.best, s.num_bad_epochs, s.mode, s.last_epoch)


def test_reduce_lr_on_plateau_takes_a_tensor_metric():
    _, _, s, ts = _sched_pair("ReduceLROnPlateau", dict(patience=0))
    for v in (1.0, 1.0, 2.0):
        s.step(tt.tensor(np.float32(v)) * 1)
        ts.step(torch.tensor(v))
    assert s.get_last_lr() == pytest.approx(ts.get_last_lr())


def test_chained_scheduler_matches_torch():
    opt, topt, s, ts = _sched_pair("ExponentialLR", dict(gamma=0.9))
    c = L.ChainedScheduler([s, L.MultiStepLR(opt, [3, 6], 0.5)])
    tc = TL.ChainedScheduler([ts, TL.MultiStepLR(topt, [3, 6], 0.5)])
    topt.step()
    for _ in range(10):
        c.step(), tc.step()
        assert c.get_last_lr() == pytest.approx(tc.get_last_lr(), rel=1e-12)


def test_scheduler_argument_errors_are_clear():
    opt = tt.optim.Adagrad([nn.Parameter(np.zeros(2, np.float32))], lr=0.1)
    with pytest.raises(ValueError, match="cycle_momentum needs an optimizer with a momentum or betas"):
        L.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    with pytest.raises(ValueError, match="pass total_steps, or epochs and steps_per_epoch"):
        L.OneCycleLR(opt, max_lr=1.0, cycle_momentum=False)
    with pytest.raises(ValueError, match="anneal_strategy must be 'cos' or 'linear'"):
        L.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="exp", cycle_momentum=False)
    with pytest.raises(ValueError, match="max_lr must have one value per parameter group"):
        L.CyclicLR(opt, 0.1, [1.0, 2.0], cycle_momentum=False)
    with pytest.raises(ValueError, match="mode must be 'triangular'"):
        L.CyclicLR(opt, 0.1, 1.0, mode="sine", cycle_momentum=False)
    with pytest.raises(ValueError, match="threshold_mode must be 'rel' or 'abs'"):
        L.ReduceLROnPlateau(opt, threshold_mode="pct")
    with pytest.raises(ValueError, match="T_mult must be an int >= 1"):
        L.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0)
    with pytest.raises(ValueError, match=r"ConstantLR: factor must be in \[0, 1\]"):
        L.ConstantLR(opt, factor=2.0)


# ---------------------------------------------------------------- the Program contract with cycling schedules

@pytest.mark.parametrize("opt_name,opt_kw", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                             ("RMSprop", dict(lr=0.01, momentum=0.9)),
                                             ("Adam", dict(lr=0.01)), ("NAdam", dict(lr=0.01)),
                                             ("RAdam", dict(lr=0.01))])
def test_one_cycle_momentum_is_data_no_recompiles_and_torch_values(opt_name, opt_kw):
    m, tm = _mlp_pair()
    opt, topt = getattr(tt.optim, opt_name)(m.parameters(), **opt_kw), \
        getattr(torch.optim, opt_name)(tm.parameters(), **opt_kw)
    s, ts = L.OneCycleLR(opt, max_lr=0.05, total_steps=12), TL.OneCycleLR(topt, max_lr=0.05, total_steps=12)
    tt.reset_stats()
    compiles = []
    for x, y in _batches(12):
        loss, tloss = _step_both(opt, topt, m, tm, x, y)
        np.testing.assert_allclose(loss, tloss, rtol=1e-5)
        s.step(), ts.step()
        compiles.append(tt.stats()["compiles"])
    assert len(set(_momenta(opt))) == 1 and _momenta(opt) == pytest.approx(_momenta(topt))
    assert compiles[-1] == compiles[1] <= 2, compiles  # SGD's first momentum step is its own Program
    _assert_same_weights(m, tm)


def test_captured_step_replays_with_cycled_momentum_bit_for_bit():
    data = _batches(10)

    def train(captured):
        tt.manual_seed(0)
        m = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
        opt = tt.optim.RAdam(m.parameters(), lr=0.01)
        sched = L.CyclicLR(opt, base_lr=0.001, max_lr=0.02, step_size_up=3)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(m(x), y)
            loss.backward()
            opt.step()
            return loss

        fn = tt.compile(step) if captured else step
        losses = []
        for x, y in data:
            losses.append(fn(tt.tensor(x), tt.tensor(y)).item())
            sched.step()
        return losses, [p.numpy().copy() for p in m.parameters()], fn

    plain, cap = train(False), train(True)
    assert plain[0] == cap[0]
    for a, b in zip(plain[1], cap[1]):
        np.testing.assert_array_equal(a, b)
    assert cap[2].replays >= len(data) - 2 and not math.isnan(cap[0][-1])
