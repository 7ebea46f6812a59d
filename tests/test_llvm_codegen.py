"""The native code generator (compiler/llvm) against NumPy: every elementwise op and dtype, random views,
reductions over every axis subset, softmax/layernorm, random expression DAGs, math-function accuracy,
the disk cache across processes, the bounds-check trap and the thread split."""
import itertools
import math
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tinytorch.compiler import ops
from tinytorch.compiler.llvm import (ElementwiseKernel, ReduceKernel, ScalarOp, View, compile_kernel, jit,
                                     parallel, recipes)
from tinytorch.compiler.llvm.recipes import Body

DTYPES = [np.dtype(d) for d in ("float16", "float32", "float64", "int32", "int64", "bool")]
UNARY = ("neg", "exp", "log", "sqrt", "recip", "sin", "cos", "tanh", "erf", "abs", "sign", "floor")
BINARY = ("add", "sub", "mul", "div", "maximum", "pow", "floordiv", "mod", "cmplt", "cmpeq")
RTOL = {"float16": 2e-3, "float32": 2e-6, "float64": 1e-13}
ATOL = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-13}


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TINYTORCH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "llvm_cache"))
    monkeypatch.delenv("TINYTORCH_CHECK_BOUNDS", raising=False)


# ---------------------------------------------------------------- a NumPy reference built from the op table

def strided(base, view):
    item = base.itemsize
    return np.lib.stride_tricks.as_strided(base[view.offset:], view.shape, [s * item for s in view.strides])


def reference(body, arrays, views, acc=None):
    vals = []
    with np.errstate(all="ignore"):
        for s in body:
            if s.op == "load":
                v = strided(arrays[s.arg], views[s.arg])
            elif s.op == "const":
                v = np.array(s.arg, s.dtype)
            elif s.op == "acc":
                v = acc
            else:
                info = SimpleNamespace(dtype=s.dtype, arg=s.arg, shape=None)
                v = np.asarray(ops.OPS[s.op].numpy(info, *[vals[i] for i in s.srcs]))
                v = v.astype(s.dtype, copy=False)
            vals.append(v)
    return vals


def run_elementwise(k, arrays):
    out = np.empty(k.shape, k.out_dtype)
    compile_kernel(k)(out, *arrays)
    want = np.broadcast_to(reference(k.body, arrays, k.views)[k.out], k.shape)
    return out, want


