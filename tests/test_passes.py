"""Each graph pass on small graphs whose result is written out by hand."""
import numpy as np
import pytest

import tinytorch as tt
from tinytorch.compiler import ir, ops
from tinytorch.compiler.passes import Graph, fold, dce
from tinytorch.compiler.program import Options


def folded(*tensors):
    nodes = [t.node for t in tensors]
    order = ir.toposort(nodes, stop=lambda n: n.op == "buffer")
    g = Graph(tuple(nodes), tuple(order), frozenset(id(n) for n in order if n.op == "buffer"))
    g2, _ = fold(g)
    g3, _ = dce(g2)
    return g, g2, g3


def x_f32(shape=(3, 4)):
    return tt.tensor(np.arange(np.prod(shape), dtype=np.float32).reshape(shape) - 5)


def test_identities_fold_to_the_input():
    x = x_f32()
    for expr in (x * 1, 1 * x, x / 1, x - 0.0, -(-x), x.reshape(12).reshape(3, 4),
                 x.permute(1, 0).permute(1, 0), x.float()):
        _, _, g = folded(expr)
        assert g.targets[0] is x.node, expr.node
    s = x + x
    _, _, g = folded(s.detach())
    assert g.targets[0] is s.node  # detach is an identity for execution


def test_float_plus_zero_is_kept_but_minus_zero_folds():
    x = x_f32()
    _, _, g = folded(x + 0.0)
    assert g.targets[0].op == "add"  # -0.0 + 0.0 is +0.0: not an identity
    _, _, g = folded(x + (-0.0))
    assert g.targets[0] is x.node


def test_times_zero_folds_only_for_integers():
    i = tt.tensor(np.arange(6).reshape(2, 3))
    _, _, g = folded(i * 0)
    assert g.targets[0].op == "const" and g.targets[0].arg[0] == 0 and g.targets[0].shape == (2, 3)
    _, _, g = folded(x_f32() * 0)
    assert g.targets[0].op == "mul"  # NaN * 0 is NaN


def test_exp_log_is_not_folded_and_rand_never_is():
    x = x_f32()
    _, _, g = folded(x.log().exp())
    assert [n.op for n in g.nodes if n.op != "buffer"] == ["log", "exp"]
    r = tt.rand(3, 4)
    _, _, g = folded(r * 2)
    assert "rand" in [n.op for n in g.nodes]


def test_permute_chain_composes_and_expand_chain_merges():
    x = tt.tensor(np.zeros((2, 3, 4), np.float32))
    _, _, g = folded(x.permute(1, 2, 0).permute(2, 0, 1).permute(0, 2, 1))
    t = g.targets[0]
    assert t.op == "permute" and t.arg == (0, 2, 1) and t.srcs[0] is x.node
    y = tt.tensor(np.zeros((1, 4), np.float32))
    _, _, g = folded(y.expand(1, 4).expand(3, 4).reshape(3, 4) + 1)
    e = g.targets[0].srcs[0]
    assert e.op == "expand" and e.srcs[0] is y.node


def test_causal_mask_and_mean_scale_are_folded_constants():
    n = 5
    i = tt.arange(n)
    mask = i.reshape(n, 1) < i.reshape(1, n)  # arange-built index tensors: all constant
    _, _, g = folded(mask)
    t = g.targets[0]
    assert t.op == "constarr"
    np.testing.assert_array_equal(t.arg.array, np.arange(n)[:, None] < np.arange(n)[None, :])
    x = x_f32()
    _, _, g = folded(x.mean(1))
    consts = [m for m in g.nodes if m.op == "const"]
    assert len(consts) == 1 and consts[0].arg[0] == pytest.approx(0.25)


def test_constant_subgraph_evaluates_to_a_scalar_const():
    c = (tt.full((2, 3), 2.0) * 3.0 + 1.0).exp()
    _, _, g = folded(c)
    t = g.targets[0]
    assert t.op == "const" and t.arg[0] == pytest.approx(np.exp(np.float32(7.0)), rel=1e-6)


def test_dce_drops_what_rewrites_left_and_counts_nodes():
    x = x_f32()
    expr = (x * 1 + (-0.0)) * 2
    g0, g1, g2 = folded(expr)
    assert g0.count() == 6  # const 1, mul, const -0, add, const 2, mul  (+ expand nodes folded into consts)
    assert g2.count() == 2 and [n.op for n in g2.nodes if n.op != "buffer"] == ["const", "mul"]
    assert g1.count() >= g2.count()


def test_folded_constants_are_part_of_the_cache_key():
    tt.compiler.clear_cache()
    x = tt.tensor(np.ones(4, np.float32))
    a = (x + tt.arange(4).float()).numpy()
    b = (x + tt.arange(1, 5).float()).numpy()
    np.testing.assert_array_equal(a, [1, 2, 3, 4])
    np.testing.assert_array_equal(b, [2, 3, 4, 5])


def test_a_training_step_compiles_once():
    rng = np.random.default_rng(0)
    w = tt.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    lr = tt.tensor(0.1)
    tt.reset_stats()
    for _ in range(4):
        x = tt.tensor(rng.standard_normal((8, 4)).astype(np.float32))
        loss = (x @ w).tanh().pow(2).mean()
        loss.backward()
        w.assign(w - lr * w.grad)
        tt.realize(w)
        w.grad = None
    s = tt.stats()
    assert s["compiles"] == 1 and s["cache_hits"] == 3


def test_disabled_passes_are_validated_and_switchable():
    with pytest.raises(ValueError, match="unknown pass"):
        Options(disabled=frozenset({"nope"}))
    x = x_f32()
    with tt.disable_passes("fold"):
        prog = tt.plan(x * 1)
    assert [r.enabled for r in prog.passes if r.name == "fold"] == [False]
    assert prog.kernels[0].op_names == ["mul"]
    prog = tt.plan(x * 1)
    assert prog.kernels[0].op_names == ["copy"]  # folded to the input: the output is a copy of it


def test_output_that_folds_to_an_input_is_a_fresh_copy():
    x = x_f32()
    y = (x * 1)
    y.realize()
    assert not np.shares_memory(y.numpy(), x.numpy())
    np.testing.assert_array_equal(y.numpy(), x.numpy())
