"""Hash-consing in compiler/ir.py: `make` returns the live node of an equal structural key (so the same
expression built twice is one node, computed once), never merges `unique` nodes, forgets a node when it dies,
and its key (`_argkey`) keeps apart the args Python calls equal: -0.0 and 0.0, 1.0 and True."""
import gc
import weakref

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.compiler import ir

F32 = np.dtype(np.float32)


def _x():
    return tt.tensor(np.arange(12, dtype=np.float32).reshape(3, 4) - 5)


def test_the_same_expression_is_the_same_node_and_runs_once():
    x = _x()
    a, b = (x * 2 + 1).exp(), (x * 2 + 1).exp()
    assert a.node is b.node, "the same expression built twice must be the same node"
    assert (x * 3 + 1).node is not a.node.srcs[0] and (x * 2 + 1).reshape(12).node is not (x * 2 + 1).node
    y = a + b  # one exp node read twice: the graph holds buffer, const 2, mul, const 1, add, exp, add
    assert sum(n.op == "exp" for n in ir.toposort([y.node])) == 1
    np.testing.assert_allclose(y.numpy(), 2 * np.exp(x.numpy() * 2 + 1), rtol=1e-6)


def test_unique_nodes_are_never_merged_or_stored():
    data = np.ones(3, np.float32)
    p, q = tt.tensor(data), tt.tensor(data)
    assert p.node is not q.node  # two buffers of equal contents are two inputs
    n = ir.live_nodes()
    u = ir.make("assign", (p.node, q.node), (3,), F32, unique=True)
    assert ir.make("assign", (p.node, q.node), (3,), F32, unique=True) is not u
    assert ir.live_nodes() == n


def test_the_table_holds_exactly_the_live_nodes():
    x = _x()
    gc.collect()
    before = ir.live_nodes()
    y = ((x * 7.5 - 2.5) / 3.25).tanh()
    grown = ir.live_nodes()
    assert grown >= before + 4, "the table must hold the new nodes: mul, sub, div, tanh"  # consts: maybe pinned
    assert ((x * 7.5 - 2.5) / 3.25).tanh().node is y.node and ir.live_nodes() == grown  # found, not added
    ops = [weakref.ref(n) for n in ir.toposort([y.node]) if n.op in ("mul", "sub", "div", "tanh")]
    assert len(ops) == 4
    del y
    gc.collect()
    assert all(r() is None for r in ops), "the table must hold its nodes weakly"
    assert ir.live_nodes() <= grown - 4  # and a dead node's entry goes with it


@pytest.mark.parametrize("a, b", [(0.0, -0.0), (1.0, True), (0, False), ((1.0, 2), (True, 2)),
                                  (((0.0,), 1), ((-0.0,), 1))])
def test_args_python_calls_equal_make_different_nodes(a, b):
    assert a == b and hash(a) == hash(b)  # the trap
    shape = (13, 1, 7)  # a shape no other test's constant has: the nodes are made here
    na = ir.make("const", (), shape, F32, (a, shape, F32))
    nb = ir.make("const", (), shape, F32, (b, shape, F32))
    assert na is not nb and repr(na.arg[0]) == repr(a) and repr(nb.arg[0]) == repr(b), f"{a!r} and {b!r} merged"
    assert ir.make("const", (), shape, F32, (a, shape, F32)) is na  # and an equal arg still finds its node


def test_plus_zero_and_plus_minus_zero_stay_apart_in_value():
    x = tt.tensor(np.array([-0.0, 1.0], np.float32))
    plus, minus = (x + 0.0).numpy(), (x + (-0.0)).numpy()
    assert np.signbit(plus).tolist() == [False, False] and np.signbit(minus).tolist() == [True, False]
