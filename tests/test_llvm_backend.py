"""The llvm backend against the numpy backend: every op of the op table and dtype as a one-op graph, random
graphs from the property tests, training steps of an MLP and a small conv-net; and no kernel falls back
(every Kernel.backend is 'llvm')."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.runtime import parallel
from tinytorch.compiler.ops import OPS
from tinytorch.tensor_base import op_result as _make

from test_compiler_props import build as build_recipe, recipes
from test_llvm_codegen import allowed, sample

DTYPES = [np.dtype(d) for d in ("float16", "float32", "float64", "int16", "int32", "int64", "uint8", "uint32", "bool")]
TOL = {"float16": 2e-3, "float32": 2e-5, "float64": 1e-9}
UNARY = [n for n, d in OPS.items() if d.kind == "unary"]
BINARY = [n for n, d in OPS.items() if d.kind == "binary"]


def on(backend, graph):
    """Outputs of graph() realized on `backend`, and that program's kernels."""
    with tt.using_backend(backend):
        tt.manual_seed(0)
        outs = graph()
        prog = tt.plan(*outs)
        with np.errstate(all="ignore"):
            tt.realize(*outs)
        return [o.numpy() for o in outs], prog


def same(graph, tol=None, need_kernels=True):
    want, _ = on("numpy", graph)
    got, prog = on("llvm", graph)
    kernels = prog.kernels if prog is not None else ()
    assert kernels or not need_kernels
    assert prog is None or all(low.backend == "llvm" for low in prog.lowered), prog.lowered
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        if w.dtype.kind == "f":
            t = tol if tol is not None else TOL[w.dtype.name]
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=t, atol=t, equal_nan=True)
        else:
            np.testing.assert_array_equal(g, w)
    return kernels


def arr(rng, op, dtype, shape, operand=0):
    a = sample(rng, op, dtype, math.prod(shape), operand).reshape(shape)
    if dtype.kind == "u":
        a = (np.abs(a.astype(np.int64)) % 200).astype(dtype)
        if operand == 1 and op in ("floordiv", "mod"):
            a.reshape(-1)[0] = 0
    return a


def _cases():
    for op in UNARY + BINARY:
        n = 1 if op in UNARY else 2
        for d in DTYPES:
            if allowed(op, [d] * n):
                yield op, d


@pytest.mark.parametrize("op,dtype", list(_cases()), ids=lambda v: str(v))
def test_every_elementwise_op_and_dtype(op, dtype):
    rng = np.random.default_rng(3)
    n = 1 if op in UNARY else 2
    arrays = [arr(rng, op, dtype, (4, 5), i) for i in range(n)]
    same(lambda: [_make(op, tuple(tt.tensor(a) for a in arrays))])


@pytest.mark.parametrize("src", DTYPES, ids=str)
def test_casts_between_every_dtype(src):
    rng = np.random.default_rng(4)
    a = arr(rng, "add", src, (3, 7))
    if src.kind == "f":
        a = (a * 20).astype(src)  # in range of every integer dtype
    same(lambda: [tt.tensor(a).to(d) if hasattr(tt.Tensor, "to") else _make("cast", (tt.tensor(a),), d)
                  for d in DTYPES if not (src.kind == "f" and d.kind == "u")])


@pytest.mark.parametrize("dtype", [np.dtype(d) for d in ("float32", "float64", "float16", "int32", "int64", "bool")],
                         ids=str)
def test_where_reductions_and_views(dtype):
    rng = np.random.default_rng(5)
    x = arr(rng, "add", dtype, (3, 4, 5))
    y = arr(rng, "add", dtype, (3, 4, 5), 1)
    c = rng.random((3, 4, 5)) < 0.5

    def graph():
        a, b = tt.tensor(x), tt.tensor(y)
        outs = [_make("where", (tt.tensor(c), a, b))]
        for axes in [(0,), (1,), (2,), (0, 2), (1, 2), (0, 1, 2)]:
            outs += [_make("sum", (a,), axes), _make("max", (a,), axes)]
        outs.append(_make("add", (_make("permute", (a,), (2, 0, 1)), _make("permute", (b,), (2, 0, 1)))))
        outs.append(_make("mul", (_make("reshape", (_make("permute", (a,), (1, 0, 2)),), (20, 3)),
                                  _make("reshape", (b,), (20, 3)))))
        outs.append(_make("pad", (a,), (((1, 0), (0, 2), (1, 1)), 0)))
        outs.append(_make("slice", (a,), ((0, 3, 2), (1, 4, 1), (0, 5, 3))))
        return outs
    same(graph, tol=1e-2 if dtype.name == "float16" else None)


