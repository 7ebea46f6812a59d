"""The native code generator (compiler/llvm) against NumPy, through Programs compiled on the llvm backend:
every elementwise op and dtype, random strided views, reductions over every axis subset, softmax/layernorm,
random expression DAGs, inf/NaN, math-function accuracy, vector code, the disk cache across processes, the
bounds-check trap, the thread split, TINYTORCH_DEBUG=4 and NotLowerable."""
import itertools
import json
import math
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from llvmlite import ir

import tinytorch as tt
from tinytorch.compiler import ops, realizer
from tinytorch.compiler.ops import GROUPS
from tinytorch.compiler.kernel import View
from tinytorch.compiler.llvm import jit
from tinytorch.runtime import parallel
from tinytorch.compiler.llvm.addressing import Addressing
from tinytorch.compiler.llvm.kernelgen import NotLowerable, Placement, Stage, emit_stage
from tinytorch.tensor_base import op_result as _make

DTYPES = [np.dtype(d) for d in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "bool")]
UNARY = tuple(sorted(GROUPS.unary))  # from the op table: a new op is tested here without a line of its own
BINARY = tuple(sorted(GROUPS.binary))
RTOL = {"float16": 2e-3, "float32": 2e-6, "float64": 1e-13}
ATOL = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-13}


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TINYTORCH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "llvm_cache"))
    monkeypatch.delenv("TINYTORCH_CHECK_BOUNDS", raising=False)


@pytest.fixture
def fresh_programs():
    """Compile afresh (the Program cache keys neither bounds checks nor a patched generator), and leave no
    Program compiled under this test's settings behind."""
    realizer.clear_cache()
    yield
    realizer.clear_cache()


def native(graph):
    """The values of the tensors graph() builds, realized as one Program on the llvm backend, all of whose
    kernels are native."""
    with tt.using_backend("llvm"):
        outs = graph()
        prog = tt.plan(*outs)
        assert prog.kernels and all(low.backend == "llvm" for low in prog.lowered)
        tt.realize(*outs)
        return [o.numpy() for o in outs]


def one_op(op, arrays, arg=None):
    return native(lambda: [_make(op, tuple(tt.from_numpy(a) for a in arrays), arg)])[0]


def program_ir(monkeypatch, graph) -> str:
    """The LLVM module (before optimization) of graph()'s Program, compiled afresh."""
    modules = []
    object_code = jit.object_code

    def spy(text, *args):
        modules.append(text)
        return object_code(text, *args)
    monkeypatch.setattr(jit, "object_code", spy)
    realizer.clear_cache()
    native(graph)
    realizer.clear_cache()
    (text,) = modules
    return text


# ---------------------------------------------------------------- a NumPy reference built from the op table

@dataclass(frozen=True)
class ScalarOp:
    """One op of a random expression: 'load' (arg = input index), 'const' (arg = the value) or an op of the
    op table applied to earlier ops (srcs)."""
    op: str
    srcs: tuple = ()
    dtype: np.dtype = np.dtype("float32")
    arg: object = None


def reference(body, arrays):
    vals = []
    with np.errstate(all="ignore"):
        for s in body:
            if s.op == "load":
                v = arrays[s.arg]
            elif s.op == "const":
                v = np.array(s.arg, s.dtype)
            else:
                info = SimpleNamespace(dtype=s.dtype, arg=s.arg, shape=None)
                v = np.asarray(ops.OPS[s.op].numpy(info, *[vals[i] for i in s.srcs]))
                v = v.astype(s.dtype, copy=False)
            vals.append(v)
    return vals


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
    if dtype.kind in "iu" and op in ("shl", "shr") and operand == 1:
        return rng.integers(0, dtype.itemsize * 8 + 3, n).astype(dtype)  # past the width too
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
    out = one_op(op, arrays)
    out_dtype = np.dtype(bool) if op in ("cmplt", "cmpeq") else dtype
    assert out.dtype == out_dtype
    if dtype.name == "float16":  # float16 computes in float32 and rounds once, as NumPy's ufuncs do
        info, arrays = SimpleNamespace(dtype=np.dtype(np.float32), arg=None, shape=None), \
            [a.astype(np.float32) for a in arrays]
    else:
        info = SimpleNamespace(dtype=out_dtype, arg=None, shape=None)
    with np.errstate(all="ignore"):
        want = np.asarray(ops.OPS[op].numpy(info, *arrays)).astype(out_dtype)
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
        with np.errstate(all="ignore"):
            check(one_op("cast", [x], dst), x.astype(dst), dst)
    for dt in DTYPES:
        c, a, b = rng.random(n) < 0.5, sample(rng, "where", dt, n), sample(rng, "where", dt, n)
        check(one_op("where", [c, a, b]), np.where(c, a, b), dt)


