"""Eager and lazy give the same answers; the Program cache makes a repeated computation compile once.

Each composition runs lazily (one compiled Program) and under
`tinytorch.eager()` (every op computed the moment it is built, no compiler);
with the NumPy backend the two must agree bit for bit. `TINYTORCH_EAGER=1` is
checked in a subprocess, since it is read at import.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import compiler as C

_r = np.random.default_rng(5)
X = _r.standard_normal((4, 5)).astype(np.float32)
W = _r.standard_normal((5, 3)).astype(np.float32)
B = _r.standard_normal(3).astype(np.float32)
I = _r.integers(-9, 10, (4, 5))
LABELS = np.array([0, 2, 1, 2])


def _layernorm(x):
    mu = x.mean(-1, keepdim=True)
    return (x - mu) / (x.var(-1, keepdim=True, unbiased=False) + 1e-5).sqrt()


def _cross_entropy(x, w, b):
    logits = x @ w + b
    return -(logits.log_softmax(-1)[tt.arange(4), tt.tensor(LABELS)]).mean()


COMPOSITIONS = {
    "mlp": lambda x, w, b, i: ((x @ w + b).relu() @ w.T).sum(1),
    "activations": lambda x, w, b, i: x.gelu() + x.gelu(approximate="tanh") * x.silu() - x.softplus() / x.sigmoid(),
    "transcendental": lambda x, w, b, i: (x.exp() + 1).log() * x.tanh() + x.abs().sqrt().rsqrt() + x.sin() * x.cos(),
    "softmax family": lambda x, w, b, i: (x.softmax(-1), x.log_softmax(0), x.logsumexp((0, 1))),
    "layernorm": lambda x, w, b, i: _layernorm(x) * b.sum() + 1,
    "reductions": lambda x, w, b, i: (x.max(1).values, x.min(0).indices, x.argmax(), x.std(0), x.sum((0, 1))),
    "movement": lambda x, w, b, i: tt.cat([x[1:, ::2], x[:3, None, 4].reshape(3, 1)], 1).T.flatten() * 2,
    "stack/expand/repeat": lambda x, w, b, i: tt.stack([x, x.flip(0)], 1).sum(-1) + b.repeat(2)[:1].expand(4, 2),
    "indexing": lambda x, w, b, i: x[tt.tensor([3, 0, -1])][:, tt.tensor([1, 1])] + x[1:, ..., 2:3],
    "integer math": lambda x, w, b, i: (i // 4 + i % 3 * 2 - (i ** 2) // 7, i / 3, (i > 0) & (i < 5)),
    "promotion": lambda x, w, b, i: (i + x, i * 0.5 + 1, (i > 2).long() + x.int(), x.half() + 1.5),
    "where/clamp": lambda x, w, b, i: tt.where(x > 0, x.clamp(max=0.5), i.clamp(-2, 2)) + tt.minimum(x, -x),
    "cross entropy": lambda x, w, b, i: _cross_entropy(x, w, b),
    "creation": lambda x, w, b, i: tt.eye(4, 5) * x + tt.full((5,), 0.5) + tt.arange(5) - tt.zeros_like(x),
}


def _run(fn):
    out = fn(tt.tensor(X), tt.tensor(W), tt.tensor(B), tt.tensor(I))
    out = out if isinstance(out, tuple) else (out,)
    return [o.numpy().copy() for o in out]


def _assert_same(lazy, eager):
    assert len(lazy) == len(eager)
    for a, b in zip(lazy, eager):
        assert a.dtype == b.dtype and a.shape == b.shape
        if C.Options.current().backend == "numpy":
            np.testing.assert_array_equal(a, b)  # the same NumPy calls: bit for bit
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_eager_equals_lazy(name):
    fn = COMPOSITIONS[name]
    lazy = _run(fn)
    before = tt.stats()["compiles"] + tt.stats()["cache_hits"]
    with tt.eager():
        assert tt.is_eager()
        eager = _run(fn)
    assert tt.stats()["compiles"] + tt.stats()["cache_hits"] == before, "eager mode went through the compiler"
    assert not tt.is_eager()
    _assert_same(lazy, eager)


def test_eager_computes_each_op_when_built():
    x = tt.tensor(X)
    with tt.eager():
        y = x * 2
        assert y.is_realized
        z = y.exp().sum(0)
        assert z.is_realized
    w = y + 1
    assert not w.is_realized  # back to lazy
    np.testing.assert_allclose(w.numpy(), X * 2 + 1, rtol=1e-6)


def test_entering_eager_realizes_lazy_sources():
    a = tt.tensor(X) * 3  # built lazily
    with tt.eager():
        b = a + 1
        assert b.is_realized
    np.testing.assert_array_equal(b.numpy(), X * np.float32(3) + np.float32(1))


def test_random_agrees_between_modes():
    tt.manual_seed(11)
    lazy = [tt.rand(3, 4).numpy(), tt.randn(6).numpy(), tt.randint(0, 9, (5,)).numpy()]
    tt.manual_seed(11)
    with tt.eager():
        eager = [tt.rand(3, 4).numpy(), tt.randn(6).numpy(), tt.randint(0, 9, (5,)).numpy()]
    _assert_same(lazy, eager)


_CHILD = r"""
import json, sys
import numpy as np
import tinytorch as tt
x = tt.tensor(np.array(json.loads(sys.argv[1]), np.float32))
y = x * 2
realized_at_once = y.is_realized
out = ((x @ x.T).softmax(-1) + x.gelu().sum()).numpy()
print(json.dumps({"eager": tt.is_eager(), "now": realized_at_once, "compiles": tt.stats()["compiles"],
                  "out": out.tolist(), "dtype": out.dtype.name}))
