"""Property tests: random graphs realized with every pass on, and with each pass off in turn, equal the
unoptimized program (all passes off) and a plain node-by-node NumPy interpreter; every memory plan verifies."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tinytorch as tt
from tinytorch.compiler import ir
from tinytorch.compiler.ops import OPS

ALL_OFF = tuple(tt.PASS_NAMES)
CONFIGS = [()] + [(p,) for p in tt.PASS_NAMES] + [ALL_OFF]

UNARY = ["exp", "tanh", "neg", "abs", "sqrtabs", "sigmoid", "relu"]
BINARY = ["add", "mul", "sub", "maximum", "div"]


@st.composite
def recipes(draw, max_ops=40):
    """A list of ops over a stack of values; shapes are kept broadcast-compatible by construction."""
    rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    n = draw(st.integers(1, max_ops))
    steps = [draw(st.tuples(st.sampled_from(["unary", "binary", "reduce", "view", "const", "matmul", "bcast"]),
                            st.integers(0, 1000), st.integers(0, 1000))) for _ in range(n)]
    seed = draw(st.integers(0, 2 ** 16))
    return rows, cols, steps, seed


def build(recipe):
    """Returns the output tensors (fresh graph each call) and the input arrays."""
    rows, cols, steps, seed = recipe
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((rows, cols)).astype(np.float32) for _ in range(2)] + \
        [rng.standard_normal((1, cols)).astype(np.float32)]
    vals = [tt.tensor(a) for a in arrays]
    for kind, a, b in steps:
        x = vals[a % len(vals)]
        y = vals[b % len(vals)]
        if kind == "unary":
            op = UNARY[b % len(UNARY)]
            x = {"exp": lambda t: t.clamp(-5, 5).exp(), "tanh": tt.Tensor.tanh, "neg": lambda t: -t,
                 "abs": tt.Tensor.abs, "sqrtabs": lambda t: t.abs().sqrt(), "sigmoid": tt.Tensor.sigmoid,
                 "relu": tt.Tensor.relu}[op](x)
        elif kind == "binary" and _bcast(x.shape, y.shape):
            op = BINARY[a % len(BINARY)]
            x = x / (y.abs() + 1) if op == "div" else getattr(tt, op if op != "maximum" else "maximum")(x, y)
        elif kind == "reduce" and x.ndim:
            axis = b % x.ndim
            x = x.sum(axis, keepdim=True) if a % 2 else tt.amax(x, axis, keepdim=True)
        elif kind == "view" and x.ndim == 2:
            v = b % 4
            x = x.T if v == 0 else x.reshape(-1).reshape(x.shape) * 1 if v == 1 else \
                x[:, ::2] if v == 2 and x.shape[1] > 1 else x.reshape(x.shape[1], x.shape[0]) if v == 3 else x
        elif kind == "const":
            x = x + tt.arange(x.shape[-1]).float() * 0.5 if x.ndim else x * 1.0 + 0.0
        elif kind == "matmul" and x.ndim == 2 and y.ndim == 2 and x.shape[1] == y.shape[1]:
            x = x @ y.T
        elif kind == "bcast" and x.ndim == 2 and x.shape[0] == 1:
            x = x.expand(rows, x.shape[1]) + 0.0
        vals.append(x)
    outs = vals[len(arrays):] or vals
    return outs[-3:], arrays


def _bcast(a, b):
    return all(p == q or p == 1 or q == 1 for p, q in zip(a[::-1], b[::-1]))


def interpret(tensors):
    """Node-by-node NumPy evaluation with the op table: no compiler at all."""
    vals = {}
    for n in ir.toposort([t.node for t in tensors], stop=lambda n: n.op == "buffer"):
        if n.op == "buffer":
            vals[id(n)] = n.arg.array
        else:
            vals[id(n)] = np.asarray(OPS[n.op].numpy(n, *[vals[id(s)] for s in n.srcs]))
    return [vals[id(t.node)] for t in tensors]


def run(recipe, disabled):
    outs, _ = build(recipe)
    with tt.disable_passes(*disabled):
        prog = tt.plan(*outs)
        if prog is not None:
            assert prog.memory_plan.verify()
        tt.realize(*outs)
    return [o.numpy() for o in outs]


def check(recipe):
    outs, _ = build(recipe)
    with np.errstate(all="ignore"):
        oracle = interpret(outs)
        ref = run(recipe, ALL_OFF)
        for a, b in zip(ref, oracle):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, equal_nan=True)
        for cfg in CONFIGS:
            got = run(recipe, cfg)
            for a, b in zip(got, ref):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, equal_nan=True, err_msg=f"off: {cfg}")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes())
def test_every_pass_preserves_values(recipe):
    check(recipe)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes())
def test_every_pass_preserves_values_campaign(recipe):
    check(recipe)


def test_big_chunked_kernels_match():
    """Shapes big enough for blocked (chunked) kernels, with broadcast and transposed operands."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 257)).astype(np.float32)
    b = rng.standard_normal((1, 257)).astype(np.float32)
    c = rng.standard_normal((257, 300)).astype(np.float32)

    def graph():
        x, y, z = tt.tensor(a), tt.tensor(b), tt.tensor(c)
        h = (x * y + z.T).tanh() * 0.5 + x
        return [h.softmax(-1), (h - h.mean(-1, keepdim=True)).exp().sum(-1)]
    want = [o.numpy() for o in _realized(graph, ALL_OFF)]
    for cfg in CONFIGS:
        for g, w in zip(_realized(graph, cfg), want):
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-5, atol=1e-6)


def _realized(graph, disabled):
    outs = graph()
    with tt.disable_passes(*disabled):
        tt.realize(*outs)
    return outs
