"""Elementwise ops: unary, binary, `where` and `cast`. Each output element is computed from the operands'
elements at the same index, so fusion puts any chain of them in one loop.

Each declaration names the NumPy function (a ufunc where NumPy has one: the NumPy backend then calls it
with out=), the VJP, and the native scalar lowering in compiler/llvm/scalar.py.
"""
from __future__ import annotations

import math

import numpy as np

from ..llvm import scalar
from .builders import add, const, div, like, mul, neg
from .table import BOOL, build, declare, is_float, shapes


def _same(op, srcs, dtypes=None):
    s0 = srcs[0]
    for s in srcs[1:]:
        if s.shape != s0.shape:
            raise ValueError(f"{op}: operands must have equal shapes after broadcasting, got {shapes(srcs)}")
        if s.dtype != s0.dtype:
            raise TypeError(f"{op}: operands must have one dtype after promotion, got "
                            f"{' and '.join(s.dtype.name for s in srcs)}")
    if dtypes is not None and s0.dtype.kind not in dtypes:
        kinds = {"f": "floating point", "i": "integer", "b": "bool", "u": "unsigned"}
        want = " or ".join(kinds[k] for k in dtypes)
        raise TypeError(f"{op}: takes {want} tensors, got {s0.dtype.name}{list(s0.shape)}; cast with .float() first")
    return s0.shape, s0.dtype


def _ufunc(fn):
    return fn if isinstance(fn, np.ufunc) else None


def _unary(name, fn, vjp, llvm, dtypes="f", **traits):
    """`fn`: the NumPy function computing it; `dtypes`: the dtype kinds it takes."""
    declare(name, "unary", lambda srcs, arg, _n=name, _d=dtypes: _same(_n, srcs, _d),
            lambda n, a, _f=fn: _f(a), vjp, llvm=llvm, ufunc=_ufunc(fn), **traits)


def _binary(name, fn, vjp, llvm, dtypes="fiub", out=None, **traits):
    """`out`: the result's dtype where it is not the operands' (comparisons give bool)."""
    def rule(srcs, arg, _n=name, _d=dtypes):
        shape, dtype = _same(_n, srcs, _d)
        return shape, (out or dtype)
    declare(name, "binary", rule, lambda n, a, b, _f=fn: _f(a, b), vjp, llvm=llvm, ufunc=_ufunc(fn), **traits)


def _erf(x):
    """erf with |error| < 1.2e-7 everywhere (Numerical Recipes' erfc Chebyshev fit); NumPy has no erf."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    r = 1.0 - t * np.exp(poly)
    return np.copysign(r, x).astype(x.dtype, copy=False)


_unary("neg", np.negative, lambda n, g: (neg(g),), scalar.neg, "fi")
_unary("exp", np.exp, lambda n, g: (mul(g, n),), scalar.exp, costly=True)
_unary("log", np.log, lambda n, g: (div(g, n.srcs[0]),), scalar.log, costly=True)
_unary("sqrt", np.sqrt, lambda n, g: (div(mul(g, like(n, 0.5)), n),), scalar.sqrt)
_unary("recip", np.reciprocal, lambda n, g: (neg(mul(g, mul(n, n))),), scalar.recip)
_unary("sin", np.sin, lambda n, g: (mul(g, build("cos", n.srcs[0])),), scalar.sin, costly=True)
_unary("cos", np.cos, lambda n, g: (neg(mul(g, build("sin", n.srcs[0]))),), scalar.cos, costly=True)
_unary("tanh", np.tanh, lambda n, g: (mul(g, build("sub", like(n, 1.0), mul(n, n))),), scalar.tanh, costly=True)
_unary("erf", _erf, lambda n, g: (mul(g, mul(like(n, 2.0 / math.sqrt(math.pi)),
                                               build("exp", neg(mul(n.srcs[0], n.srcs[0]))))),),
       scalar.erf, costly=True)
_unary("abs", np.abs, lambda n, g: (mul(g, build("sign", n.srcs[0])),), scalar.abs, "fiu")
_unary("sign", np.sign, lambda n, g: (like(g, 0.0),), scalar.sign, "fiu")
_unary("floor", np.floor, lambda n, g: (like(g, 0.0),), scalar.floor)
_unary("rint", np.rint, lambda n, g: (like(g, 0.0),), scalar.rint)  # round half to even, as torch.round
_unary("atan", np.arctan, lambda n, g: (div(g, add(like(g, 1.0), mul(n.srcs[0], n.srcs[0]))),), scalar.atan,
       costly=True)


def _max_vjp(n, g):
    """A tie splits the gradient in half (torch.maximum); with arg "strict" the first operand gets it only
    where it is strictly greater, the rest going to the second: relu is maximum(x, 0, "strict"), whose
    gradient is g * (x > 0), 0 at exactly 0 as torch.relu's (and still one fused kernel, the same loop)."""
    # BEGIN EXERCISE m02.max_vjp
    a, b = n.srcs
    win_a = build("cast", build("cmplt", b, a), arg=g.dtype)
    if n.arg == "strict":
        share_a = win_a
    else:
        share_a = add(win_a, mul(build("cast", build("cmpeq", a, b), arg=g.dtype), like(g, 0.5)))
    return mul(g, share_a), mul(g, build("sub", like(g, 1.0), share_a))
    # END EXERCISE m02.max_vjp