"""


def _child(env_value):
    env = dict(os.environ, TINYTORCH_EAGER=env_value)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    res = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(X.tolist())], env=env, cwd=root,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_env_var_turns_on_eager():
    eager, lazy = _child("1"), _child("0")
    assert eager["eager"] and eager["now"] and eager["compiles"] == 0
    assert not lazy["eager"] and not lazy["now"] and lazy["compiles"] == 1
    x = tt.tensor(X)
    here = ((x @ x.T).softmax(-1) + x.gelu().sum()).numpy()
    for child in (eager, lazy):
        got = np.array(child["out"], dtype=child["dtype"])
        _assert_same([here], [got])


def test_same_computation_on_new_data_compiles_once():
    C.clear_cache()
    tt.reset_stats()
    rng = np.random.default_rng(0)
    outs = []
    for step in range(5):
        x = tt.tensor(rng.standard_normal((8, 5)).astype(np.float32))
        w = tt.tensor(rng.standard_normal((5, 3)).astype(np.float32))
        y = ((x @ w).relu().log_softmax(-1) * tt.arange(3)).sum(0)
        before = tt.stats()["realizes"]
        assert not y.is_realized and tt.stats()["realizes"] == before  # building computed nothing
        outs.append(y.numpy())
        want = np.maximum(x.numpy() @ w.numpy(), 0)
        want = want - np.log(np.exp(want - want.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
            - want.max(-1, keepdims=True)
        np.testing.assert_allclose(outs[-1], (want * np.arange(3)).sum(0), rtol=1e-5, atol=1e-5)
    s = tt.stats()
    assert (s["realizes"], s["compiles"], s["cache_hits"]) == (5, 1, 4)
    assert not all(np.array_equal(outs[0], o) for o in outs[1:])  # new data, new answers
    x = tt.tensor(np.ones((9, 5), np.float32))  # a new shape is a new program
    ((x @ tt.tensor(np.ones((5, 3), np.float32))).relu().log_softmax(-1) * tt.arange(3)).sum(0).realize()
    assert tt.stats()["compiles"] == 2


def test_stats_keys():
    s = tt.stats()
    assert {"realizes", "compiles", "cache_hits"} <= set(s)
    tt.reset_stats()
    assert tt.stats()["realizes"] == tt.stats()["compiles"] == tt.stats()["cache_hits"] == 0


def _digits_mlp_step():
    from tinytorch import nn
    from tinytorch.nn import functional as F
    rng = np.random.default_rng(0)
    x, y = tt.tensor(rng.standard_normal((32, 16), dtype=np.float32)), tt.tensor(rng.integers(0, 4, 32))
    tt.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 24), nn.ReLU(), nn.Linear(24, 4))
    opt = tt.optim.Adam(model.parameters(), lr=0.05)

    def loss_now():
        with tt.no_grad():
            return F.cross_entropy(model(x), y).numpy().item()

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.numpy().item()
    return loss_now, step


def test_a_lazy_step_after_eager_steps_reports_the_loss_before_its_update_and_does_not_recompile():
    """Eager mode computes an optimizer's assigns as they are built. They must still settle into plain parameter
    buffers: the next lazy step's loss was once computed after its own update (a computed assign read as 'not
    reading the buffer'), and the step compiled again because its parameters were assign nodes."""
    loss_now, step = _digits_mlp_step()
    step(), step()  # lazy: compiles the step
    with tt.eager():
        step()
    compiles = tt.stats()["compiles"]
    for _ in range(2):
        before = loss_now()
        assert step() == before
    assert tt.stats()["compiles"] == compiles + 1  # loss_now's forward only (the step itself is a cache hit)


def test_a_lazy_reader_of_an_eager_in_place_write_is_computed_before_the_next_write():
    x = tt.tensor(np.arange(4, dtype=np.float32))
    with tt.eager():
        x[0] = 10.0  # x's node: a computed assign
    y = x * 2  # pending, reads x's buffer through that assign
    x.add_(1)
    tt.realize(x)  # overwrites x's buffer: y must be computed first, from the old contents
    np.testing.assert_array_equal(y.numpy(), [20, 2, 4, 6])
    np.testing.assert_array_equal(x.numpy(), [11, 2, 3, 4])
