"""Inline exp, expm1, log, tanh, erf, sin, cos and atan for float and double, emitted as plain LLVM IR.

A call into libm is opaque to the loop vectorizer, so each function here is range reduction plus a
polynomial, built from fma/rint/floor/copysign intrinsics, bitcasts and selects, all of which vectorize.
Float16 data is computed in float32 by the caller. Polynomials are truncated Taylor series (coefficients
anyone can check), with enough terms that truncation is below half an ulp on the reduced range.

Max error, measured by tests/test_llvm_codegen.py over dense ranges against long double (x86 80-bit):
    exp, log, tanh: float32 <= 2 ulp, float64 <= 2 ulp (measured 1, 1, 2 for both)
    sin, cos: <= 2 ulp for |x| <= 1e4; float32 reduces exactly for every finite x (`_quarter_turns_mod4`),
              float64 by Cody-Waite below 1e6, float32-level above it, NaN past 2^128
    erf: abs error <= 4.2e-7 (float32, every float32 in [0, 10] against float64 erf; the cancellation in
         1 - t*exp(..) near small |x|), <= 1.2e-7 (float64, measured 8.3e-8): the Numerical Recipes erfc fit
         that the NumPy backend's `ops._erf` also uses, so both backends agree (within 3.8e-7 in float32,
         6e-16 in float64); float64 erf is only that accurate. Its exp is a cut-down one (`_exp_nonpos`).
    atan: float32 <= 2 ulp, float64 <= 3.2 ulp (measured 1.94 and 3.10 over [-5, 5] and +-[1e-30, 1e30]);
          the reductions' divisions add the error, the series is below half an ulp
Special values: NaN in gives NaN out; exp overflows to inf and underflows through denormals to 0 (exactly 0
below the clamp, without computing: no denormal arithmetic for exp(-inf));
log(0) = -inf, log(x<0) = NaN, log(inf) = inf; tanh(+-inf) = +-1; erf(+-inf) = +-1.
"""
from __future__ import annotations

import math

from llvmlite import ir

F32, F64 = ir.FloatType(), ir.DoubleType()
I32, I64 = ir.IntType(32), ir.IntType(64)


class _Fmt:
    """Bit layout of one IEEE type: integer twin, mantissa bits, exponent bias."""
    def __init__(self, ty):
        double = isinstance(ty, ir.DoubleType)
        self.ty, self.ity = ty, (I64 if double else I32)
        self.mant, self.bias = (52, 1023) if double else (23, 127)
        self.double = double


def fmt(x) -> _Fmt:
    return _Fmt(x.type)


def intrinsic(b: ir.IRBuilder, name: str, ty, nargs: int = 1):
    """Declare (once per module) the overloaded intrinsic llvm.<name>.<f32|f64> and return it."""
    suffix = {"float": "f32", "double": "f64"}.get(str(ty), str(ty))
    full = f"llvm.{name}.{suffix}"
    m = b.module
    try:
        return m.get_global(full)
    except KeyError:
        return ir.Function(m, ir.FunctionType(ty, [ty] * nargs), name=full)


def call(b, name, *args):
    return b.call(intrinsic(b, name, args[0].type, len(args)), list(args))


def c(ty, v):
    return ir.Constant(ty, v)


def horner(b, x, coeffs):
    """coeffs[0] + x*(coeffs[1] + x*(...)), by fmuladd."""
    acc = c(x.type, coeffs[-1])
    for k in reversed(coeffs[:-1]):
        acc = call(b, "fmuladd", acc, x, c(x.type, k))
    return acc


def pow2(b, n, f: _Fmt):
    """2**n for an integer n of f's integer type inside the normal exponent range."""
    return b.bitcast(b.shl(b.add(n, c(f.ity, f.bias)), c(f.ity, f.mant)), f.ty)


def isnan(b, x):
    return b.fcmp_unordered("uno", x, x)


