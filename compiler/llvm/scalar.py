"""Scalar LLVM lowering of every elementwise op: the native column of the op table.

The op table names each op's lowering here (`llvm=scalar.exp` in compiler/ops/elementwise.py), so this
module must not import the table. Each lowering is `fn(b, args, in_dtype, out_dtype) -> ir.Value`: `b` an
llvmlite IRBuilder, `args` the operands already in their register types, `in_dtype` the operands' NumPy
dtype (for `where`, that of the two values), `out_dtype` the result's. Register types: float16 and
float32 compute as `float` (float16 is rounded where it is stored, cast or compared), float64 as `double`,
int32/int64 as themselves, bool as i1; in memory float16 is `half` and bool is i8. Semantics follow
NumPy's where they are defined (integer division by zero gives 0, floordiv/mod round toward -inf,
maximum propagates NaN); out-of-range float-to-int casts and integer powers with negative exponents
(NumPy raises) are undefined here.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir

from . import mathfns as M

I1, I8, I16 = ir.IntType(1), ir.IntType(8), ir.IntType(16)
REGISTER = {"float16": M.F32, "float32": M.F32, "float64": M.F64, "int32": M.I32, "int64": M.I64, "uint8": I8,
            "bool": I1, "int8": I8, "int16": I16, "uint16": I16, "uint32": M.I32, "uint64": M.I64}
MEMORY = dict(REGISTER, float16=ir.HalfType(), bool=I8)


def reg_type(dtype):
    return REGISTER[np.dtype(dtype).name]


def mem_type(dtype):
    return MEMORY[np.dtype(dtype).name]


def is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def is_bool(dtype) -> bool:
    return np.dtype(dtype).kind == "b"


def is_unsigned(dtype) -> bool:
    return np.dtype(dtype).kind == "u"


def constant(value, dtype) -> ir.Constant:
    dtype = np.dtype(dtype)
    v = np.array(value).astype(dtype).item()  # wraps ints, rounds float16 like NumPy
    return ir.Constant(reg_type(dtype), int(v) if not is_float(dtype) else float(v))


def load_convert(b, v, dtype):
    """A value just loaded from memory, into its register type."""
    if is_bool(dtype):
        return b.icmp_unsigned("!=", v, ir.Constant(I8, 0))
    return b.fpext(v, M.F32) if np.dtype(dtype).name == "float16" else v


def store_convert(b, v, dtype):
    if is_bool(dtype):
        return b.zext(v, I8)
    return b.fptrunc(v, ir.HalfType()) if np.dtype(dtype).name == "float16" else v


def round_f16(b, v):
    """Round a float or double to half precision and widen it back to the float register."""
    if v.type == M.F64:
        v = _to_float_round_odd(b, v)
    return b.fpext(b.fptrunc(v, ir.HalfType()), M.F32)


# float16 bits: the sign, the magnitude (exponent and mantissa), and the magnitude above which a value is a NaN
F16_SIGN, F16_MAGNITUDE, F16_INF = 0x8000, 0x7FFF, 0x7C00


def f16_bits(b, v, loaded=None):
    """The float16 bit pattern (i16) of a float register value as it is stored: `loaded`, the half it was
    widened from, as it is, else `v` rounded."""
    if loaded is None:
        loaded = b.fptrunc(_to_float_round_odd(b, v) if v.type == M.F64 else v, ir.HalfType())
    return b.bitcast(loaded, ir.IntType(16))


def compare_f16(b, op: str, x, y):
    """cmplt / cmpeq of two float16 bit patterns, as integers: a half compare (what LLVM folds
    fpext(x) < fpext(y) into) is lowered on x86 to ucomiss and a branch per element, which cost max-pooling's
    float16 backward 5-9x its float32 time; this is branchless and vectorizes. Sign-magnitude bits map to a
    signed key in the values' order (+0 and -0 both 0); any NaN compares false."""
    i16 = ir.IntType(16)

    def c(v):
        return ir.Constant(i16, v)
    mx, my = b.and_(x, c(F16_MAGNITUDE)), b.and_(y, c(F16_MAGNITUDE))
    if op == "cmpeq":  # the same bits of a number, or two zeros
        same = b.and_(b.icmp_unsigned("==", x, y), b.icmp_unsigned("<=", mx, c(F16_INF)))
        return b.or_(same, b.icmp_unsigned("==", b.or_(mx, my), c(0)))
    ordered = b.and_(b.icmp_unsigned("<=", mx, c(F16_INF)), b.icmp_unsigned("<=", my, c(F16_INF)))

    def key(bits, mag):
        return b.select(b.icmp_unsigned("!=", b.and_(bits, c(F16_SIGN)), c(0)), b.sub(c(0), mag), mag)
    return b.and_(ordered, b.icmp_signed("<", key(x, mx), key(y, my)))


