"""The plain training step's Python fast paths build exactly the graph the general paths build, and the
Trainer's captured step (its default) gives exactly the results of the uncaptured one.

- optimizer updates are built as nodes (`tinytorch/optim/update_math.py`): the compiled Program must be the
  one the Tensor formula makes (same structural key), for every option of Adam, AdamW and SGD;
- scalar constants come from a cache (`elementwise.scalar_const`): -0.0 stays apart from 0.0, 1 from True;
- broadcasting's fast path gives NumPy's shapes and still refuses what NumPy refuses;
- `Trainer(compile=True)` (the default) and `compile=False` log the same losses and end on the same weights.
"""
import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch import data as D, nn, optim
from tinytorch.compiler import realizer
from tinytorch.elementwise import broadcast_shapes, scalar_const
from tinytorch.optim import adam as adam_mod, sgd as sgd_mod
from tinytorch.train import Trainer


# ---------------------------------------------------------------- the optimizers' node-built updates

def _adam_tensor_update(self, p, grad, group, state, lr, step_size, bias2_sqrt):
    """Adam's update written with Tensor ops (the formula before the node fast path): the reference graph."""
    beta1, beta2 = group["betas"]
    wd, eps = group["weight_decay"], group["eps"]
    if group["maximize"]:
        grad = -grad
    param = p
    if wd and self._decoupled:
        param = p * (1 - lr * wd).to(p.dtype)
    elif wd:
        grad = grad + p * wd
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.assign(m + (grad - m) * (1 - beta1))
    v.assign(v * beta2 + grad * grad * (1 - beta2))
    second, out = v, [m, v]
    if group["amsgrad"]:
        vmax = state["max_exp_avg_sq"]
        vmax.assign(tt.maximum(vmax, v))
        second = vmax
        out.append(vmax)
    denom = second.sqrt() / bias2_sqrt + eps
    p.assign(param - step_size * m / denom)
    return out + [p]


def _sgd_tensor_update(self, p, grad, group, state, lr):
    d_p = -grad if group["maximize"] else grad
    if group["weight_decay"]:
        d_p = d_p + p * group["weight_decay"]
    out = []
    m = group["momentum"]
    if m:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = optim.optimizer.state_buffer(np.zeros(p.shape, p.dtype))
            buf.assign(d_p)
        else:
            buf.assign(buf * m + d_p * (1 - group["dampening"]))
        out.append(buf)
        d_p = d_p + buf * m if group["nesterov"] else buf
    p.assign(p - d_p * lr.to(p.dtype))
    return out + [p]


def _keys_and_weights(name, kw, monkeypatch, reference):
    if reference:
        monkeypatch.setattr(adam_mod.Adam, "_update", _adam_tensor_update)
        monkeypatch.setattr(sgd_mod.SGD, "_update", _sgd_tensor_update)
    keys, plan = [], realizer.plan

    def recording_plan(targets, options=None, order=None):
        keys.append(realizer.linearize(targets, order)[2])
        return plan(targets, options, order)
    monkeypatch.setattr(realizer, "plan", recording_plan)
    tt.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    opt = getattr(optim, name)(model.parameters(), **kw)
    rng = np.random.default_rng(0)
    x, y = tt.tensor(rng.standard_normal((4, 6)).astype(np.float32)), tt.tensor(np.array([0, 1, 2, 1]))
    for _ in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
    monkeypatch.undo()
    return keys, [p.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("name,kw", [
    ("Adam", {}), ("Adam", dict(weight_decay=0.1)), ("Adam", dict(amsgrad=True, maximize=True)),
    ("AdamW", {}), ("AdamW", dict(amsgrad=True, weight_decay=0.05)),
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5, maximize=True)),
])
def test_node_built_update_is_the_tensor_formulas_graph(name, kw, monkeypatch):
    want_keys, want = _keys_and_weights(name, kw, monkeypatch, reference=True)
    got_keys, got = _keys_and_weights(name, kw, monkeypatch, reference=False)
    assert len(got_keys) == 3 and got_keys == want_keys
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


# ---------------------------------------------------------------- per-op fast paths

def test_scalar_const_cache_keeps_values_apart():
    f32 = np.dtype("float32")
    pos, neg = scalar_const(0.0, (3,), f32), scalar_const(-0.0, (3,), f32)
    assert pos is not neg and np.signbit(neg.arg[0]) and not np.signbit(pos.arg[0])
    assert scalar_const(True, (2,), np.dtype("bool")).arg[0] is True
    assert type(scalar_const(True, (2,), np.dtype("int64")).arg[0]) is int
    assert scalar_const(2.5, (2, 2), f32) is scalar_const(2.5, (2, 2), f32)
    assert scalar_const(2.5, (2, 2), f32).arg == (2.5, (2, 2), f32)
    x = tt.tensor(np.array([1.0, -2.0, 3.0], np.float32))
    np.testing.assert_array_equal((x * -0.0).numpy(), np.array([1.0, -2.0, 3.0], np.float32) * -0.0)
    assert np.signbit((x * -0.0).numpy()).tolist() == np.signbit(np.float32([1, -2, 3]) * -0.0).tolist()