def clamp(b, x, lo, hi):
    """min(max(x, lo), hi) that leaves NaN as NaN."""
    x = b.select(b.fcmp_ordered("<", x, c(x.type, lo)), c(x.type, lo), x)
    return b.select(b.fcmp_ordered(">", x, c(x.type, hi)), c(x.type, hi), x)


# ---------------------------------------------------------------- exp family

LN2_HI = {False: 0.693359375, True: 6.93147180369123816490e-01}
LN2_LO = {False: -2.12194440e-4, True: 1.90821492927058770002e-10}
EXPM1_TERMS = {False: 8, True: 14}  # Taylor terms r^2/2! .. : r <= ln2/2 makes the rest < 0.5 ulp
EXP_CLAMP = {False: (-104.0, 89.0), True: (-746.0, 710.0)}  # beyond: 0 or inf after rounding


def _reduce_ln2(b, x, f, terms=None, n=None):
    """x = n*ln2 + r with |r| <= ln2/2; returns (n as float, r, expm1(r)) (`terms` Taylor terms after r;
    `n`, when given, is rint(x/ln2) already)."""
    if n is None:
        n = call(b, "rint", b.fmul(x, c(f.ty, 1 / math.log(2))))
    r = call(b, "fmuladd", b.fneg(n), c(f.ty, LN2_HI[f.double]), x)
    r = call(b, "fmuladd", b.fneg(n), c(f.ty, LN2_LO[f.double]), r)
    p = horner(b, r, [1 / math.factorial(k) for k in range(2, 2 + (terms or EXPM1_TERMS[f.double]))])
    return n, r, call(b, "fmuladd", b.fmul(r, r), p, r)


def exp(b, x):
    f = fmt(x)
    lo, hi = EXP_CLAMP[f.double]
    # below lo the result rounds to 0: computing it anyway made denormals, which cost x86 a microcode assist
    # per element and per later op (a causal softmax's masked half, exp(-inf), ran 1.6x slower)
    under = b.fcmp_ordered("<", x, c(f.ty, lo))
    xc = clamp(b, b.select(under, c(f.ty, 0.0), x), lo, hi)
    n, _, q = _reduce_ln2(b, xc, f)
    ni = b.fptosi(n, f.ity)
    n1 = b.ashr(ni, c(f.ity, 1))  # two halves keep each power of two normal near over/underflow
    res = b.fmul(b.fmul(b.fadd(q, c(f.ty, 1.0)), pow2(b, n1, f)), pow2(b, b.sub(ni, n1), f))
    return b.select(isnan(b, x), x, b.select(under, c(f.ty, 0.0), res))


def expm1_nonneg(b, y, f):
    """exp(y) - 1 for 0 <= y <= 20 without cancellation: 2^n*q + (2^n - 1)."""
    n, _, q = _reduce_ln2(b, y, f)
    scale = pow2(b, b.fptosi(n, f.ity), f)
    return call(b, "fmuladd", scale, q, b.fsub(scale, c(f.ty, 1.0)))


TANH_CLAMP = {False: 10.0, True: 20.0}  # tanh rounds to exactly 1 beyond these


def tanh(b, x):
    f = fmt(x)
    ax = clamp(b, call(b, "fabs", x), 0.0, TANH_CLAMP[f.double])
    t = expm1_nonneg(b, b.fadd(ax, ax), f)
    res = call(b, "copysign", b.fdiv(t, b.fadd(t, c(f.ty, 2.0))), x)
    return b.select(isnan(b, x), x, res)


# ---------------------------------------------------------------- log

SQRT_HALF = math.sqrt(0.5)
LOG_TERMS = {False: 4, True: 10}  # R = sum 2 z^k / (2k+1), z = s^2 <= 0.0295
MIN_NORMAL = {False: 2.0 ** -126, True: 2.0 ** -1022}
DENORMAL_SHIFT = {False: 25, True: 54}


