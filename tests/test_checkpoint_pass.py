"""Gradient checkpointing (compiler/passes/checkpoint.py, tinytorch/checkpointing.py): the gradients are the same
floats as without it, bit for bit; the planned peak meets the budget or the error names the reachable one;
`tinytorch.checkpoint` regions recompute; the pass switches off by name. (tests/test_checkpoint.py is about
saving models to disk.)"""
import contextlib
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.train import Trainer

ACTS = {"relu": tt.relu, "tanh": tt.tanh, "sigmoid": tt.sigmoid, "gelu": tt.gelu}


def _mlp(rng, depth, width, acts, residual):
    ws = [tt.tensor(rng.standard_normal((width, width)).astype(np.float32) / width ** 0.5, requires_grad=True)
          for _ in range(depth)]
    bs = [tt.tensor(rng.standard_normal(width).astype(np.float32) * 0.1, requires_grad=True) for _ in range(depth)]
    return ws, bs, lambda x: _forward(x, ws, bs, acts, residual)


def _forward(x, ws, bs, acts, residual):
    h = x
    for w, b, act, res in zip(ws, bs, acts, residual):
        out = ACTS[act](h @ w + b)
        h = out + h if res else out
    return (h * h).mean()


def grads_of(spec, ctx):
    """(the Program, the gradient arrays) of one random MLP-like graph computed under `ctx`."""
    seed, depth, width, batch, acts, residual = spec
    rng = np.random.default_rng(seed)
    ws, bs, f = _mlp(rng, depth, width, acts, residual)
    x = tt.tensor(rng.standard_normal((batch, width)).astype(np.float32))
    return backward_under(f(x), ws + bs, ctx)


def backward_under(loss, params, ctx):
    """(the Program, the gradient arrays) of `loss` with respect to `params`, computed under `ctx`."""
    loss.backward()
    grads = [p.grad for p in params]
    with ctx:
        prog = tt.plan(loss, *grads)
        tt.realize(loss, *grads)
    return prog, [g.numpy() for g in grads]


def same_bits(a, b):
    return len(a) == len(b) and all(x.dtype == y.dtype and x.tobytes() == y.tobytes() for x, y in zip(a, b))


specs = st.integers(2, 6).flatmap(lambda d: st.tuples(
    st.integers(0, 2 ** 16), st.just(d), st.sampled_from([8, 16, 24]), st.sampled_from([4, 16]),
    st.lists(st.sampled_from(sorted(ACTS)), min_size=d, max_size=d),
    st.lists(st.booleans(), min_size=d, max_size=d)))


EXAMPLES = 12 if tt.get_backend() == "numpy" else 4  # each native example compiles two Programs


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=specs, strategy=st.sampled_from(["sqrt", "mincut"]), squeeze=st.sampled_from([None, 0.8, 0.6]))
def test_random_graphs_same_gradients_bit_for_bit(spec, strategy, squeeze):
    plain_prog, plain = grads_of(spec, contextlib.nullcontext())
    budget = None if squeeze is None else int(plain_prog.memory_plan.peak_bytes * squeeze)
    try:
        prog, got = grads_of(spec, tt.memory_budget(budget, strategy))
    except tt.BudgetTooSmall as e:  # the error names a peak that is reachable: that budget is met
        reachable = int(re.search(r"smallest peak it reaches is (\d+) B", str(e)).group(1))
        assert reachable > budget
        prog, got = grads_of(spec, tt.memory_budget(reachable, strategy))
        budget = reachable
    assert same_bits(plain, got)
    assert prog.checkpoint is not None and prog.memory_plan.verify()
    if budget is not None:
        assert prog.memory_plan.peak_bytes <= budget


def _deep_spec():
    return (7, 8, 32, 16, ["relu"] * 8, [False] * 8)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
@pytest.mark.parametrize("strategy", ["sqrt", "mincut"])
def test_deep_mlp_recomputes_lowers_the_peak_and_keeps_the_bits(backend, strategy):
    with tt.using_backend(backend):
        plain_prog, plain = grads_of(_deep_spec(), contextlib.nullcontext())
        prog, got = grads_of(_deep_spec(), tt.memory_budget(None, strategy))
    assert same_bits(plain, got)
    assert prog.recomputed_kernels and prog.checkpoint.recomputed
    assert prog.memory_plan.peak_bytes < plain_prog.memory_plan.peak_bytes
    if backend == "llvm":
        assert all(low.backend == "llvm" for low in prog.lowered)


def test_budget_is_met_or_the_error_names_the_smallest_peak():
    plain_prog, plain = grads_of(_deep_spec(), contextlib.nullcontext())
    base = plain_prog.memory_plan.peak_bytes
    budget = int(base * 0.75)
    prog, got = grads_of(_deep_spec(), tt.memory_budget(budget))
    assert prog.memory_plan.peak_bytes <= budget < base and same_bits(plain, got)
    assert prog.checkpoint.budget == budget and prog.checkpoint.peak == prog.memory_plan.peak_bytes
    with pytest.raises(tt.BudgetTooSmall, match=r"cannot fit 1000 B .* smallest peak it reaches is \d+ B") as e:
        grads_of(_deep_spec(), tt.memory_budget(1000))
    reachable = int(re.search(r"reaches is (\d+) B", str(e.value)).group(1))
    prog, got = grads_of(_deep_spec(), tt.memory_budget(reachable))
    assert prog.memory_plan.peak_bytes <= reachable < base and same_bits(plain, got)


