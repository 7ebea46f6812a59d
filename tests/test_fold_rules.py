"""Every rewrite rule of fold (compiler/passes/rules.py), generated from the table: the rule is what fires
on its example, fold does less without it, and folding leaves the value unchanged bit for bit (NaN, inf
and the sign of zero included) against the unfolded graph."""
import importlib

import numpy as np
import pytest

from tinytorch.compiler import ir, ops
from tinytorch.compiler.ops import OPS
from tinytorch.compiler.passes import Graph, dce, fold
from tinytorch.compiler.passes.patterns import by_op, first_match
from tinytorch.compiler.passes.rules import RULES
from tinytorch.runtime import Buffer

fold_module = importlib.import_module("tinytorch.compiler.passes.fold")
F32 = np.array([[1.5, -0.0, np.nan], [np.inf, -2.0, 0.0]], np.float32)
I64 = np.array([[3, 0, -7], [2, 1, -1]], np.int64)


def example(rule):
    f, i = (ops.leaf(Buffer(a.copy())) for a in (F32, I64))
    root = rule.example(f, i)
    order = ir.toposort([root], stop=lambda n: n.op == "buffer")
    return root, Graph((root,), tuple(order), frozenset(id(n) for n in order if n.op == "buffer"))


def interpret(node) -> np.ndarray:
    """The node's value, op by op with the NumPy implementations: no compiler."""
    vals = {}
    with np.errstate(all="ignore"):
        for n in ir.toposort([node], stop=lambda n: n.op == "buffer"):
            vals[id(n)] = np.asarray(OPS[n.op].numpy(n, *[vals[id(s)] for s in n.srcs]))
    return vals[id(node)]


def folded(g):
    return dce(fold(g)[0])[0]


@pytest.mark.parametrize("rule", RULES, ids=[r.why for r in RULES])
def test_rule_fires_on_its_example_and_keeps_the_value(rule, monkeypatch):
    root, g = example(rule)
    found = first_match(root, g, by_op(RULES))
    assert found is not None and found[0] is rule, f"the first rule matching the example is {found and found[0].why}"
    done = folded(g)
    want, got = interpret(root), interpret(done.targets[0])
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    monkeypatch.setattr(fold_module, "_RULES_BY_OP", by_op([r for r in RULES if r is not rule]))
    without = folded(example(rule)[1])
    assert ir.listing(list(without.targets), stop=without.is_input) != \
        ir.listing(list(done.targets), stop=done.is_input), "fold does the same without this rule"