def _to_float_round_odd(b, d):
    """double -> float rounded to odd, so a following float -> half rounding is correctly rounded.

    x86 has no double -> half instruction and LLVM would call __truncdfhf2, which MCJIT cannot resolve;
    a plain double -> float -> half would round twice."""
    f = b.fptrunc(d, M.F32)
    back = b.fpext(f, M.F64)
    bits = b.bitcast(f, M.I32)
    away = b.fcmp_ordered(">", M.call(b, "fabs", back), M.call(b, "fabs", d))
    toward_zero = b.select(away, b.sub(bits, ir.Constant(M.I32, 1)), bits)
    odd = b.bitcast(b.or_(toward_zero, ir.Constant(M.I32, 1)), M.F32)
    exact = b.fcmp_unordered("ueq", back, d)  # exact, or NaN
    return b.select(exact, f, odd)


# ---------------------------------------------------------------- unary

def neg(b, a, t, o):
    return b.fneg(a[0]) if is_float(t) else b.neg(a[0])


def _math(fn):
    """The lowering of a unary op that is one function of mathfns.py."""
    return lambda b, a, t, o: fn(b, a[0])


exp = _math(M.exp)
log = _math(M.log)
sin = _math(M.sin)
cos = _math(M.cos)
tanh = _math(M.tanh)
erf = _math(M.erf)
atan = _math(M.atan)


def sqrt(b, a, t, o):
    return M.call(b, "sqrt", a[0])


def recip(b, a, t, o):
    return b.fdiv(M.c(a[0].type, 1.0), a[0])


def abs(b, a, t, o):  # noqa: A001  (the op's name)
    if is_float(t):
        return M.call(b, "fabs", a[0])
    if is_unsigned(t):
        return a[0]
    return b.select(b.icmp_signed("<", a[0], ir.Constant(a[0].type, 0)), b.neg(a[0]), a[0])


def sign(b, a, t, o):
    x, ty = a[0], a[0].type
    if is_float(t):
        pos, neg = b.fcmp_ordered(">", x, M.c(ty, 0.0)), b.fcmp_ordered("<", x, M.c(ty, 0.0))
        rest = b.select(M.isnan(b, x), x, M.c(ty, 0.0))  # NaN stays NaN and -0.0 gives +0.0, as NumPy
        return b.select(pos, M.c(ty, 1.0), b.select(neg, M.c(ty, -1.0), rest))
    if is_unsigned(t):
        return b.zext(b.icmp_unsigned("!=", x, ir.Constant(ty, 0)), ty)
    pos, neg = b.icmp_signed(">", x, ir.Constant(ty, 0)), b.icmp_signed("<", x, ir.Constant(ty, 0))
    return b.sub(b.zext(pos, ty), b.zext(neg, ty))


def floor(b, a, t, o):
    return M.call(b, "floor", a[0])


def rint(b, a, t, o):
    return M.call(b, "rint", a[0])  # the default rounding mode: to nearest, ties to even


# ---------------------------------------------------------------- binary

def add(b, a, t, o):
    x, y = a
    return b.or_(x, y) if is_bool(t) else b.fadd(x, y) if is_float(t) else b.add(x, y)


def sub(b, a, t, o):
    return b.fsub(*a) if is_float(t) else b.sub(*a)


def mul(b, a, t, o):
    x, y = a
    return b.and_(x, y) if is_bool(t) else b.fmul(x, y) if is_float(t) else b.mul(x, y)


def div(b, a, t, o):
    return b.fdiv(*a)