def check(out, want, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        np.testing.assert_allclose(out.astype(np.float64), want.astype(np.float64),
                                   rtol=RTOL[dtype.name], atol=ATOL[dtype.name], equal_nan=True)
    else:
        np.testing.assert_array_equal(out, want)


def allowed(op, dtypes):
    try:
        ops.OPS[op].rule([SimpleNamespace(shape=(), ndim=0, dtype=d) for d in dtypes], None)
        return True
    except TypeError:
        return False


def sample(rng, op, dtype, n, operand=0):
    """Operands inside each op's domain (and some edge values)."""
    if dtype.kind == "b":
        return rng.random(n) < 0.5
    if dtype.kind == "i":
        if op == "pow":
            return (rng.integers(-5, 6, n) if operand == 0 else rng.integers(0, 7, n)).astype(dtype)
        x = rng.integers(-50, 51, n).astype(dtype)
        if operand == 1 and op in ("floordiv", "mod"):
            x[:3] = (0, -1, 1)
            x[3] = np.iinfo(dtype).min
        if operand == 0 and op in ("floordiv", "mod"):
            x[1] = np.iinfo(dtype).min
        return x
    if op in ("log", "sqrt") or (op == "pow" and operand == 0):
        return rng.uniform(0.05, 4.0, n).astype(dtype)
    if op == "pow":
        return rng.uniform(-3, 3, n).round(1).astype(dtype)
    if op in ("recip", "div", "mod") and operand == 1:
        return (rng.uniform(0.5, 3, n) * rng.choice([-1, 1], n)).astype(dtype)
    return rng.uniform(-4, 4, n).astype(dtype)


# ---------------------------------------------------------------- every elementwise op x dtype

def _op_cases():
    for op in UNARY + BINARY:
        arity = 1 if op in UNARY else 2
        for dt in DTYPES:
            if allowed(op, [dt] * arity):
                yield op, dt


@pytest.mark.parametrize("op,dtype", list(_op_cases()), ids=lambda v: str(v))
def test_elementwise_op_matches_numpy(op, dtype, rng):
    n = 1031  # odd: exercises the vector loop's remainder
    arity = 1 if op in UNARY else 2
    arrays = [sample(rng, op, dtype, n, i) for i in range(arity)]
    b = Body(dtype)
    srcs = [b.load(i) for i in range(arity)]
    out_dtype = np.dtype(bool) if op in ("cmplt", "cmpeq") else dtype
    o = b.op(op, *srcs, dtype=out_dtype)
    k = ElementwiseKernel(f"t_{op}", (dtype,) * arity, (View.contiguous((n,)),) * arity, (n,), b.ops, o, out_dtype)
    out, want = run_elementwise(k, arrays)
    if dtype.name == "float16":  # float16 computes in float32 and rounds once, as NumPy's ufuncs do
        info = SimpleNamespace(dtype=np.dtype(np.float32), arg=None, shape=None)
        with np.errstate(all="ignore"):
            want = np.asarray(ops.OPS[op].numpy(info, *[a.astype(np.float32) for a in arrays])).astype(out_dtype)
    if dtype.name == "float32" and op == "erf":  # NR fit, same in both backends, rounded differently
        np.testing.assert_allclose(out, want, atol=4e-7)
    elif dtype.name == "float64" and op == "pow":  # exp(y log x): error grows with |y log x|
        np.testing.assert_allclose(out, want, rtol=1e-14)
    else:
        check(out, want, out_dtype)


def test_where_and_every_cast(rng):
    n = 257
    for src, dst in itertools.product(DTYPES, DTYPES):
        x = sample(rng, "cast", src, n)
        if src.kind == "f":
            x[:4] = (0.0, -0.0, 2.5, -3.5)
        b = Body(dst)
        o = b.cast(b.load(0, dtype=src), arg=dst)
        k = ElementwiseKernel(f"cast_{src}_{dst}", (src,), (View.contiguous((n,)),), (n,), b.ops, o, dst)
        out, want = run_elementwise(k, [x])
        check(out, want, dst)
    for dt in DTYPES:
        c, a, bb = rng.random(n) < 0.5, sample(rng, "where", dt, n), sample(rng, "where", dt, n)
        b = Body(dt)
        o = b.where(b.load(0, dtype=bool), b.load(1), b.load(2))
        k = ElementwiseKernel("where", (np.dtype(bool), dt, dt), (View.contiguous((n,)),) * 3, (n,), b.ops, o, dt)
        check(*run_elementwise(k, [c, a, bb]), dt)


def test_float_special_values_follow_numpy():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, 1e-40, 100.0], np.float32)
    for op in ("exp", "log", "tanh", "sqrt", "sign", "abs", "floor", "erf"):
        b = Body(np.float32)
        o = b.op(op, b.load(0))
        k = ElementwiseKernel(op, (np.float32,), (View.contiguous(x.shape),), x.shape, b.ops, o, np.float32)
        out, want = run_elementwise(k, [x])
        np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6 if op == "erf" else 0, equal_nan=True)


# ---------------------------------------------------------------- random views

def random_view(rng, shape, base_size_out):
    """A view of `shape` made by expand, permute and stepped slicing of a fresh buffer; returns (view, base)."""
    nd = len(shape)
    perm = rng.permutation(nd)
    steps = [int(rng.integers(1, 3)) for _ in range(nd)]
    starts = [int(rng.integers(0, 3)) for _ in range(nd)]
    bcast = [bool(rng.random() < 0.3) for _ in range(nd)]
    src_shape = [1 if bcast[d] else starts[d] + steps[d] * (shape[d] - 1) + 1 for d in range(nd)]
    parent = [src_shape[p] for p in perm]  # the buffer is laid out in permuted order
    base = rng.uniform(-2, 2, math.prod(parent) + 3).astype(np.float32)
    pv = View.contiguous(tuple(parent), offset=int(rng.integers(0, 4)))
    inv = np.argsort(perm)
    strides = [pv.strides[inv[d]] for d in range(nd)]
    offset = pv.offset + sum(0 if bcast[d] else starts[d] * strides[d] for d in range(nd))
    return View(shape, tuple(0 if bcast[d] else strides[d] * steps[d] for d in range(nd)), offset), base