def test_plenty_of_budget_changes_nothing_and_the_pass_switches_off():
    plain_prog, plain = grads_of(_deep_spec(), contextlib.nullcontext())
    prog, got = grads_of(_deep_spec(), tt.memory_budget(plain_prog.memory_plan.peak_bytes))
    assert not prog.recomputed_kernels and prog.memory_plan.peak_bytes == plain_prog.memory_plan.peak_bytes
    with tt.disable_passes("checkpoint"):
        prog, got = grads_of(_deep_spec(), tt.memory_budget(1000))
    assert prog.checkpoint is None and same_bits(plain, got)
    assert "checkpoint" in tt.PASS_NAMES


def test_bad_budget_or_strategy_is_refused_at_the_call():
    with pytest.raises(ValueError, match="unknown strategy 'chen'"):
        with tt.memory_budget(10, "chen"):
            pass
    with pytest.raises(ValueError, match="number of bytes"):
        with tt.memory_budget(-5):
            pass


def _cnn_grads(ctx, seed=0):
    tt.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    x = tt.randn(4, 3, 8, 8).realize()
    y = tt.tensor(np.arange(4) % 10)
    return backward_under(nn.functional.cross_entropy(model(x), y), list(model.parameters()), ctx)


@pytest.mark.parametrize("strategy", ["sqrt", "mincut"])
def test_small_cnn_same_gradients_bit_for_bit(strategy):
    plain_prog, plain = _cnn_grads(contextlib.nullcontext())
    budget = int(plain_prog.memory_plan.peak_bytes * 0.8)
    try:
        prog, got = _cnn_grads(tt.memory_budget(budget, strategy))
    except tt.BudgetTooSmall as e:
        budget = int(re.search(r"reaches is (\d+) B", str(e)).group(1))
        prog, got = _cnn_grads(tt.memory_budget(budget, strategy))
    assert same_bits(plain, got)
    assert prog.recomputed_kernels and prog.memory_plan.peak_bytes <= budget


def _dropout_grads(ctx):
    tt.manual_seed(11)
    model = nn.Sequential(*[m for _ in range(5) for m in (nn.Linear(24, 24), nn.ReLU(), nn.Dropout(0.3))])
    return backward_under(model(tt.randn(16, 24).realize()).square().mean(), list(model.parameters()), ctx)


def test_dropout_masks_are_kept_not_drawn_again():
    plain_prog, plain = _dropout_grads(contextlib.nullcontext())
    prog, got = _dropout_grads(tt.memory_budget(None, "sqrt"))
    assert prog.recomputed_kernels and same_bits(plain, got)
    assert not any(i.op == "rand" for i in prog.checkpoint.recomputed)


def _region_step(use_checkpoint):
    tt.manual_seed(3)
    blocks = [nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh()) for _ in range(3)]
    head = nn.Linear(32, 4)
    params = [p for b in blocks for p in b.parameters()] + list(head.parameters())
    opt = optim.SGD(params, lr=0.1)
    x, y = tt.randn(16, 32).realize(), tt.randn(16, 4).realize()
    for _ in range(2):
        h = x
        for b in blocks:
            h = tt.checkpoint(b, h, use_reentrant=False) if use_checkpoint else b(h)
        loss = ((head(h) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    prog = tt.compiler.realizer.cached_programs()[-1]  # the step's: forward, backward and update
    return prog, [p.numpy() for p in params] + [p.grad.numpy() for p in params]


def test_checkpoint_regions_recompute_with_the_same_gradients():
    plain_prog, plain = _region_step(False)
    prog, got = _region_step(True)
    assert same_bits(plain, got)
    assert prog.checkpoint.strategy == "marked" and prog.recomputed_kernels
    assert prog.memory_plan.peak_bytes < plain_prog.memory_plan.peak_bytes


def test_explain_and_the_memory_plan_picture_mark_what_is_recomputed(tmp_path):
    rng = np.random.default_rng(0)
    ws, bs, f = _mlp(rng, 6, 16, ["relu"] * 6, [False] * 6)
    loss = f(tt.tensor(rng.standard_normal((8, 16)).astype(np.float32)))
    loss.backward()
    grads = [p.grad for p in ws + bs]
    with tt.memory_budget(None, "sqrt"):
        text = tt.explain(loss, *grads)
        prog = tt.plan(loss, *grads)
    assert "== checkpointing" in text and "recomputed for the backward" in text and "kept  " in text
    assert re.search(r"checkpoint\s+\d+ -> \d+\s+nodes", text)
    svg = tt.viz.draw_memory_plan(prog, tmp_path / "plan.svg").read_text()
    assert svg.count("(recomputed)") >= 1 and len(prog.recomputed_kernels) >= 1


def _train(budget, how):
    """Parameters after 3 steps of a deep MLP, and the last step's Program; `how`: plain, compile, trainer."""
    tt.manual_seed(5)
    model = nn.Sequential(*[m for _ in range(8) for m in (nn.Linear(32, 32), nn.ReLU())], nn.Linear(32, 3))
    opt = optim.SGD(model.parameters(), lr=0.05)
    x, y = tt.randn(32, 32).realize(), tt.tensor(np.arange(32) % 3)

    def step(x, y):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    if how == "trainer":
        trainer = Trainer(model, opt, [], memory_budget=budget, progress=False)
        for _ in range(3):
            trainer.train_step(x, y)
    else:
        f = tt.compile(step, memory_budget=budget) if how == "compile" else step
        for _ in range(3):
            f(x, y)
    return [p.numpy() for p in model.parameters()], tt.compiler.realizer.cached_programs()[-1]


@pytest.mark.parametrize("how", ["compile", "trainer"])
def test_trainer_and_compile_take_a_budget(how):
    plain, plain_prog = _train(None, "plain")
    budget = int(plain_prog.memory_plan.peak_bytes * 0.8)
    got, prog = _train(budget, how)
    assert same_bits(plain, got)
    assert prog.recomputed_kernels and prog.memory_plan.peak_bytes <= budget