def log(b, x):
    f = fmt(x)
    tiny = b.fcmp_ordered("<", x, c(f.ty, MIN_NORMAL[f.double]))
    shift = DENORMAL_SHIFT[f.double]
    xs = b.select(tiny, b.fmul(x, c(f.ty, 2.0 ** shift)), x)
    bits = b.bitcast(xs, f.ity)
    half_bits = b.bitcast(c(f.ty, SQRT_HALF), f.ity)
    e = b.ashr(b.sub(bits, half_bits), c(f.ity, f.mant))  # x = m * 2^e, m in [sqrt(1/2), sqrt(2))
    m = b.bitcast(b.sub(bits, b.shl(e, c(f.ity, f.mant))), f.ty)
    e = b.sub(e, b.select(tiny, c(f.ity, shift), c(f.ity, 0)))
    fr = b.fsub(m, c(f.ty, 1.0))
    s = b.fdiv(fr, b.fadd(fr, c(f.ty, 2.0)))
    z = b.fmul(s, s)
    R = b.fmul(z, horner(b, z, [2.0 / (2 * k + 1) for k in range(1, LOG_TERMS[f.double] + 1)]))
    hfsq = b.fmul(c(f.ty, 0.5), b.fmul(fr, fr))
    log1p = b.fsub(fr, b.fsub(hfsq, b.fmul(s, b.fadd(hfsq, R))))  # fdlibm's arrangement
    ef = b.sitofp(e, f.ty)
    res = call(b, "fmuladd", ef, c(f.ty, LN2_HI[f.double]), call(b, "fmuladd", ef, c(f.ty, LN2_LO[f.double]), log1p))
    res = b.select(b.fcmp_unordered("uge", x, c(f.ty, 0.0)), res, c(f.ty, math.nan))  # x < 0: NaN
    res = b.select(b.fcmp_ordered("==", x, c(f.ty, 0.0)), c(f.ty, -math.inf), res)
    res = b.select(b.fcmp_ordered("==", x, c(f.ty, math.inf)), x, res)
    return b.select(isnan(b, x), x, res)


# ---------------------------------------------------------------- sin / cos

PIO2 = (1.57079632673412561417e+00, 6.07710050630396597660e-11, 2.02226624871116645580e-21,
        8.47842766036889956997e-32)  # fdlibm's pi/2 in pieces of 33 bits: k*piece is exact
SIN_TERMS = {False: 5, True: 9}  # after r: r^3/3! ... ; |r| <= pi/4
COS_TERMS = {False: 6, True: 10}  # after 1: r^2/2! ...


# 2/pi in 29-bit pieces: piece i is TWO_OVER_PI_29[i] * 2**(-29*(i+1)), the bits of 2/pi from 2^-(29i+1) down
# (floor(2/pi * 2**174), cut in six; tests/test_values.py checks them against mpmath). A float32 has 24
# significant bits, so its product with a piece is exact in double (24 + 29 <= 53).
TWO_OVER_PI_29 = (341782637, 423170132, 352195499, 488592205, 461485765, 90590992)
TWO_OVER_PI_PIECES = tuple(k * 2.0 ** (-29 * (i + 1)) for i, k in enumerate(TWO_OVER_PI_29))
CODY_WAITE_MAX = 1e6  # float64 |x| below: k = rint(x*2/pi) < 2^20, so k * (a 33-bit piece of pi/2) is exact


def _quarter_turns_mod4(b, parts):
    """x * 2/pi reduced mod 4, exactly enough for any |x| < 2^128, from x = sum(parts) (doubles of at most
    24 significant bits: a float32 is one part).

    Each product part * piece is exact; p - 4*rint(p/4) keeps it mod 4 exactly (p/4, rint and 4*n are
    exact, and p >= 2^55 is a multiple of 8, giving 0), so what is summed lies in [-2, 2] and the sum's
    error is a few 2^-52 quarter turns, whatever the size of x (Payne-Hanek without a table: the pieces
    whose product is a multiple of 4 for every x cost only a multiply). The last piece's products are
    below 2^-17 and are added as they are; the bits of 2/pi left out are worth < x * 2^-174 <= 2^-46."""
    s = None
    for part in parts:
        for i, piece in enumerate(TWO_OVER_PI_PIECES):
            p = b.fmul(part, c(F64, piece))
            if i < len(TWO_OVER_PI_PIECES) - 1:
                n4 = call(b, "rint", b.fmul(p, c(F64, 0.25)))
                p = call(b, "fma", n4, c(F64, -4.0), p)
            s = p if s is None else b.fadd(s, p)
    return s