@pytest.mark.parametrize("seed", range(24))
def test_random_views(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(d) for d in rng.integers(1, 7, int(rng.integers(1, 5))))
    views, bases = zip(*[random_view(rng, shape, None) for _ in range(3)])
    b = Body(np.float32)
    x, y, z = b.load(0), b.load(1), b.load(2)
    o = b.add(b.mul(x, y), b.tanh(z))
    k = ElementwiseKernel(f"views{seed}", (np.float32,) * 3, views, shape, b.ops, o, np.float32)
    check(*run_elementwise(k, list(bases)), np.float32)


# ---------------------------------------------------------------- reductions

def _axis_subsets():
    for nd in range(1, 5):
        for r in range(0, nd + 1):
            for axes in itertools.combinations(range(nd), r):
                yield nd, axes


@pytest.mark.parametrize("nd,axes", list(_axis_subsets()))
@pytest.mark.parametrize("rop", ["sum", "max"])
def test_reduce_every_axis_subset_with_epilogue(nd, axes, rop):
    rng = np.random.default_rng(nd * 100 + len(axes))
    shape = tuple(int(d) for d in rng.integers(2, 6, nd))
    xv, xbase = random_view(rng, shape, None)
    out_shape = tuple(1 if i in axes else d for i, d in enumerate(shape))
    scale = rng.uniform(0.5, 2, math.prod(out_shape)).astype(np.float32)
    b = Body(np.float32)
    b.exp(b.load(0))
    e = Body(np.float32)
    e.mul(e.acc(), e.load(1))
    k = ReduceKernel(f"{rop}_{nd}_{axes}", (np.float32,) * 2, (xv, View.contiguous(out_shape)), shape, axes, rop,
                     b.ops, e.ops, np.float32)
    out = np.empty(out_shape, np.float32)
    compile_kernel(k)(out, xbase, scale)
    x = np.exp(strided(xbase, xv))
    red = np.sum(x, axis=axes, keepdims=True) if rop == "sum" else np.max(x, axis=axes, keepdims=True)
    np.testing.assert_allclose(out, red * scale.reshape(out_shape), rtol=2e-6)


@pytest.mark.parametrize("dtype", ["float16", "float64", "int32", "int64", "bool"])
@pytest.mark.parametrize("rop", ["sum", "max"])
def test_reduce_dtypes(dtype, rop, rng):
    dtype = np.dtype(dtype)
    shape, axes = (5, 7, 33), (0, 2)
    x = sample(rng, "reduce", dtype, math.prod(shape))
    b = Body(dtype)
    b.load(0)
    k = ReduceKernel(f"r_{dtype}", (dtype,), (View.contiguous(shape),), shape, axes, rop, b.ops, (), dtype)
    out = np.empty(k.shape, dtype)
    compile_kernel(k)(out, x)
    xs = x.reshape(shape)
    if rop == "sum":
        want = np.sum(xs.astype(np.float64) if dtype.kind == "f" else xs, axis=axes, keepdims=True, dtype=None
                      if dtype.kind == "f" else dtype).astype(dtype)
    else:
        want = np.max(xs, axis=axes, keepdims=True)
    if dtype.kind == "b" and rop == "sum":
        want = np.any(xs, axis=axes, keepdims=True)
    check(out, want, dtype)


def test_softmax_and_layernorm_from_kernels(rng):
    shape = (67, 300)
    x = rng.standard_normal(shape).astype(np.float32) * 3
    kmax, ksum, kout = (compile_kernel(k) for k in recipes.softmax(shape))
    m, s, y = np.empty((67, 1), np.float32), np.empty((67, 1), np.float32), np.empty(shape, np.float32)
    kmax(m, x)
    ksum(s, x, m)
    kout(y, x, m, s)
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-8)

    g, beta = rng.standard_normal(300).astype(np.float32), rng.standard_normal(300).astype(np.float32)
    kmean, krstd, kout = (compile_kernel(k) for k in recipes.layernorm(shape))
    kmean(m, x)
    krstd(s, x, m)
    kout(y, x, m, s, g, beta)
    want = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5) * g + beta
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


def test_gelu_recipes(rng):
    x = rng.standard_normal(10_001).astype(np.float32) * 3
    for k, want in ((recipes.gelu_tanh(x.shape), 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x ** 3)))),
                    (recipes.gelu_erf(x.shape), 0.5 * x * (1 + ops._erf(x / np.float32(math.sqrt(2)))))):
        out = np.empty_like(x)
        compile_kernel(k)(out, x)
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- random expression DAGs

SAFE_UNARY = ("neg", "abs", "tanh", "sin", "cos", "erf", "floor", "sign")
SAFE_BINARY = ("add", "sub", "mul", "maximum")


