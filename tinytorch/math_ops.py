"""More elementwise math, composed from the primitives: float classification, nan_to_num, isclose, copysign,
fmod, trunc/frac, logaddexp, accurate log1p/expm1, logarithms and powers of 2 and 10, and the inverse
trigonometric and hyperbolic functions (atan is the one new primitive they are built on).

Compositions, so both backends and the gradients come for free. Where the textbook formula loses
precision the accurate one is used: log1p and expm1 by Kahan's tricks (exact in rounding, no new
polynomial), sinh from expm1, asinh/acosh/atanh from log1p. Untaken `where` branches are kept finite so
they pass a zero gradient, never 0 * inf = NaN.
"""
from __future__ import annotations

import math

import numpy as np

from . import compiler as C
from . import dtypes
from .elementwise import (abs, as_tensor, broadcast_shapes, eq, exp, floor, log, logical_and, logical_not,
                          logical_or, maximum, ne, remainder, sqrt, where)
from .tensor_base import TensorBase, op_result, wrap

LN2 = math.log(2.0)
LN10 = math.log(10.0)
# past this |x|, x*x would overflow float32 in asinh/acosh: there they are log(2|x|) to the last bit
HUGE_ARG = 1e18


def _float(a) -> TensorBase:
    a = as_tensor(a)
    return a if a.dtype.kind == "f" else a.to(dtypes.DEFAULT_FLOAT)


def _false(a) -> TensorBase:
    return wrap(C.const(False, a.shape, dtypes.bool))


# ------------------------------------------------------------------ classification

def isnan(a):
    return ne(a, a) if a.dtype.kind == "f" else _false(a)


def isinf(a):
    return eq(abs(a), math.inf) if a.dtype.kind == "f" else _false(a)


def isposinf(a):
    return eq(a, math.inf) if a.dtype.kind == "f" else _false(a)


def isneginf(a):
    return eq(a, -math.inf) if a.dtype.kind == "f" else _false(a)


def isfinite(a):
    return eq(abs(a) - abs(a), 0) if a.dtype.kind == "f" else logical_not(_false(a))  # inf - inf and NaN: NaN


def isreal(a):
    return logical_not(_false(a))