def maximum(b, a, t, o):
    x, y = a
    if is_bool(t):
        return b.or_(x, y)
    if is_float(t):
        m = b.select(b.fcmp_ordered(">", x, y), x, y)  # y when y is NaN
        return b.select(M.isnan(b, x), x, m)
    gt = b.icmp_unsigned(">", x, y) if is_unsigned(t) else b.icmp_signed(">", x, y)
    return b.select(gt, x, y)


def pow(b, a, t, o):  # noqa: A001  (the op's name)
    x, y = a
    if not is_float(t):
        return _ipow(b, x, y)
    ty = x.type
    if ty == M.F32:  # float32 pow through double: exp(y*log x) amplifies log's error by |y log x|
        return b.fptrunc(_fpow(b, b.fpext(x, M.F64), b.fpext(y, M.F64)), M.F32)
    return _fpow(b, x, y)


def _fpow(b, x, y):
    """C99's pow: the sign of x (of -0.0 too) survives odd integer powers; a negative finite base to a
    fractional power is NaN, while (-inf)**y is +-0 or +-inf; x**0 = 1**y = (-1)**(+-inf) = 1, NaN or not."""
    ty = x.type
    ax = M.call(b, "fabs", x)
    mag = M.exp(b, b.fmul(y, M.log(b, ax)))
    y_int = b.fcmp_ordered("==", M.call(b, "floor", y), y)
    half = b.fmul(y, M.c(ty, 0.5))
    y_odd = b.and_(y_int, b.fcmp_ordered("!=", M.call(b, "floor", half), half))
    neg = b.fcmp_ordered("<", M.call(b, "copysign", M.c(ty, 1.0), x), M.c(ty, 0.0))
    res = b.select(b.and_(neg, y_odd), b.fneg(mag), mag)
    finite = b.fcmp_ordered("<", ax, M.c(ty, math.inf))
    fractional = b.and_(b.not_(y_int), b.fcmp_ordered("!=", x, M.c(ty, 0.0)))
    res = b.select(b.and_(b.and_(neg, fractional), finite), M.c(ty, math.nan), res)
    y_inf = b.fcmp_ordered("==", M.call(b, "fabs", y), M.c(ty, math.inf))
    one = b.or_(b.fcmp_ordered("==", y, M.c(ty, 0.0)), b.fcmp_ordered("==", x, M.c(ty, 1.0)))
    one = b.or_(one, b.and_(y_inf, b.fcmp_ordered("==", x, M.c(ty, -1.0))))
    return b.select(one, M.c(ty, 1.0), res)


def _ipow(b, x, y):
    """Square-and-multiply over every bit of the exponent, unrolled: wraps like NumPy."""
    ty = x.type
    one = ir.Constant(ty, 1)
    res, base = one, x
    for bit in range(ty.width - 1):
        set_ = b.icmp_unsigned("!=", b.and_(b.lshr(y, ir.Constant(ty, bit)), one), ir.Constant(ty, 0))
        res = b.select(set_, b.mul(res, base), res)
        base = b.mul(base, base)
    return b.select(b.icmp_signed("<", y, ir.Constant(ty, 0)), ir.Constant(ty, 0), res)


def _safe_divisor(b, y):
    """Divisor with 0 and -1 replaced by 1 (x/0 is 0 in NumPy; MIN/-1 traps in hardware)."""
    ty = y.type
    bad = b.or_(b.icmp_signed("==", y, ir.Constant(ty, 0)), b.icmp_signed("==", y, ir.Constant(ty, -1)))
    return b.select(bad, ir.Constant(ty, 1), y)


def _udivmod(b, x, y, rem):
    """Unsigned x // y or x % y, 0 where y == 0 (as NumPy)."""
    zero = ir.Constant(x.type, 0)
    is_zero = b.icmp_unsigned("==", y, zero)
    d = b.select(is_zero, ir.Constant(x.type, 1), y)
    return b.select(is_zero, zero, b.urem(x, d) if rem else b.udiv(x, d))