def _pow_vjp(n, g):
    """As torch: d/da is 0 where b == 0 (even at a == 0), d/db is 0 where a == 0 and b >= 0."""
    # BEGIN EXERCISE m02.pow_vjp
    a, b = n.srcs
    zero = like(g, 0.0)
    da = mul(b, build("pow", a, build("sub", b, like(b, 1.0))))
    ga = mul(g, build("where", build("cmpeq", b, zero), zero, da))
    b_nonneg = build("cmpeq", build("cmplt", b, zero), const(False, b.shape, BOOL))
    flat = build("mul", build("cmpeq", a, zero), b_nonneg)
    return ga, mul(g, build("where", flat, zero, mul(n, build("log", a))))
    # END EXERCISE m02.pow_vjp


def _mod_vjp(n, g):
    a, b = n.srcs
    if not is_float(n.dtype):
        return None, None
    return g, neg(mul(g, build("floor", div(a, b))))


_binary("add", np.add, lambda n, g: (g, g), scalar.add, commutative=True)
_binary("sub", np.subtract, lambda n, g: (g, neg(g)), scalar.sub, "fiu")
_binary("mul", np.multiply, lambda n, g: (mul(g, n.srcs[1]), mul(g, n.srcs[0])), scalar.mul, commutative=True)
_binary("div", np.divide, lambda n, g: (div(g, n.srcs[1]), neg(mul(g, div(n, n.srcs[1])))), scalar.div, "f")
_binary("maximum", np.maximum, _max_vjp, scalar.maximum)  # not commutative: of -0.0 and +0.0 it gives the second
_binary("pow", np.power, _pow_vjp, scalar.pow, "fi", costly=True)
_binary("floordiv", np.floor_divide, None, scalar.floordiv, "iu")
_binary("mod", np.remainder, _mod_vjp, scalar.mod, "fiu")
_binary("bitand", np.bitwise_and, None, scalar.bitand, "iub", commutative=True)
_binary("bitor", np.bitwise_or, None, scalar.bitor, "iub", commutative=True)
_binary("bitxor", np.bitwise_xor, None, scalar.bitxor, "iub", commutative=True)
_binary("shl", np.left_shift, None, scalar.shl, "iu")
_binary("shr", np.right_shift, None, scalar.shr, "iu")
_binary("cmplt", np.less, None, scalar.cmplt, "fiub", out=BOOL)
_binary("cmpeq", np.equal, None, scalar.cmpeq, "fiub", out=BOOL, commutative=True)


def _where_rule(srcs, arg):
    c, a, b = srcs
    if c.dtype != BOOL:
        raise TypeError(f"where: the condition must be bool, got {c.dtype.name}")
    if not (c.shape == a.shape == b.shape):
        raise ValueError(f"where: operands must have equal shapes after broadcasting, got {shapes(srcs)}")
    return _same("where", (a, b))


def _where_vjp(n, g):
    # BEGIN EXERCISE m02.where_vjp
    c = n.srcs[0]
    zero = like(g, 0.0)
    return None, build("where", c, g, zero), build("where", c, zero, g)
    # END EXERCISE m02.where_vjp


declare("where", "ternary", _where_rule, lambda n, c, a, b: np.where(c, a, b), _where_vjp, llvm=scalar.where)


def _cast_rule(srcs, arg):
    return srcs[0].shape, np.dtype(arg)


def _cast_vjp(n, g):
    src = n.srcs[0]
    return (build("cast", g, arg=src.dtype) if is_float(src.dtype) and is_float(g.dtype) else None,)


declare("cast", "cast", _cast_rule, lambda n, a: a.astype(n.dtype), _cast_vjp, llvm=scalar.cast)