@st.composite
def dags(draw):
    dtype = np.dtype(draw(st.sampled_from(["float32", "float64"])))
    n_in = draw(st.integers(1, 3))
    body = [ScalarOp("load", (), dtype, i) for i in range(n_in)]
    numeric = list(range(n_in))  # indices of ops with the float dtype (cmplt's bools only feed where)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["u", "b", "b", "where", "const"]))
        pick = st.sampled_from(numeric)
        if kind == "u":
            body.append(ScalarOp(draw(st.sampled_from(SAFE_UNARY)), (draw(pick),), dtype))
        elif kind == "b":
            body.append(ScalarOp(draw(st.sampled_from(SAFE_BINARY)), (draw(pick), draw(pick)), dtype))
        elif kind == "const":
            body.append(ScalarOp("const", (), dtype, draw(st.floats(-3, 3, width=32))))
        else:
            body.append(ScalarOp("cmplt", (draw(pick), draw(pick)), np.dtype(bool)))
            body.append(ScalarOp("where", (len(body) - 1, draw(pick), draw(pick)), dtype))
        numeric.append(len(body) - 1)
    return dtype, n_in, tuple(body)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags(), st.integers(0, 2 ** 31))
def test_random_expression_dags(dag, seed):
    dtype, n_in, body = dag
    rng = np.random.default_rng(seed)
    shape = (3, 37)
    arrays = [rng.uniform(-3, 3, math.prod(shape)).astype(dtype) for _ in range(n_in)]
    k = ElementwiseKernel("dag", (dtype,) * n_in, (View.contiguous(shape),) * n_in, shape, body, len(body) - 1,
                          dtype)
    out = np.empty(shape, dtype)
    compile_kernel(k)(out, *arrays)
    vals = reference(body, arrays, k.views)
    scale = max(float(np.max(np.abs(v))) for v in vals if v.dtype.kind == "f")
    tol = (1e-5 if dtype == np.float32 else 1e-12) * (1 + scale)
    np.testing.assert_allclose(out, np.broadcast_to(vals[-1], shape), rtol=tol, atol=tol)


# ---------------------------------------------------------------- math accuracy (ulps against long double)

def ulp_error(out, ref, dtype):
    it = np.int32 if dtype == np.float32 else np.int64
    def ordered(a):
        i = a.view(it).astype(np.int64)
        return np.where(i < 0, np.int64(np.iinfo(it).min) - i, i)
    return np.abs(ordered(out) - ordered(ref.astype(dtype)))


ACCURACY = {  # op: (dense range, max ulp) -- the bounds documented in compiler/llvm/mathfns.py
    "exp": ((-103.0, 88.5), 2), "log": ((1e-38, 1e38), 2), "tanh": ((-12.0, 12.0), 2),
    "sin": ((-1e4, 1e4), 2), "cos": ((-1e4, 1e4), 2),
}


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs x86 80-bit long double as reference")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", list(ACCURACY))
def test_math_function_max_ulp(op, dtype):
    (lo, hi), bound = ACCURACY[op]
    n = 400_000
    x = (np.geomspace(lo, hi, n) if op == "log" else np.linspace(lo, hi, n)).astype(dtype)
    b = Body(dtype)
    o = b.op(op, b.load(0))
    out = np.empty_like(x)
    compile_kernel(ElementwiseKernel(op, (dtype,), (View.contiguous((n,)),), (n,), b.ops, o, dtype))(out, x)
    assert ulp_error(out, getattr(np, op)(x.astype(np.longdouble)), dtype).max() <= bound


@pytest.mark.parametrize("dtype,bound", [(np.float32, 4e-7), (np.float64, 1.2e-7)])
def test_erf_abs_error(dtype, bound):
    x = np.linspace(-6, 6, 20_001).astype(dtype)
    b = Body(dtype)
    o = b.erf(b.load(0))
    out = np.empty_like(x)
    compile_kernel(ElementwiseKernel("erf", (dtype,), (View.contiguous(x.shape),), x.shape, b.ops, o, dtype))(out, x)
    assert np.abs(out - np.array([math.erf(v) for v in x.tolist()])).max() <= bound


# ---------------------------------------------------------------- disk cache, bounds trap, threads, debug