def test_float_special_values_follow_numpy():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, 1e-40, 100.0], np.float32)
    for op in ("exp", "log", "tanh", "sqrt", "sign", "abs", "floor", "erf"):
        info = SimpleNamespace(dtype=x.dtype, arg=None, shape=None)
        with np.errstate(all="ignore"):
            want = np.asarray(ops.OPS[op].numpy(info, x)).astype(x.dtype)
        np.testing.assert_allclose(one_op(op, [x]), want, rtol=1e-6, atol=1e-6 if op == "erf" else 0,
                                   equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_underflow_is_zero_and_denormals_follow_numpy(dtype):
    """exp below its clamp is exactly 0 (not computed, so no denormal arithmetic); just above it the
    denormal results still follow NumPy."""
    lo = -104.0 if dtype == np.float32 else -746.0
    x = np.array([-np.inf, -1e30, 2 * lo, lo - 0.5, lo + 0.5, lo + 5, lo + 20, -1.0], dtype)
    with np.errstate(all="ignore"):
        want = np.exp(x)
    got = one_op("exp", [x])
    tiny = np.finfo(dtype).smallest_subnormal
    np.testing.assert_array_equal(got[:4], 0)
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=2 * tiny)


def test_double_to_half_rounds_once(rng):
    x = np.concatenate([rng.standard_normal(5000) * 100, (np.arange(1000) + 0.5) * 2.0 ** -10 + 1,
                        (np.arange(1000) + 0.5) * 2.0 ** -10 + 1 + 1e-12, [7e4, -1e6, np.nan, 1e-9]])
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(one_op("cast", [x], np.dtype(np.float16)), x.astype(np.float16))


# ---------------------------------------------------------------- random views

def random_view(rng, shape):
    """A fresh buffer seen as `shape` through an offset slice, reshape, permute, stepped slice and expand:
    the graph's tensor and the same view in NumPy."""
    nd = len(shape)
    perm = rng.permutation(nd)
    steps = [int(rng.integers(1, 3)) for _ in range(nd)]
    starts = [int(rng.integers(0, 3)) for _ in range(nd)]
    bcast = [bool(rng.random() < 0.3) for _ in range(nd)]
    src_shape = [1 if bcast[d] else starts[d] + steps[d] * (shape[d] - 1) + 1 for d in range(nd)]
    parent = tuple(src_shape[p] for p in perm)  # the buffer is laid out in permuted order
    base = rng.uniform(-2, 2, math.prod(parent) + 3).astype(np.float32)
    offset = int(rng.integers(0, 4))
    inv = tuple(int(i) for i in np.argsort(perm))
    window = tuple((0, 1, 1) if bcast[d] else (starts[d], src_shape[d], steps[d]) for d in range(nd))

    def tensor():
        t = _make("slice", (tt.from_numpy(base),), ((offset, offset + math.prod(parent), 1),))
        t = _make("permute", (_make("reshape", (t,), parent),), inv)
        return _make("expand", (_make("slice", (t,), window),), tuple(shape))
    array = base[offset:offset + math.prod(parent)].reshape(parent).transpose(inv)
    return tensor, np.broadcast_to(array[tuple(slice(*w) for w in window)], shape)