def test_a_pinned_constant_that_gets_computed_is_let_go():
    f32 = np.dtype("float32")
    pinned = scalar_const(7.25, (5,), f32)
    assert scalar_const(7.25, (5,), f32) is pinned and pinned.arg[0] == 7.25
    t = tt.full((5,), 7.25)  # the same const node (hash-consed), realized as a target
    assert t.node is pinned
    t.realize()
    assert pinned._value is not None
    fresh = scalar_const(7.25, (5,), f32)
    assert fresh is pinned  # still alive here (we hold it), so hash-consing finds it...
    del t, fresh, pinned
    again = scalar_const(7.25, (5,), f32)
    assert again._value is None  # ...but the cache no longer keeps it: a new build is a pending constant
    assert not tt.full((5,), 7.25).is_realized


@pytest.mark.parametrize("shapes", [((3, 1), (1, 4)), ((5, 3, 1), (3, 4)), ((), (2, 3)), ((2, 1, 3), (2, 1, 3)),
                                    ((0, 1), (1, 5)), ((1,), (4,), (3, 1)), ((2, 3),)])
def test_broadcast_shapes_matches_numpy(shapes):
    assert broadcast_shapes(*shapes) == np.broadcast_shapes(*shapes)


@pytest.mark.parametrize("shapes", [((3,), (4,)), ((2, 3), (3, 2)), ((1, 3), (2, 1), (2, 4))])
def test_broadcast_shapes_refuses_what_numpy_refuses(shapes):
    with pytest.raises(ValueError, match="cannot broadcast"):
        broadcast_shapes(*shapes, op="add")


# ---------------------------------------------------------------- the Trainer's captured step

def _fit(compile, epochs=2, to_tensor=True):
    tt.manual_seed(3)
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((100, 12)).astype(np.float32)
    ys = rng.integers(0, 4, 100)
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 4))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    train = D.DataLoader(D.TensorDataset(xs, ys), 32, shuffle=True, seed=7,  # a last batch of 4: a second guard
                         to_tensor=to_tensor)
    trainer = Trainer(model, opt, train, progress=False, compile=compile)
    history = trainer.fit(epochs)
    return trainer, history, [p.numpy().copy() for p in model.parameters()]


def test_trainer_captured_step_gives_the_uncaptured_results():
    plain, plain_hist, plain_w = _fit(compile=False)
    captured, cap_hist, cap_w = _fit(compile=True, epochs=3)
    assert plain._captured is None and captured._captured.replays > 0
    assert not captured._captured.why_not_captured()
    _, again_hist, again_w = _fit(compile=False, epochs=3)
    for a, b in zip(cap_hist, again_hist):
        assert (a["train_loss"], a["train_acc"]) == (b["train_loss"], b["train_acc"])
    for a, b in zip(cap_w, again_w):
        np.testing.assert_array_equal(a, b)
    assert [r["train_loss"] for r in plain_hist] == [r["train_loss"] for r in again_hist[:2]]


# ---------------------------------------------------------------- the realize walk

def _random_graph(rng, n_nodes=60):
    """A random DAG of elementwise nodes over a few buffer leaves; some inner nodes already computed."""
    from tinytorch.compiler import ir
    from tinytorch.runtime import Buffer
    f32 = np.dtype("float32")
    nodes = [tt.compiler.leaf(Buffer(np.zeros(3, f32))) for _ in range(4)]
    for _ in range(n_nodes):
        k = int(rng.integers(1, 4))
        srcs = tuple(nodes[int(i)] for i in rng.integers(0, len(nodes), k))
        op = {1: "neg", 2: "add", 3: "where"}[k]
        if op == "where":
            srcs = (tt.compiler.build("cmplt", srcs[0], srcs[1]),) + srcs[1:]
        n = tt.compiler.build(op, *srcs)
        if rng.random() < 0.1 and n._value is None:
            ir.REALIZED[n] = Buffer(np.zeros(3, f32))
        nodes.append(n)
    return nodes


@pytest.mark.parametrize("seed", range(8))
def test_pending_walk_is_the_toposort_stopping_at_computed_nodes(seed):
    from tinytorch.compiler import ir
    rng = np.random.default_rng(seed)
    nodes = _random_graph(rng)
    first = [nodes[int(i)] for i in rng.integers(0, len(nodes), 3)]
    more = [nodes[int(i)] for i in rng.integers(0, len(nodes), 3)]
    computed = lambda n: n._value is not None  # noqa: E731
    want_seen, got_seen = set(), set()
    want = ir.toposort(first, computed, want_seen)
    got = ir.pending(first, got_seen)
    assert got == want and got_seen == want_seen
    assert ir.pending(more, got_seen, got) == ir.toposort(more, computed, want_seen, want)  # resumed
    assert got == ir.toposort(first + more, computed)


def test_trainer_runs_batches_of_python_data_uncaptured():
    trainer, hist, weights = _fit(compile=True, to_tensor=False)  # NumPy batches: made into tensors in the step
    assert trainer._captured.plans == {} and trainer._captured.traces == 0
    _, want_hist, want = _fit(compile=False)
    assert [r["train_loss"] for r in hist] == [r["train_loss"] for r in want_hist]
    for a, b in zip(weights, want):
        np.testing.assert_array_equal(a, b)