CACHE_SCRIPT = textwrap.dedent("""
    import json, numpy as np
    from tinytorch.compiler.llvm import compile_kernel, jit, recipes
    k = compile_kernel(recipes.gelu_tanh((1000,)))
    x = np.linspace(-3, 3, 1000, dtype=np.float32); out = np.empty_like(x); k(out, x)
    print(json.dumps(dict(jit.STATS, value=float(out[-1]))))
""")


def test_disk_cache_hit_in_a_fresh_process(tmp_path):
    import json
    env = dict(os.environ, TINYTORCH_CACHE_DIR=str(tmp_path))
    runs = [json.loads(subprocess.run([sys.executable, "-c", CACHE_SCRIPT], env=env, check=True,
                                      capture_output=True, text=True).stdout) for _ in range(2)]
    assert runs[0]["compiles"] == 1 and runs[0]["disk_hits"] == 0
    assert runs[1]["compiles"] == 0 and runs[1]["disk_hits"] == 1
    assert runs[0]["value"] == runs[1]["value"] == pytest.approx(2.9963627, rel=1e-6)
    assert len(list((tmp_path / "llvm").glob("*.o"))) == 1


def test_bounds_check_trap_names_the_kernel(monkeypatch):
    monkeypatch.setenv("TINYTORCH_CHECK_BOUNDS", "1")
    base = np.arange(10, dtype=np.float32)
    b = Body(np.float32)
    o = b.neg(b.load(0))
    good = ElementwiseKernel("fine", (np.float32,), (View((5,), (2,), 0),), (5,), b.ops, o, np.float32)
    out = np.empty(5, np.float32)
    compile_kernel(good)(out, base)
    np.testing.assert_array_equal(out, -base[::2])
    bad = ElementwiseKernel("overreach", (np.float32,), (View((5,), (2,), 2),), (5,), b.ops, o, np.float32)
    with pytest.raises(IndexError, match="overreach.*input 0"):
        compile_kernel(bad)(out, base)


def test_threads_split_the_outer_loop_and_agree(monkeypatch, rng):
    assert parallel.chunks(10, 1 << 20, 3) == [(0, 3), (3, 6), (6, 10)]
    assert parallel.chunks(10, 100, 3) == [(0, 10)]
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 1 << 10)
    x = rng.standard_normal((512, 300)).astype(np.float32)
    k = compile_kernel(recipes.gelu_erf(x.shape))
    outs = []
    for threads in ("1", "3"):
        monkeypatch.setenv("TINYTORCH_NUM_THREADS", threads)
        outs.append(k(np.empty_like(x), x))
    np.testing.assert_array_equal(outs[0], outs[1])


def test_debug_prints_ir_and_errors_are_clear(monkeypatch, capsys):
    monkeypatch.setenv("TINYTORCH_DEBUG", "4")
    k = compile_kernel(recipes.gelu_tanh((8,)))
    assert "define i32" in capsys.readouterr().err
    with pytest.raises(TypeError, match="gelu_tanh.*float32"):
        k(np.empty(8, np.float32), np.zeros(8, np.float64))
    x = np.zeros(8, np.float32)
    with pytest.raises(ValueError, match="overlaps"):
        k(x, x)
    with pytest.raises(TypeError, match="op table gives"):
        compile_kernel(ElementwiseKernel("bad", (np.float32,), (View.contiguous((2,)),), (2,),
                                         (ScalarOp("load", (), np.float32, 0), ScalarOp("cmplt", (0, 0), np.float32)),
                                         1, np.float32))


def test_kernels_vectorize_for_the_host():
    ir = jit.optimized_ir(__import__("tinytorch.compiler.llvm.codegen", fromlist=["generate"]).generate(
        recipes.gelu_tanh((4096,)), False, jit.function_attributes()).ir)
    width = 16 if jit.host()["avx512"] else 8
    assert f"<{width} x float>" in ir


def test_double_to_half_rounds_once(rng):
    x = np.concatenate([rng.standard_normal(5000) * 100, (np.arange(1000) + 0.5) * 2.0 ** -10 + 1,
                        (np.arange(1000) + 0.5) * 2.0 ** -10 + 1 + 1e-12, [7e4, -1e6, np.nan, 1e-9]])
    b = Body(np.float16)
    o = b.cast(b.load(0, dtype=np.float64), arg=np.float16)
    k = ElementwiseKernel("f64_to_f16", (np.float64,), (View.contiguous(x.shape),), x.shape, b.ops, o, np.float16)
    out = np.empty(x.shape, np.float16)
    compile_kernel(k)(out, x)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(out, x.astype(np.float16))