@pytest.mark.parametrize("seed", range(24))
def test_random_views(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(d) for d in rng.integers(1, 7, int(rng.integers(1, 5))))
    (x, xa), (y, ya), (z, za) = [random_view(rng, shape) for _ in range(3)]
    (out,) = native(lambda: [x() * y() + z().tanh()])
    check(out, xa * ya + np.tanh(za), np.float32)


MOVES = {"permute": [("permute", (2, 0, 1))], "reshape": [("reshape", (8, 15))],
         "reshape+permute": [("reshape", (8, 15)), ("permute", (1, 0))]}


@pytest.mark.parametrize("moves", list(MOVES))
def test_a_fused_value_seen_through_movement_is_recomputed_at_the_moved_index(moves, rng):
    x = rng.standard_normal((4, 6, 5)).astype(np.float32)

    def graph():
        t = -tt.from_numpy(x)
        for op, arg in MOVES[moves]:
            t = _make(op, (t,), arg)
        return [t.exp()]
    with tt.using_backend("llvm"):
        (k,) = tt.plan(*graph()).kernels
    assert any(r.kind == "t" and r.chain for o in k.ops for r in o.srcs)  # the neg is not materialized
    want = -x
    for op, arg in MOVES[moves]:
        want = want.reshape(arg) if op == "reshape" else want.transpose(arg)
    np.testing.assert_allclose(native(graph)[0], np.exp(want), rtol=1e-6)


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
    x, xa = random_view(rng, shape)
    out_shape = tuple(1 if i in axes else d for i, d in enumerate(shape))
    scale = rng.uniform(0.5, 2, out_shape).astype(np.float32)
    (out,) = native(lambda: [_make(rop, (x().exp(),), axes) * tt.from_numpy(scale)])
    e = np.exp(xa)
    red = np.sum(e, axis=axes, keepdims=True) if rop == "sum" else np.max(e, axis=axes, keepdims=True)
    np.testing.assert_allclose(out, red * scale, rtol=2e-6)


@pytest.mark.parametrize("dtype", ["float16", "float64", "int32", "int64", "bool"])
@pytest.mark.parametrize("rop", ["sum", "max"])
def test_reduce_dtypes(dtype, rop, rng):
    dtype = np.dtype(dtype)
    shape, axes = (5, 7, 33), (0, 2)
    xs = sample(rng, "reduce", dtype, math.prod(shape)).reshape(shape)
    out = one_op(rop, [xs], axes)
    if rop == "sum":
        want = np.sum(xs.astype(np.float64) if dtype.kind == "f" else xs, axis=axes, keepdims=True, dtype=None
                      if dtype.kind == "f" else dtype).astype(dtype)
    else:
        want = np.max(xs, axis=axes, keepdims=True)
    if dtype.kind == "b" and rop == "sum":
        want = np.any(xs, axis=axes, keepdims=True)
    check(out, want, dtype)


@pytest.mark.parametrize("rop", ["sum", "max"])
def test_reductions_propagate_nan_and_inf(rop):
    x = -np.ones((4, 40), np.float32)  # all negative: a max starts from -inf, not 0
    x[1, 7], x[2, 39], x[3, 0] = np.nan, np.inf, -np.inf
    fn = np.sum if rop == "sum" else np.max
    for axes in ((1,), (0,)):  # a loop over each row, and a row of accumulators over columns
        np.testing.assert_array_equal(one_op(rop, [x], axes), fn(x, axis=axes, keepdims=True))


def test_softmax_and_layernorm_rows(rng):
    shape = (67, 300)
    x = rng.standard_normal(shape).astype(np.float32) * 3
    (y,) = native(lambda: [tt.from_numpy(x).softmax(-1)])
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-8)

    g, beta = rng.standard_normal(300).astype(np.float32), rng.standard_normal(300).astype(np.float32)
    (y,) = native(lambda: [tt.nn.functional.layer_norm(tt.from_numpy(x), (300,), tt.from_numpy(g),
                                                       tt.from_numpy(beta), eps=1e-5)])
    want = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5) * g + beta
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