def test_matmul_gather_scatter_unfold_fold_arange_rand():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((2, 5, 6)).astype(np.float32)
    b = rng.standard_normal((2, 6, 3)).astype(np.float32)
    idx = rng.integers(0, 6, (2, 5, 4))
    img = rng.standard_normal((2, 3, 7, 8)).astype(np.float64)
    iv = rng.integers(-9, 9, (5, 6)).astype(np.int32)

    def graph():
        x, w = tt.tensor(a), tt.tensor(b)
        i = tt.tensor(idx)
        win = _make("unfold", (tt.tensor(img),), ((3, 2), (2, 1), (1, 2)))
        return [
            _make("matmul", (x, w)),
            (_make("matmul", (x, w)) + 1.0).relu(),
            _make("matmul", ((x * 2.0).tanh(), w.exp())) * 3.0,
            _make("matmul", (_make("cast", (x,), np.dtype("float64")), _make("cast", (w,), np.dtype("float64")))),
            _make("matmul", (tt.tensor(iv)[None].expand(2, 5, 6), tt.tensor(iv.T.copy())[None].expand(2, 6, 5))),
            _make("gather", (x, i), 2),
            _make("scatter_add", (i, _make("gather", (x, i), 2)), (2, 6)),
            _make("fold", (win * 2.0,), ((3, 2), (2, 1), (1, 2), (7, 8))),
            win.sum((-2, -1)),
            tt.arange(7).float() * 0.5, tt.arange(2, 20, 3), tt.rand(4, 9), tt.randn(33),
        ]
    same(graph, tol=1e-5)


def test_random_numbers_match_numpy_bit_for_bit():
    got, _ = on("llvm", lambda: [tt.rand(1000), tt.rand(3, 5, dtype=tt.float64), tt.randint(0, 9, (20,))])
    want, _ = on("numpy", lambda: [tt.rand(1000), tt.rand(3, 5, dtype=tt.float64), tt.randint(0, 9, (20,))])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


# ---------------------------------------------------------------- random graphs of the property tests

def _check_recipe(recipe):
    same(lambda: build_recipe(recipe)[0], tol=1e-4, need_kernels=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes(max_ops=20))
def test_random_graphs_match_numpy(recipe):
    _check_recipe(recipe)


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes())
def test_random_graphs_match_numpy_campaign(recipe):
    _check_recipe(recipe)


def test_big_kernels_split_across_threads_match(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 1 << 10)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 257)).astype(np.float32)
    c = rng.standard_normal((257, 300)).astype(np.float32)

    def graph():
        x, z = tt.tensor(a), tt.tensor(c)
        h = (x + z.T).tanh() * 0.5 + x
        return [h.softmax(-1), (h - h.mean(-1, keepdim=True)).exp().sum(-1), h.sum(0)]
    same(graph, tol=1e-4)


def test_outer_axis_reductions_window_reductions_and_merged_loops():
    """Reductions over outer axes (rows accumulated into a vector), pooling windows, flattened contiguous
    runs, short outer loops merged for threads, elementwise loops merged across contiguous axes."""
    rng = np.random.default_rng(7)
    img = rng.standard_normal((4, 3, 24, 20)).astype(np.float32)
    m = rng.standard_normal((3, 64, 300)).astype(np.float32)
    iv = rng.integers(-50, 50, (40, 33)).astype(np.int32)

    def graph():
        x, y = tt.tensor(img), tt.tensor(m)
        win = _make("unfold", (x,), ((2, 2), (2, 2), (1, 1)))  # [4, 3, 2, 2, 12, 10]: a pooling window
        c = win * 1.0  # contiguous, so the row loops flatten
        return [
            win.sum((2, 3)), _make("max", (win,), (2, 3)), c.sum((2, 3)), _make("max", (c,), (2, 3)),
            c.sum((2, 3)) * 0.25 + 1.0, y.sum(1), y.sum((0, 1)), _make("max", (y,), (0,)), y.sum(1).exp(),
            x.sum((0, 2, 3)), (x * 2.0).sum(0), tt.tensor(iv).sum(0), _make("max", (tt.tensor(iv),), (0,)),
            x.permute(1, 0, 2, 3) * 1.0, y.permute(1, 0, 2) + 2.0, y * y.sum(2, keepdim=True),
            tt.tensor(m.reshape(3, 64, 20, 15)).sum(1), _make("max", (tt.tensor(m[:, :20]),), (0,)),
        ]
    same(graph, tol=1e-4)


