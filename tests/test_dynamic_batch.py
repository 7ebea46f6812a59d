"""One compile for every batch size (compiler/symbolic.py, compiler/family.py): a step compiled at batch 128
serves the last partial batch and batch 1 without compiling again, and gives what a fixed-shape compile gives."""
import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.compiler import realizer
from tinytorch.compiler.family import Family
from tinytorch.data import DataLoader, TensorDataset
from tinytorch.nn.functional import cross_entropy


def _mlp_epoch(dynamic, n=1000, batch=128, seed=0):
    """One epoch of an MLP step over n samples: (losses, parameters after, compiles)."""
    tt.manual_seed(seed)
    rng = np.random.default_rng(seed)
    data = TensorDataset(rng.standard_normal((n, 20)).astype(np.float32), rng.integers(0, 5, n))
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    tt.clear_cache()
    before = tt.stats()["compiles"]
    losses = []
    for x, y in DataLoader(data, batch_size=batch, dynamic=dynamic, seed=seed):
        loss = cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.numpy().copy() for p in model.parameters()], tt.stats()["compiles"] - before


def _families():
    return [f for f in realizer._CACHE.values() if isinstance(f, Family)]


def test_epoch_with_a_partial_last_batch_compiles_once_and_equals_fixed_shapes():
    fixed_losses, fixed_params, fixed_compiles = _mlp_epoch(dynamic=False)
    losses, params, compiles = _mlp_epoch(dynamic=True)
    assert fixed_compiles == 2  # 7 batches of 128, then one of 104: a compile each shape
    assert compiles == 1
    np.testing.assert_allclose(losses, fixed_losses, rtol=1e-6, atol=1e-7)
    for a, b in zip(params, fixed_params):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    (fam,) = _families()
    assert sorted(fam.programs) == [104, 128]
    for prog in fam.programs.values():  # the memory plan of every size run holds
        assert prog.memory_plan.verify()
    assert fam.programs[104].memory_plan.peak_bytes < fam.programs[128].memory_plan.peak_bytes


def test_batch_one_inference_after_batch_128_does_not_compile():
    tt.manual_seed(1)
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))
    rng = np.random.default_rng(1)
    tt.clear_cache()
    outs = {}
    with tt.no_grad():
        for n in (128, 1, 37):
            x = rng.standard_normal((n, 12)).astype(np.float32)
            before = tt.stats()["compiles"]
            outs[n] = (x, model(tt.mark_dynamic(tt.tensor(x))).numpy())
            assert tt.stats()["compiles"] - before == (1 if n == 128 else 0)
        for n, (x, got) in outs.items():  # equal to a fixed-shape compile of the same size
            np.testing.assert_allclose(got, model(tt.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)


def _run(fn, x, dynamic):
    t = tt.tensor(x)
    return fn(tt.mark_dynamic(t) if dynamic else t).numpy()


@pytest.mark.parametrize("name, fn, ref", [
    # the batch baked into a non-leading dim: at another N this is not the same graph with N replaced
    ("reshape", lambda t: t.reshape(4, -1).sum(0), lambda x: x.reshape(4, -1).sum(0)),
    # a literal that happens to be 1/N at the first size (a "mean" by hand): must not be taken for 1/N
    ("literal", lambda t: t.sum(0) * (1.0 / 128), lambda x: x.sum(0) * np.float32(1.0 / 128)),
    # a shape-dependent constant: a column of the batch size
    ("arange", lambda t: t + tt.arange(t.shape[0]).float().reshape(-1, 1), lambda x: x + np.arange(len(x))[:, None]),
])
def test_graphs_that_are_not_batch_polymorphic_never_hit(name, fn, ref):
    rng = np.random.default_rng(2)
    tt.clear_cache()
    before = tt.stats()["compiles"]
    for n in (128, 96, 128, 96):
        x = rng.standard_normal((n, 8)).astype(np.float32)
        np.testing.assert_allclose(_run(fn, x, True), ref(x), rtol=1e-5, atol=1e-5)
    assert tt.stats()["compiles"] - before == 2  # one per size: no family spans both


def _random_graph(rng):
    """A random function of an (N, 6) input built from ops whose batch dim the analysis follows."""
    w = tt.tensor(rng.standard_normal((6, 6)).astype(np.float32))
    b = tt.tensor(rng.standard_normal(6).astype(np.float32))
    steps = [lambda t: t.relu(), lambda t: t.exp().log1p() if hasattr(t, "log1p") else t.tanh(),
             lambda t: t @ w, lambda t: t + b, lambda t: t - t.mean(0, keepdim=True),
             lambda t: t * t.sum(1, keepdim=True), lambda t: t.reshape(t.shape[0], 2, 3).transpose(1, 2)
             .reshape(t.shape[0], 6), lambda t: t.softmax(-1), lambda t: t * 0.5 + 1.0,
             lambda t: (t - t.mean(0, keepdim=True)) / (t.var(0, keepdim=True) + 1e-3).sqrt()]
    chosen = [steps[i] for i in rng.integers(0, len(steps), 5)]

    def f(t):
        for s in chosen:
            t = s(t)
        return t.sum(0)
    return f


@pytest.mark.parametrize("seed", range(6))
def test_random_graphs_equal_fixed_shape_compiles(seed):
    rng = np.random.default_rng(seed)
    f = _random_graph(rng)
    xs = {n: rng.standard_normal((n, 6)).astype(np.float32) for n in (64, 17, 1, 64, 5)}
    tt.clear_cache()
    dyn = {n: _run(f, x, True) for n, x in xs.items()}
    tt.clear_cache()
    for n, x in xs.items():
        np.testing.assert_allclose(dyn[n], _run(f, x, False), rtol=1e-4, atol=1e-4)  # sums that cancel to ~0


def _step_once(model, x, y, dynamic):
    opt = optim.SGD(model.parameters(), lr=0.1)
    xt, yt = tt.tensor(x), tt.tensor(y)
    if dynamic:
        tt.mark_dynamic(xt), tt.mark_dynamic(yt)
    loss = cross_entropy(model(xt), yt)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


@pytest.mark.parametrize("kind", ["cnn", "batchnorm"])
def test_cnn_and_batchnorm_steps_equal_fixed_shape_compiles(kind):
    def make():
        tt.manual_seed(3)
        if kind == "cnn":
            return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 3 * 3, 5))
        return nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 5))
    rng = np.random.default_rng(3)
    shape = (1, 8, 8) if kind == "cnn" else (10,)
    batches = [(rng.standard_normal((n,) + shape).astype(np.float32), rng.integers(0, 5, n)) for n in (16, 16, 7)]
    results = {}
    for dynamic in (True, False):
        model = make()
        tt.clear_cache()
        before = dict(tt.stats())
        results[dynamic] = ([_step_once(model, x, y, dynamic) for x, y in batches],
                            [p.numpy().copy() for p in model.parameters()],
                            {k: tt.stats()[k] - before[k] for k in ("compiles", "sizes_bound")})
    # the batch of 7 is bound to the family of 16 (a size whose native module differs, as a convolution's
    # tiling can, compiles its object code on a cold disk cache: counted in compiles, not a new graph)
    assert results[True][2]["sizes_bound"] == 1 and results[False][2]["sizes_bound"] == 0
    assert results[True][2]["compiles"] <= results[False][2]["compiles"]
    np.testing.assert_allclose(results[True][0], results[False][0], rtol=1e-5, atol=1e-6)
    for a, b in zip(results[True][1], results[False][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