def test_gelu(rng):
    x = rng.standard_normal(10_001).astype(np.float32) * 3
    tanh, erf = native(lambda: [tt.from_numpy(x).gelu(approximate="tanh"), tt.from_numpy(x).gelu()])
    np.testing.assert_allclose(tanh, 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x ** 3))),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(erf, 0.5 * x * (1 + ops._erf(x / np.float32(math.sqrt(2)))), rtol=1e-5, atol=1e-6)


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


def build_dag(body, arrays, shape):
    vals = []
    for s in body:
        if s.op == "load":
            vals.append(tt.from_numpy(arrays[s.arg]))
        elif s.op == "const":  # an embedded constant: code, not memory
            vals.append(tt.full(shape, s.arg, dtype=s.dtype))
        else:
            vals.append(_make(s.op, tuple(vals[i] for i in s.srcs)))
    return vals[-1]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags(), st.integers(0, 2 ** 31))
def test_random_expression_dags(dag, seed):
    dtype, n_in, body = dag
    rng = np.random.default_rng(seed)
    shape = (3, 37)
    arrays = [rng.uniform(-3, 3, shape).astype(dtype) for _ in range(n_in)]
    (out,) = native(lambda: [build_dag(body, arrays, shape)])
    vals = reference(body, arrays)
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
    assert ulp_error(one_op(op, [x]), getattr(np, op)(x.astype(np.longdouble)), dtype).max() <= bound


@pytest.mark.parametrize("dtype,bound", [(np.float32, 4e-7), (np.float64, 1.2e-7)])
def test_erf_abs_error(dtype, bound):
    x = np.linspace(-6, 6, 20_001).astype(dtype)
    assert np.abs(one_op("erf", [x]) - np.array([math.erf(v) for v in x.tolist()])).max() <= bound


# ---------------------------------------------------------------- vector code, disk cache, bounds trap, threads

def test_elementwise_chains_vectorize_for_the_host(monkeypatch):
    x = np.zeros(4099, np.float32)
    text = program_ir(monkeypatch, lambda: [tt.from_numpy(x).gelu(approximate="tanh")])
    width = 16 if jit.host()["avx512"] else 8
    assert f"<{width} x float>" in jit.optimized_ir(text)


CACHE_SCRIPT = textwrap.dedent("""
    import json, numpy as np, tinytorch as tt
    from tinytorch.compiler.llvm import jit
    out = tt.from_numpy(np.linspace(-3, 3, 1000, dtype=np.float32)).gelu(approximate="tanh").numpy()
    print(json.dumps(dict(jit.STATS, value=float(out[-1]))))
""")


def test_disk_cache_hit_in_a_fresh_process(tmp_path):
    env = dict(os.environ, TINYTORCH_CACHE_DIR=str(tmp_path), TINYTORCH_BACKEND="llvm")
    runs = [json.loads(subprocess.run([sys.executable, "-c", CACHE_SCRIPT], env=env, check=True,
                                      capture_output=True, text=True).stdout) for _ in range(2)]
    assert runs[0]["compiles"] == 1 and runs[0]["disk_hits"] == 0
    assert runs[1]["compiles"] == 0 and runs[1]["disk_hits"] == 1
    assert runs[0]["value"] == runs[1]["value"] == pytest.approx(2.9963627, rel=1e-6)
    assert len(list((tmp_path / "llvm").glob("*.o"))) == 1


def test_bounds_checks_compile_in_only_when_asked(monkeypatch, fresh_programs):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)

    def graph():
        return [tt.from_numpy(x).T.sum(0)]
    assert "fail_" not in program_ir(monkeypatch, graph)
    monkeypatch.setenv("TINYTORCH_CHECK_BOUNDS", "1")
    assert re.search(r'label %"in_bounds[.\d]*", label %"fail_\d+"', program_ir(monkeypatch, graph))