# ---------------------------------------------------------------- in-place updates and awkward fusion shapes

def test_assign_reading_its_target_elsewhere_is_computed_first():
    rng = np.random.default_rng(2)
    p0 = rng.standard_normal((6, 6)).astype(np.float32)

    def graph():
        p = tt.tensor(p0.copy())
        p.assign(p.T * 0.5 + p)
        q = tt.tensor(p0.copy())
        q.assign(q - q.sum(1, keepdim=True))
        return [p, q]
    same(graph)


def test_non_contiguous_inputs():
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    same(lambda: [tt.from_numpy(base.T) * 2.0 + 1.0, tt.from_numpy(base[:, ::2]).sum(0)])


# ---------------------------------------------------------------- training on the llvm backend

def _train(backend, model_fn, x, y, steps=3):
    with tt.using_backend(backend):
        tt.manual_seed(0)
        model = model_fn()
        opt = optim.Adam(model.parameters(), lr=1e-2)
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(tt.tensor(x)), tt.tensor(y))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.numpy().copy() for p in model.parameters()]


def _mlp():
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 5))


def _convnet():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 5))


@pytest.mark.parametrize("model_fn,shape", [(_mlp, (16, 20)), (_convnet, (6, 1, 8, 8))], ids=["mlp", "convnet"])
def test_training_steps_match_numpy(model_fn, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 5, shape[0]).astype(np.int64)
    lw, pw = _train("numpy", model_fn, x, y)
    lg, pg = _train("llvm", model_fn, x, y)
    np.testing.assert_allclose(lg, lw, rtol=1e-4, atol=1e-5)
    for g, w in zip(pg, pw):
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-4)


def test_training_step_kernels_are_all_native_and_explain_says_so():
    with tt.using_backend("llvm"):
        tt.manual_seed(0)
        model = _convnet()
        x = tt.tensor(np.ones((2, 1, 8, 8), np.float32))
        loss = nn.functional.cross_entropy(model(x), tt.tensor(np.array([1, 3])))
        loss.backward()
        outs = [loss] + [p.grad for p in model.parameters()]
        prog = tt.plan(*outs)
        assert prog.kernels and all(low.backend == "llvm" for low in prog.lowered)
        text = tt.explain(*outs)
        lines = [ln for ln in text.splitlines() if ln.lstrip().startswith("k") and "flops=" in ln]
        assert lines and all(" llvm" in ln for ln in lines)


# ---------------------------------------------------------------- errors and debugging through the pipeline

def test_gather_index_out_of_range_names_the_op():
    x = np.zeros((2, 3), np.float32)
    with tt.using_backend("llvm"):
        g = tt.tensor(x).gather(1, tt.tensor(np.array([[0, 7, 1], [1, 1, 1]])))
        with pytest.raises(RuntimeError, match=r"gather.*index 7.*size 3"):
            g.numpy()


def _child(code, **env):
    e = dict(os.environ, TINYTORCH_BACKEND="llvm", **env)
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True, timeout=120)


def test_debug_levels_report_compile_time_and_print_ir(tmp_path):
    code = "import tinytorch as tt, numpy as np; print((tt.tensor(np.ones(5, np.float32)).exp() * 2).numpy())"
    r = _child(code, TINYTORCH_DEBUG="4", TINYTORCH_CACHE_DIR=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "define" in r.stderr and "compile" in r.stderr and "llvm" in r.stderr
    assert "5.43" in r.stdout


def test_bounds_checks_compile_in_and_results_hold(tmp_path):
    code = ("import tinytorch as tt, numpy as np\n"
            "x = tt.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))\n"
            "p = tt.plan(x.T.sum(0))\n"
            "print(sum('fail_' in line for low in p.lowered for line in low.code))\n"
            "print(x.T.sum(0).numpy().tolist())")
    r = _child(code, TINYTORCH_CHECK_BOUNDS="1", TINYTORCH_CACHE_DIR=str(tmp_path))
    assert r.returncode == 0, r.stderr
    checks, values = r.stdout.splitlines()
    assert int(checks) > 0 and values == "[6.0, 22.0, 38.0]"


def test_backend_switch_validates_and_round_trips():
    before = tt.get_backend()
    with pytest.raises(ValueError, match="unknown backend"):
        tt.set_backend("cuda")
    with tt.using_backend("llvm"):
        assert tt.get_backend() == "llvm"
    assert tt.get_backend() == before
