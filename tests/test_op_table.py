"""The op table is complete and its declared traits are true: every op has a kind, every elementwise op a
NumPy function and a native lowering, every ufunc computes what its op computes, every trait holds."""
import subprocess
import sys

import numpy as np
import pytest

from tinytorch.compiler import ops
from tinytorch.compiler.llvm import scalar
from tinytorch.compiler.ops import GROUPS, KINDS, OPS
from tinytorch.runtime import Buffer

ELEMENTWISE = sorted(GROUPS.elementwise)
F32 = np.array([[1.5, -0.0, np.nan], [np.inf, -2.0, 0.0]], np.float32)
I64 = np.array([[3, 0, 7], [2, 1, 5]], np.int64)


def leaf(a):
    return ops.leaf(Buffer(np.array(a)))


def test_every_op_has_one_kind_and_the_kinds_partition_the_table():
    assert all(d.kind in KINDS for d in OPS.values())
    by_kind = [getattr(GROUPS, k) for k in KINDS]
    assert sum(len(g) for g in by_kind) == len(OPS) and set().union(*by_kind) == set(OPS)
    assert GROUPS.elementwise == GROUPS.unary | GROUPS.binary | GROUPS.ternary | GROUPS.cast


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_every_elementwise_op_has_numpy_and_a_native_lowering_from_scalar_py(name):
    d = OPS[name]
    assert callable(d.numpy) and callable(d.rule)
    assert callable(d.llvm) and d.llvm.__module__ == scalar.__name__, f"{name}: name its lowering in llvm/scalar.py"


def test_only_elementwise_ops_have_a_native_scalar_lowering():
    assert {n for n, d in OPS.items() if d.llvm is not None} == GROUPS.elementwise


@pytest.mark.parametrize("name", sorted(n for n, d in OPS.items() if d.ufunc is not None))
def test_a_declared_ufunc_computes_what_the_op_computes(name):
    d = OPS[name]
    for a in (F32, I64):
        try:
            node = ops.build(name, *[leaf(a)] * d.ufunc.nin)
        except TypeError:
            continue  # not this dtype
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(d.ufunc(*[a] * d.ufunc.nin), d.numpy(node, *[a] * d.ufunc.nin))
        return
    pytest.fail(f"{name} takes neither float32 nor int64")


def test_an_op_without_a_vjp_is_a_leaf_or_never_gives_a_float():
    for name, d in OPS.items():
        if d.vjp is not None or d.kind == "leaf":
            continue
        assert name in GROUPS.binary, f"{name}: no VJP"
        try:
            out = ops.build(name, leaf(F32), leaf(F32))
        except TypeError:
            continue  # takes no floats
        assert out.dtype.kind != "f", f"{name} gives {out.dtype} and has no VJP"


def test_traits_hold():
    assert GROUPS.views <= GROUPS.movement | GROUPS.window
    assert GROUPS.embedded <= GROUPS.constants <= GROUPS.leaf
    assert GROUPS.costly <= GROUPS.elementwise
    for name, d in OPS.items():
        if d.commutative:
            assert name in GROUPS.binary
            a = F32
            try:
                d.rule([leaf(a), leaf(a)], None)
            except TypeError:  # takes no floats (bitwise ops)
                a = np.arange(-3, 5)
            np.testing.assert_array_equal(d.ufunc(a, a[::-1]), d.ufunc(a[::-1], a))


def test_an_op_is_declared_once():
    with pytest.raises(ValueError, match="'exp' is declared twice"):
        ops.table.declare("exp", "unary", OPS["exp"].rule, OPS["exp"].numpy)


def test_the_llvm_package_reads_the_whole_table_whichever_is_imported_first():
    """llvm/ builds op sets from the table on import, and the table names llvm/scalar.py's functions."""
    for first in ("tinytorch.compiler.ops", "tinytorch.compiler.llvm.values"):
        code = (f"import {first}; from tinytorch.compiler.llvm import values; from tinytorch.compiler.ops import GROUPS; "
                "assert GROUPS.elementwise <= values.POINTWISE_OPS, values.POINTWISE_OPS")
        subprocess.run([sys.executable, "-c", code], check=True)