def test_bounds_check_trap_names_the_kernel(monkeypatch, fresh_programs):
    monkeypatch.setenv("TINYTORCH_CHECK_BOUNDS", "1")
    base = np.arange(10, dtype=np.float32)

    def graph():
        return [-tt.from_numpy(base)[::2]]
    np.testing.assert_array_equal(native(graph)[0], -base[::2])
    view_prefix = Addressing.view_prefix

    def overreach(self, r):  # wrong index arithmetic: every array read two elements further on
        view, n = view_prefix(self, r)
        return View(view.shape, view.strides, view.offset + 2), n
    monkeypatch.setattr(Addressing, "view_prefix", overreach)
    realizer.clear_cache()
    with pytest.raises(RuntimeError, match=r"kernel k\d+: an address fell outside table entry \d+ \(10 elements\)") \
            as e:
        native(graph)
    assert isinstance(e.value.__cause__, IndexError)


def test_threads_split_the_outer_loop_and_agree(monkeypatch, rng, fresh_programs):
    assert parallel.chunks(10, 1 << 20, 3) == [(0, 3), (3, 6), (6, 10)]
    assert parallel.chunks(10, 100, 3) == [(0, 10)]
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 1 << 10)
    split = []
    chunks = parallel.chunks
    monkeypatch.setattr(parallel, "chunks", lambda *a: split.append(chunks(*a)) or split[-1])
    x = rng.standard_normal((512, 300)).astype(np.float32)
    outs = []
    for threads in ("3", "1"):  # compiled for 3 threads, then the same Program's loop run whole
        monkeypatch.setenv("TINYTORCH_NUM_THREADS", threads)
        outs += native(lambda: [tt.from_numpy(x).gelu()])
    assert [len(parts) for parts in split] == [3, 1]
    np.testing.assert_array_equal(outs[0], outs[1])


# ---------------------------------------------------------------- debugging and errors

def test_debug_4_prints_every_stage_function(monkeypatch, capsys, fresh_programs):
    monkeypatch.setenv("TINYTORCH_DEBUG", "4")
    native(lambda: [tt.from_numpy(np.ones(8, np.float32)).exp() * 2])
    err = capsys.readouterr().err
    assert "; llvm: 1 kernels" in err
    assert re.search(r'define i32 @"\w+_k0_s0"\(i8\*\* ', err)
    assert re.search(r'define internal i32 @"\w+_k0_s0\.body"\(float\* noalias ', err)


def _kernel(graph):
    """The first kernel of graph()'s Program on llvm, and a Placement of its inputs and output."""
    with tt.using_backend("llvm"):
        k = tt.plan(*graph()).kernels[0]
    dtypes = {i.slot: np.dtype(i.base.dtype) for i in k.inputs} | {k.out_slot: np.dtype(k.dtype)}
    return k, Placement([i.slot for i in k.inputs], [None] * len(k.consts), dtypes)


def test_what_no_stage_expresses_is_not_lowerable():
    x = np.ones((4, 4), np.float32)
    k, place = _kernel(lambda: [tt.from_numpy(x).exp()])
    root = len(k.ops) - 1
    with pytest.raises(NotLowerable, match="stage kind 'sort'"):
        emit_stage(ir.Module(), k, Stage("sort", root, k.out_slot, name="s"), place, False)
    with pytest.raises(NotLowerable, match="accumulate stage for 'exp'"):
        emit_stage(ir.Module(), k, Stage("accumulate", root, k.out_slot, name="s"), place, False)
    k, place = _kernel(lambda: [tt.from_numpy(x) @ tt.from_numpy(x) + 1.0])  # BLAS, then a native epilogue
    with pytest.raises(NotLowerable, match="op 'matmul' inside a fused kernel"):
        emit_stage(ir.Module(), k, Stage("pointwise", len(k.ops) - 1, k.out_slot, name="s"), place, False)