def floordiv(b, a, t, o):
    x, y = a
    ty = x.type
    zero = ir.Constant(ty, 0)
    if is_unsigned(t):
        return _udivmod(b, x, y, False)
    d = _safe_divisor(b, y)
    q, r = b.sdiv(x, d), b.srem(x, d)
    adjust = b.and_(b.icmp_signed("!=", r, zero), b.xor(b.icmp_signed("<", r, zero), b.icmp_signed("<", d, zero)))
    q = b.sub(q, b.zext(adjust, ty))
    q = b.select(b.icmp_signed("==", y, ir.Constant(ty, -1)), b.neg(x), q)
    return b.select(b.icmp_signed("==", y, zero), zero, q)


def mod(b, a, t, o):
    x, y = a
    ty = x.type
    if is_float(t):
        zero = M.c(ty, 0.0)
        r = b.frem(x, y)  # fmod; NumPy's remainder takes the divisor's sign
        fix = b.and_(b.fcmp_ordered("!=", r, zero),
                     b.xor(b.fcmp_ordered("<", r, zero), b.fcmp_ordered("<", y, zero)))
        r = b.select(fix, b.fadd(r, y), r)
        return b.select(b.fcmp_ordered("==", r, zero), M.call(b, "copysign", zero, y), r)
    if is_unsigned(t):
        return _udivmod(b, x, y, True)
    zero = ir.Constant(ty, 0)
    d = _safe_divisor(b, y)
    r = b.srem(x, d)
    fix = b.and_(b.icmp_signed("!=", r, zero), b.xor(b.icmp_signed("<", r, zero), b.icmp_signed("<", d, zero)))
    r = b.select(fix, b.add(r, d), r)
    return b.select(b.icmp_signed("==", y, zero), zero, r)


def bitand(b, a, t, o):
    return b.and_(*a)


def bitor(b, a, t, o):
    return b.or_(*a)


def bitxor(b, a, t, o):
    return b.xor(*a)


def shl(b, a, t, o):
    """x << y, 0 where y is negative or past the width (as NumPy; LLVM's shl would be poison there)."""
    x, y = a
    width = ir.Constant(y.type, x.type.width)
    return b.select(b.icmp_unsigned("<", y, width), b.shl(x, y), ir.Constant(x.type, 0))


def shr(b, a, t, o):
    """x >> y: arithmetic for signed x (a shift past the width leaves the sign), logical for unsigned."""
    x, y = a
    width = ir.Constant(y.type, x.type.width)
    inside = b.icmp_unsigned("<", y, width)
    if is_unsigned(t):
        return b.select(inside, b.lshr(x, y), ir.Constant(x.type, 0))
    return b.ashr(x, b.select(inside, y, ir.Constant(y.type, x.type.width - 1)))


def cmplt(b, a, t, o):
    x, y = a
    if is_float(t):
        return b.fcmp_ordered("<", x, y)
    return b.icmp_unsigned("<", x, y) if is_bool(t) or is_unsigned(t) else b.icmp_signed("<", x, y)


def cmpeq(b, a, t, o):
    return b.fcmp_ordered("==", *a) if is_float(t) else b.icmp_signed("==", *a)


def where(b, a, t, o):
    return b.select(*a)


def cast(b, a, t, o):
    x = a[0]
    src, dst = np.dtype(t), np.dtype(o)
    rt = reg_type(dst)
    if is_bool(dst):
        return b.fcmp_unordered("!=", x, M.c(x.type, 0.0)) if is_float(src) else \
            b.icmp_unsigned("!=", x, ir.Constant(x.type, 0))
    if is_float(dst):
        if not is_float(src):
            wide = M.F64 if dst.name == "float16" else rt
            v = b.uitofp(x, wide) if is_bool(src) or is_unsigned(src) else b.sitofp(x, wide)
        else:
            v = x
        if dst.name == "float16":  # round once, straight to half, as NumPy does
            return x if src.name == "float16" else round_f16(b, v)
        return v if v.type == rt else b.fpext(v, rt) if rt == M.F64 else b.fptrunc(v, rt)
    if is_float(src):
        return b.trunc(b.fptosi(x, M.I64), rt) if is_unsigned(dst) else b.fptosi(x, rt)  # wraps, as x86 NumPy
    if x.type.width == rt.width:
        return x
    if x.type.width > rt.width:
        return b.trunc(x, rt)
    return b.zext(x, rt) if is_bool(src) or is_unsigned(src) else b.sext(x, rt)