def nan_to_num(a, nan=0.0, posinf=None, neginf=None):
    """NaN -> nan, +inf -> posinf, -inf -> neginf (default: the dtype's largest and lowest finite values)."""
    if a.dtype.kind != "f":
        return a
    info = np.finfo(a.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    return where(isnan(a), nan, where(isposinf(a), posinf, where(isneginf(a), neginf, a)))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|a - b| <= atol + rtol * |b|, as PyTorch (equal infinities are close; NaN only with equal_nan)."""
    a, b = as_tensor(a), as_tensor(b)
    if a.dtype != b.dtype:
        raise TypeError(f"isclose: a and b must have one dtype, got {a.dtype.name} and {b.dtype.name}, as in "
                        f"PyTorch; cast one with .to() first")
    if a.dtype.kind != "f":
        return eq(a, b) if rtol == 0 and atol == 0 else isclose(a.to(dtypes.float64), b.to(dtypes.float64), rtol,
                                                                  atol)
    near = logical_and((a - b).abs() <= (b.abs() * rtol + atol), logical_and(isfinite(a), isfinite(b)))
    close = logical_or(eq(a, b), near)
    if equal_nan:
        close = close | logical_and(isnan(a), isnan(b))
    return close


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """Whether every element is close (a Python bool: this realizes)."""
    return bool(isclose(a, b, rtol, atol, equal_nan).all().item())


# ------------------------------------------------------------------ sign, rounding, remainders

def signbit(a):
    """True where the sign bit is set: x < 0, and -0.0 (1 / -0.0 = -inf)."""
    if a.dtype.kind != "f":
        return a < 0 if a.dtype.kind == "i" else _false(a)
    return logical_or(a < 0, logical_and(eq(a, 0), (1.0 / a) < 0))


def copysign(a, b):
    """|a| with the sign of b (the sign bit: -0.0 counts as negative), as a float tensor."""
    a, b = _float(a), as_tensor(b)
    b = b if b.dtype.kind == "f" else b.to(a.dtype)
    neg = signbit(b)
    return where(neg, -abs(a), abs(a))


def trunc(a):
    """Round toward zero, keeping the sign of zero (trunc(-0.5) = -0.0)."""
    if a.dtype.kind != "f":
        return a
    return where(a < 0, -floor(-a), floor(a))


fix = trunc


def frac(a):
    return a - trunc(a)


def fmod(a, b):
    """C's fmod: the remainder of a / b rounded toward zero, with a's sign (remainder takes b's)."""
    r = remainder(a, b)
    a_t = as_tensor(a)
    neg_a = a_t < 0 if not isinstance(a, TensorBase) or a_t.dtype.kind != "f" else signbit(a_t)
    fixed = where(logical_and(ne(r, 0), ne(neg_a, r < 0)), r - b, r)
    if fixed.dtype.kind == "f":  # a zero result keeps a's sign
        fixed = where(eq(fixed, 0), where(neg_a, -0.0, 0.0), fixed)
    return fixed


# ------------------------------------------------------------------ exp and log family

def log1p(a):
    """log(1 + a) accurate for tiny a: log(u) * a / (u - 1) with u = 1 + a (Goldberg), exact where u == 1."""
    a = _float(a)
    u = a + 1
    safe = where(eq(u, 1), 2.0, u)  # keeps the untaken branch finite
    out = where(eq(u, 1), a, log(safe) * (a / (safe - 1)))
    return where(eq(u, math.inf), u, out)


def expm1(a):
    """exp(a) - 1 accurate for tiny a: (u - 1) * a / log(u) with u = exp(a) (Kahan), exact where u == 1."""
    a = _float(a)
    u = exp(a)
    odd = logical_or(eq(u, 1), eq(u, math.inf)) | eq(u - 1, -1)
    safe = where(odd, 2.0, u)
    out = (safe - 1) * (a / log(safe))
    return where(eq(u, 1), a, where(eq(u, math.inf), u, where(eq(u - 1, -1), -1.0, out)))


def log2(a): return log(_float(a)) * (1 / LN2)
def log10(a): return log(_float(a)) * (1 / LN10)
def exp2(a): return exp(_float(a) * LN2)


def logaddexp(a, b):
    """log(exp(a) + exp(b)) without overflow: max + log1p(exp(-|a - b|)); equal infinities give themselves."""
    a, b = _float(a), as_tensor(b)
    b = b.to(a.dtype) if b.dtype != a.dtype else b
    top = maximum(a, b)
    same = eq(a, b)
    gap = where(same, 0.0, -(a - b).abs())
    return where(logical_and(same, isinf(a)), a, top + log1p(exp(gap)))


def logaddexp2(a, b):
    return logaddexp(_float(a) * LN2, as_tensor(b) * LN2) * (1 / LN2)


# ------------------------------------------------------------------ trigonometric and hyperbolic

def atan(a):
    return op_result("atan", (_float(a),))


def asin(a):
    """atan(a / sqrt((1 - a)(1 + a))): +-1 gives +-pi/2, |a| > 1 NaN."""
    a = _float(a)
    return atan(a / sqrt((1 - a) * (1 + a)))


def acos(a):
    """2 atan(sqrt((1 - a) / (1 + a))), accurate near both ends."""
    a = _float(a)
    return atan(sqrt((1 - a) / (1 + a))) * 2


def atan2(y, x):
    """The angle of (x, y) in (-pi, pi], with C's signed zeros and infinities."""
    y, x = _float(y), as_tensor(x)
    x = x.to(y.dtype) if x.dtype != y.dtype else x
    shape = broadcast_shapes(y.shape, x.shape, op="atan2")
    y, x = y.expand(*shape), x.expand(*shape)
    x_neg, y_neg = signbit(x), signbit(y)
    both_inf = logical_and(isinf(x), isinf(y))
    both_zero = logical_and(eq(x, 0), eq(y, 0))
    safe_x = where(both_zero, 1.0, x)
    ratio = where(both_inf, 1.0, y / safe_x)
    base = atan(ratio)
    pi = as_tensor(math.pi, y.dtype)  # a 0-d tensor of y's dtype: a Python float would be float32 here
    half_turn = where(y_neg, -pi, pi)
    out = where(x_neg, base + half_turn, base)
    corner = where(x_neg, pi * 0.75, pi * 0.25)
    out = where(both_inf, where(y_neg, -corner, corner), out)
    zero_case = where(x_neg, half_turn, where(y_neg, -0.0, 0.0))
    return where(both_zero, zero_case, out)


arctan, arcsin, arccos, arctan2 = atan, asin, acos, atan2


def sinh(a):
    """(expm1(a) - expm1(-a)) / 2: no cancellation near 0."""
    a = _float(a)
    return (expm1(a) - expm1(-a)) * 0.5


def cosh(a):
    a = _float(a)
    return (exp(a) + exp(-a)) * 0.5


def asinh(a):
    """sign(a) log1p(|a| + a^2 / (1 + sqrt(1 + a^2))), and log(2|a|) where a^2 would overflow."""
    a = _float(a)
    m = abs(a)
    small = m < HUGE_ARG
    ms = where(small, m, 1.0)
    near = log1p(ms + ms * ms / (sqrt(ms * ms + 1) + 1))
    far = log(where(small, 1.0, m)) + LN2
    return where(signbit(a), -1.0, 1.0) * where(small, near, far)


def acosh(a):
    """log1p(t + sqrt(2t + t^2)) with t = a - 1 (exact near 1), and log(2a) where t^2 would overflow."""
    a = _float(a)
    small = a < HUGE_ARG
    t = where(small, a - 1, 1.0)
    near = log1p(t + sqrt(t * 2 + t * t))
    return where(small, near, log(where(small, 1.0, a)) + LN2)


def atanh(a):
    """log1p(2a / (1 - a)) / 2: +-1 gives +-inf, |a| > 1 NaN."""
    a = _float(a)
    return log1p(a * 2 / (1 - a)) * 0.5


arcsinh, arccosh, arctanh = asinh, acosh, atanh


class MathMixin:
    """Tensor methods for the functions above (`x.isnan()` is `isnan(x)`)."""
    __slots__ = ()

    isnan = isnan
    isinf = isinf
    isposinf = isposinf
    isneginf = isneginf
    isfinite = isfinite
    isreal = isreal
    nan_to_num = nan_to_num
    isclose = isclose
    allclose = allclose
    signbit = signbit
    copysign = copysign
    trunc = fix = trunc
    frac = frac
    fmod = fmod
    log1p = log1p
    expm1 = expm1
    log2 = log2
    log10 = log10
    exp2 = exp2
    logaddexp = logaddexp
    logaddexp2 = logaddexp2
    atan = arctan = atan
    asin = arcsin = asin
    acos = arccos = acos
    atan2 = arctan2 = atan2
    sinh = sinh
    cosh = cosh
    asinh = arcsinh = asinh
    acosh = arccosh = acosh
    atanh = arctanh = atanh