def _sincos(b, x):
    """(sin(r), cos(r), quadrant) with x = k*pi/2 + r, |r| <= pi/4, k mod 4 the quadrant.

    float32 reduces exactly by `_quarter_turns_mod4` in double, so any finite float32 gets its ulp-level
    result (1e20 no longer gives 1e33). float64 reduces by Cody-Waite (4 pieces of pi/2) below
    CODY_WAITE_MAX; above, x is split into three float32-sized parts reduced the same way: float32-level
    accuracy up to |x| < 2^128, NaN beyond (where the parts overflow), never a value out of [-1, 1]."""
    f = fmt(x)
    if not f.double:
        t = _quarter_turns_mod4(b, [b.fpext(x, F64)])
        k = call(b, "rint", t)
        r = b.fptrunc(b.fmul(b.fsub(t, k), c(F64, math.pi / 2)), F32)
    else:
        k_cw = call(b, "rint", b.fmul(x, c(F64, 2 / math.pi)))
        r_cw = x
        for piece in PIO2:
            r_cw = call(b, "fma", b.fneg(k_cw), c(F64, piece), r_cw)
        hi = b.fpext(b.fptrunc(x, F32), F64)
        rest = b.fsub(x, hi)
        mid = b.fpext(b.fptrunc(rest, F32), F64)
        t = _quarter_turns_mod4(b, [hi, mid, b.fsub(rest, mid)])
        k_big = call(b, "rint", t)
        r_big = b.fmul(b.fsub(t, k_big), c(F64, math.pi / 2))
        small = b.fcmp_ordered("<", call(b, "fabs", x), c(F64, CODY_WAITE_MAX))
        k = b.select(small, k_cw, k_big)
        r = b.select(small, r_cw, r_big)
    z = b.fmul(r, r)
    s_coef = [(-1) ** j / math.factorial(2 * j + 1) for j in range(1, SIN_TERMS[f.double] + 1)]
    c_coef = [(-1) ** j / math.factorial(2 * j) for j in range(1, COS_TERMS[f.double] + 1)]
    s = call(b, "fmuladd", b.fmul(z, r), horner(b, z, s_coef), r)
    co = call(b, "fmuladd", z, horner(b, z, c_coef), c(f.ty, 1.0))
    q = b.and_(b.fptosi(k, I64), c(I64, 3))
    return s, co, q


def _quadrant(b, q, vals):
    out = vals[3]
    for i in (2, 1, 0):
        out = b.select(b.icmp_signed("==", q, c(I64, i)), vals[i], out)
    return out


def sin(b, x):
    s, co, q = _sincos(b, x)
    return _quadrant(b, q, [s, co, b.fneg(s), b.fneg(co)])


def cos(b, x):
    s, co, q = _sincos(b, x)
    return _quadrant(b, q, [co, b.fneg(s), b.fneg(co), s])


# ---------------------------------------------------------------- erf

ERFC_FIT = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398,
            1.48851587, -0.82215223, 0.17087277)  # Numerical Recipes erfcc, |error| < 1.2e-7


ERF_EXP_FLOOR = {False: -80.0, True: -700.0}  # exp(floor) stays normal (one power of two scales it) and is
# far below half an ulp of 1, so erf = 1 - t*exp(poly) rounds to exactly 1 wherever the clamp acts
ERF_EXP_TERMS = {False: 6, True: EXPM1_TERMS[True]}  # float32: truncation (ln2/2)^8/8! = 5e-9 relative
# 1.5 * 2^mant + bias: adding it rounds x/ln2 to an integer n and leaves n + bias in the low mantissa bits
ROUND_SHIFTER = {False: 1.5 * 2.0 ** 23 + 127, True: 1.5 * 2.0 ** 52 + 1023}


def _exp_nonpos(b, x, f):
    """exp(x) for x <= ~0 as erf needs it: no NaN select, no overflow clamp, one power of two.

    `select(x > floor, x, floor)` is a single vmaxps and turns NaN into the floor, so the integer
    part stays defined; erf's NaN comes back through t instead. n = rint(x/ln2) by the shifter:
    k = x/ln2 + ROUND_SHIFTER rounds to an integer in the add, k - ROUND_SHIFTER is n as a float,
    and k's bits shifted up by `mant` are 2^n (n + bias >= 1 above the floor): no rint, no fptosi.
    Result: 2^n * expm1(r) + 2^n in one fma."""
    floor = c(f.ty, ERF_EXP_FLOOR[f.double])
    xc = b.select(b.fcmp_ordered(">", x, floor), x, floor)
    shifter = c(f.ty, ROUND_SHIFTER[f.double])
    k = call(b, "fmuladd", xc, c(f.ty, 1 / math.log(2)), shifter)
    _, _, q = _reduce_ln2(b, xc, f, ERF_EXP_TERMS[f.double], n=b.fsub(k, shifter))
    scale = b.bitcast(b.shl(b.bitcast(k, f.ity), c(f.ity, f.mant)), f.ty)
    return call(b, "fmuladd", scale, q, scale)


def erf(b, x):
    """1 - t*exp(-z^2 + P(t)), t = 1/(1 + z/2), z = |x|, sign copied from x (Numerical Recipes erfcc).

    Written so the vectorized loop is straight-line fma work: -z^2 + c0 and t*P + that are fmas,
    1 - t*e is one fma, copysign is a bit select; NaN in gives t = NaN and so NaN out; +-inf gives
    t = 0, poly = -inf (clamped) and +-1."""
    f = fmt(x)
    z = call(b, "fabs", x)
    t = b.fdiv(c(f.ty, 1.0), call(b, "fmuladd", c(f.ty, 0.5), z, c(f.ty, 1.0)))
    base = call(b, "fmuladd", b.fneg(z), z, c(f.ty, ERFC_FIT[0]))
    poly = call(b, "fmuladd", t, horner(b, t, list(ERFC_FIT[1:])), base)
    r = call(b, "fmuladd", b.fneg(t), _exp_nonpos(b, poly, f), c(f.ty, 1.0))
    return call(b, "copysign", r, x)


# ---------------------------------------------------------------- atan

TAN_PI_12 = 2.0 - math.sqrt(3.0)
ATAN_TERMS = {False: 6, True: 14}  # Taylor terms of atan(t)/t in t^2 <= tan(pi/12)^2 = 0.0718


def atan(b, x):
    """atan: |x| > 1 by pi/2 - atan(1/|x|), then t > tan(pi/12) by pi/6 + atan((t*sqrt3 - 1) / (t + sqrt3)),
    then the Taylor series; the sign is x's (so atan(-0) = -0, atan(+-inf) = +-pi/2, NaN stays NaN)."""
    f = fmt(x)
    one, s3 = c(f.ty, 1.0), c(f.ty, math.sqrt(3.0))
    a = call(b, "fabs", x)
    big = b.fcmp_ordered(">", a, one)
    t = b.select(big, b.fdiv(one, a), a)
    mid = b.fcmp_ordered(">", t, c(f.ty, TAN_PI_12))
    t = b.select(mid, b.fdiv(call(b, "fmuladd", t, s3, c(f.ty, -1.0)), b.fadd(t, s3)), t)
    p = horner(b, b.fmul(t, t), [(-1) ** k / (2 * k + 1) for k in range(ATAN_TERMS[f.double])])
    r = b.fmul(t, p)
    r = b.select(mid, b.fadd(r, c(f.ty, math.pi / 6)), r)
    r = b.select(big, b.fsub(c(f.ty, math.pi / 2), r), r)
    return call(b, "copysign", r, x)
