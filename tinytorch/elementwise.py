"""Elementwise math: broadcasting, type promotion, arithmetic, comparisons and activations.

Primitives take equal shapes and one dtype, so this file does what PyTorch
does before a kernel runs: promote the dtypes (`dtypes.result_type`),
broadcast the shapes (an `expand` view, never a copy) and then build one node.
Activations are compositions of primitives, so their gradients come for free.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import compiler as C
from . import dtypes
from .tensor_base import TensorBase, from_data, op_result, wrap, wrap_result


def as_tensor(x, dtype=None) -> TensorBase:
    """A tensor for x: tensors pass through (cast if asked), scalars become graph constants."""
    if isinstance(x, TensorBase):
        return x if dtype is None else x.to(dtype)
    if isinstance(x, (numbers.Number, np.bool_, np.number)) and not isinstance(x, np.ndarray):
        d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.result_type(x)
        return wrap(C.const(x, (), d))
    return from_data(x, dtype)


def scalar_const(value, shape: tuple, dtype) -> "C.Node":
    """`C.const(value, shape, dtype)` for a Python or NumPy scalar. A training step makes the same few dozen
    every step: they are pinned (`ir.pinned`) under (type, value, sign of a zero, shape, dtype) while pending."""
    if value != value or C.ops.Hooks.eager is not None:  # nan != nan; eager mode keeps no graph
        return C.const(value, shape, dtype)
    key = ("scalar", type(value), value, math.copysign(1.0, value) if value == 0 else 1.0, shape, dtype)
    return C.ir.pinned(key, lambda: C.const(value, shape, dtype))


def broadcast_shapes(*shapes, op="broadcast") -> tuple:
    if not shapes:
        return ()
    out = tuple(shapes[0])
    for s in shapes[1:]:
        if s != out:
            out = _broadcast_two(out, tuple(s))
            if out is None:
                _broadcast_error(shapes, op)
    return out


def _broadcast_two(a: tuple, b: tuple):
    """The broadcast of two shapes, or None if they do not broadcast."""
    # BEGIN EXERCISE m01.broadcast_two
    # STUB: raise NotImplementedError("module 1: _broadcast_two(a, b) returns the broadcast of shapes a and b, or None")
    if len(a) != len(b):
        a, b = (1,) * (len(b) - len(a)) + a, (1,) * (len(a) - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return tuple(out)
    # END EXERCISE m01.broadcast_two


def _broadcast_error(shapes, op):
    ndim = max(len(s) for s in shapes)
    for i in range(-ndim, 0):
        sizes = {s[i] for s in shapes if len(s) >= -i} - {1}
        if len(sizes) > 1:
            desc = " and ".join(str(tuple(s)) for s in shapes)
            raise ValueError(f"{op}: shapes {desc} cannot broadcast: dim {i} has sizes {sorted(sizes)}; "
                             f"sizes must match or be 1")


def broadcast_to(t: TensorBase, shape: tuple) -> TensorBase:
    if t.shape == shape:
        return t
    if t.ndim < len(shape):  # leading 1s: a valid reshape, built without reshape()'s checks
        t = op_result("reshape", (t,), arg=(1,) * (len(shape) - t.ndim) + t.shape)
    return op_result("expand", (t,), arg=tuple(shape))


def _operands(op, xs, dtype=None):
    """Promote and broadcast mixed tensors and scalars to one dtype and shape."""
    dtype = dtype or dtypes.result_type(*xs)
    shape = broadcast_shapes(*[x.shape for x in xs if isinstance(x, TensorBase)], op=op)
    out = []
    for x in xs:
        if isinstance(x, TensorBase):
            out.append(broadcast_to(x.to(dtype), shape))
        else:
            out.append(wrap(C.const(x, shape, dtype)))
    return out


def _quick_result(a, b):
    """`dtypes.result_type(a, b)` for the common cases, else None: two tensors of one dtype, or a tensor with
    a Python int or float of no higher category (the tensor's dtype wins)."""
    if not isinstance(a, TensorBase):
        if not isinstance(b, TensorBase):
            return None
        a, b = b, a
    d = a._node.dtype
    if isinstance(b, TensorBase):
        return d if b._node.dtype is d or b._node.dtype == d else None
    tb = type(b)
    if tb is float:
        return d if d.kind == "f" else None
    if tb is int:
        return d if d.kind in "fiu" else None
    return None


def _binary(op, a, b, dtype=None, name=None, swap=False) -> TensorBase:
    """Primitive `op` on (a, b), or on (b, a) if `swap`; errors say `name` (the user's op) and a, b in order."""
    d = _quick_result(a, b)
    if d is not None and (dtype is None or dtype == d):
        x, y = a, b  # no promotion needed: broadcast, or make the scalar a constant of the tensor's shape
        if not isinstance(x, TensorBase):
            x, y, srcs = scalar_const(x, y._node.shape, d), y._node, (y,)
        elif not isinstance(y, TensorBase):
            x, y, srcs = x._node, scalar_const(y, x._node.shape, d), (x,)
        else:
            if x._node.shape != y._node.shape:
                x, y = _operands(name or op, (x, y), d)
            x, y, srcs = x._node, y._node, (x, y)
        return wrap_result(C.build(op, y, x) if swap else C.build(op, x, y), srcs)
    name = name or op
    if not isinstance(a, TensorBase) and not isinstance(b, TensorBase):
        raise TypeError(f"{name}: needs at least one tensor")
    for x in (a, b):
        if not isinstance(x, (TensorBase, numbers.Number, np.bool_, np.number)):
            x_t = as_tensor(x)
            return _binary(op, x_t if x is a else a, x_t if x is b else b, dtype, name, swap)
    x, y = _operands(name, (a, b), dtype)
    return op_result(op, (y, x) if swap else (x, y))


def _float_result(*xs):
    d = _quick_result(*xs) if len(xs) == 2 else None
    if d is None:
        d = dtypes.result_type(*xs)
    return d if d.kind == "f" else dtypes.DEFAULT_FLOAT


def _bool_not(t: TensorBase) -> TensorBase:
    return op_result("cmpeq", (t, wrap(scalar_const(False, t.shape, dtypes.bool))))


# ------------------------------------------------------------------ arithmetic

def add(a, b, alpha=1):
    return _binary("add", a, b if alpha == 1 else b * alpha)


def sub(a, b, alpha=1):
    if any(isinstance(x, TensorBase) and x.dtype.kind == "b" or isinstance(x, (bool, np.bool_)) for x in (a, b)):
        shapes = " and ".join(f"{x.dtype.name}{list(x.shape)}" if isinstance(x, TensorBase) else repr(x) for x in (a, b))
        raise TypeError(f"sub: subtracting with a bool tensor ({shapes}) is not supported, as in PyTorch; "
                        f"use logical_xor or ~ for masks, or cast with .long() first")
    return _binary("sub", a, b if alpha == 1 else b * alpha)


def mul(a, b):
    return _binary("mul", a, b)


def div(a, b, rounding_mode=None):
    if rounding_mode not in (None, "floor", "trunc"):
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        q = div(a, b)
        q = q.sign() * q.abs().floor()
        d = dtypes.result_type(a, b)
        return q if d.kind == "f" else q.to(d)
    return _binary("div", a, b, dtype=_float_result(a, b))


def _no_int_zero(op, d, b):
    if d.kind in "iub" and isinstance(b, numbers.Number) and b == 0:
        raise ZeroDivisionError(f"{op}: integer division by the scalar 0 (as in PyTorch); divide a float tensor "
                                f"to get inf")


def floor_divide(a, b):
    d = dtypes.result_type(a, b)
    if d.kind == "f":
        return floor(div(a, b))
    if d.kind == "b":
        raise TypeError("floor_divide: bool operands are not supported, as in PyTorch; cast with .long() first")
    _no_int_zero("floor_divide", d, b)
    return _binary("floordiv", a, b, dtype=d, name="floor_divide")


def remainder(a, b):
    if dtypes.result_type(a, b).kind == "b":
        raise TypeError("remainder: bool operands are not supported, as in PyTorch; cast with .long() first")
    _no_int_zero("remainder", dtypes.result_type(a, b), b)
    return _binary("mod", a, b, name="remainder")


def pow(a, b):
    d = dtypes.result_type(a, b)
    if d.kind == "b":
        if isinstance(a, TensorBase) and isinstance(b, numbers.Number) and b == 1:
            return a  # PyTorch's x ** 1 shortcut; any other bool power is refused
        raise TypeError("pow: bool ** bool is not supported, as in PyTorch; cast with .long() first")
    if d.kind in "iu" and isinstance(b, numbers.Number) and b < 0:
        raise ValueError(f"pow: integers to negative integer powers are not allowed (as in PyTorch): "
                         f"{a.dtype.name}{list(a.shape)} ** {b}; use a float tensor (x.float() ** {b})")
    if isinstance(b, numbers.Number) and not isinstance(a, numbers.Number):
        if b == 2:
            return mul(a, a) if d == a.dtype else mul(a.to(d), a.to(d))
        if b == 1:
            return a.to(d)
        if b == 0.5 and d.kind == "f":  # PyTorch's scalar shortcuts, whose edge cases we match: (-inf) ** 0.5 is
            return sqrt(a.to(d))       # NaN and (-0.0) ** 0.5 is -0.0 there, as sqrt's (a tensor exponent: C's pow)
        if b == -0.5 and d.kind == "f":
            return rsqrt(a.to(d))
        if b == -1 and d.kind == "f":
            return reciprocal(a.to(d))
    if d.kind in "iu" and isinstance(b, TensorBase):
        return _int_pow(a, b, d)
    return _binary("pow", a, b, dtype=d)


def _int_pow(a, b, d):
    """Integer powers with a tensor of exponents, as PyTorch: a negative exponent gives 1 for base 1, +-1 for
    base -1 and 0 otherwise (the primitive is only asked for |b|)."""
    a, b = _operands("pow", (a, b), d)
    neg_exp = lt(b, 0)
    mag = _binary("pow", a, where(neg_exp, neg(b) if d.kind == "i" else b, b), dtype=d)
    odd = ne(remainder(b, 2), 0)
    unit = where(eq(a, 1), 1, where(eq(a, -1), where(odd, -1, 1), 0)) if d.kind == "i" else where(eq(a, 1), 1, 0)
    return where(neg_exp, unit.to(d), mag)


def maximum(a, b):
    return _binary("maximum", a, b)


def minimum(a, b):
    if not isinstance(a, TensorBase) and not isinstance(b, TensorBase):
        raise TypeError("minimum: needs at least one tensor")
    broadcast_shapes(*[x.shape for x in (a, b) if isinstance(x, TensorBase)], op="minimum")
    d = dtypes.result_type(a, b)
    if d.kind == "b":
        return logical_and(as_tensor(a, d), as_tensor(b, d))
    return order_flip(maximum(order_flip(as_tensor(a, d)), order_flip(as_tensor(b, d))))


def order_flip(a):
    """An order-reversing map that is its own inverse: -a, or for unsigned integers (no negation) max - a,
    so min is built from max for every dtype."""
    if a.dtype.kind == "u":
        return _binary("sub", wrap(C.const(int(np.iinfo(a.dtype).max), a.shape, a.dtype)), a)
    return logical_not(a) if a.dtype.kind == "b" else neg(a)


def neg(a):
    if a.dtype.kind == "b":
        raise TypeError(f"neg: negation of a bool tensor ({list(a.shape)}) is not supported; use ~ (logical_not)")
    return op_result("neg", (a,))


# ------------------------------------------------------------------ comparisons and logic

def lt(a, b): return _binary("cmplt", a, b, name="lt")
def gt(a, b): return _binary("cmplt", a, b, name="gt", swap=True)
def eq(a, b): return _binary("cmpeq", a, b, name="eq")
def ne(a, b): return _bool_not(_binary("cmpeq", a, b, name="ne"))
def le(a, b): return _bool_not(_binary("cmplt", a, b, name="le", swap=True))
def ge(a, b): return _bool_not(_binary("cmplt", a, b, name="ge"))


def logical_not(a):
    return _bool_not(a if a.dtype.kind == "b" else ne(a, 0))


def logical_and(a, b):
    return op_result("mul", tuple(_operands("logical_and", (as_tensor(a).bool(), as_tensor(b).bool()), dtypes.bool)))


def logical_or(a, b):
    return op_result("maximum", tuple(_operands("logical_or", (as_tensor(a).bool(), as_tensor(b).bool()), dtypes.bool)))


def logical_xor(a, b):
    return ne(as_tensor(a).bool(), as_tensor(b).bool())


def _bitwise(op, a, b):
    d = dtypes.result_type(a, b)
    if d.kind == "b" and op in ("and", "or", "xor"):
        return {"and": logical_and, "or": logical_or, "xor": logical_xor}[op](a, b)
    if d.kind not in "iu" or (d.kind == "b" and op in ("shl", "shr")):
        desc = " and ".join(f"{x.dtype.name}{list(x.shape)}" if isinstance(x, TensorBase) else repr(x) for x in (a, b))
        raise TypeError(f"bitwise_{op}: takes integer or bool tensors, got {desc}, as in PyTorch; "
                        f"cast with .long() first")
    return _binary({"and": "bitand", "or": "bitor", "xor": "bitxor"}.get(op, op), a, b, dtype=d,
                   name=f"bitwise_{op}")


def bitwise_and(a, b): return _bitwise("and", a, b)
def bitwise_or(a, b): return _bitwise("or", a, b)
def bitwise_xor(a, b): return _bitwise("xor", a, b)
def bitwise_left_shift(a, b): return _bitwise("shl", a, b)
def bitwise_right_shift(a, b): return _bitwise("shr", a, b)


def bitwise_not(a):
    """~a: logical not of a bool tensor, every bit flipped in an integer one."""
    if a.dtype.kind == "b":
        return logical_not(a)
    if a.dtype.kind not in "iu":
        raise TypeError(f"bitwise_not: takes integer or bool tensors, got {a.dtype.name}{list(a.shape)}")
    ones = -1 if a.dtype.kind == "i" else int(np.iinfo(a.dtype).max)
    return op_result("bitxor", (a, wrap(C.const(ones, a.shape, a.dtype))))


def where(cond, a, b):
    """Elements of a where cond holds, else of b (broadcast together)."""
    cond = as_tensor(cond)
    if cond.dtype.kind != "b":
        cond = ne(cond, 0)
    d = _quick_result(a, b)
    if d is None:
        d = dtypes.result_type(a, b)
    shape = broadcast_shapes(cond.shape, *[x.shape for x in (a, b) if isinstance(x, TensorBase)], op="where")
    ta, tb = _operands("where", (as_tensor(a, d) if not isinstance(a, TensorBase) else a,
                                 as_tensor(b, d) if not isinstance(b, TensorBase) else b), d)
    return op_result("where", (broadcast_to(cond, shape), broadcast_to(ta, shape), broadcast_to(tb, shape)))


# ------------------------------------------------------------------ unary math

def _float_unary(op):
    def f(a):
        if a.dtype.kind != "f":
            a = a.to(dtypes.DEFAULT_FLOAT)
        return op_result(op, (a,))
    f.__name__ = op
    return f


exp, log, sqrt, sin, cos, tanh, erf, floor = (_float_unary(o) for o in
                                              ("exp", "log", "sqrt", "sin", "cos", "tanh", "erf", "floor"))
reciprocal = _float_unary("recip")
reciprocal.__name__ = "reciprocal"


def abs(a):
    return a if a.dtype.kind == "b" else op_result("abs", (a,))


def sign(a):
    """-1, 0 or 1 (-0.0 stays -0.0); of NaN 0, as PyTorch (NumPy's is NaN)."""
    if a.dtype.kind == "b":
        return a
    s = op_result("sign", (a,))
    return where(ne(a, a), 0, s) if a.dtype.kind == "f" else s


def ceil(a): return neg(floor(neg(a))) if a.dtype.kind == "f" else a
def round(a, decimals=0):  # noqa: A001
    """Round half to even, as PyTorch and NumPy; `decimals` scales by 10**decimals first, as PyTorch does."""
    if a.dtype.kind != "f":
        return a
    if decimals == 0:
        return op_result("rint", (a,))
    scale = 10.0 ** (decimals if decimals > 0 else -decimals)
    if decimals > 0:
        return op_result("rint", (a * scale,)) / scale
    return op_result("rint", (a / scale,)) * scale
def rsqrt(a): return reciprocal(sqrt(a))
def square(a): return mul(a, a)
def tan(a): return sin(a) / cos(a)


def sigmoid(a):
    """1 / (1 + exp(-a)) written with e = exp(-|a|) <= 1: 1 / (1 + e) for a >= 0, e / (1 + e) below. exp never
    overflows, so the gradient stays finite (0 at a = -1000, where exp(1000) * 0 gave NaN), as torch's.
    -|a| is a `where`, not abs, so the gradient at 0 is 1/4 (abs' is 0 there)."""
    a = a if a.dtype.kind == "f" else a.float()
    nonneg = ge(a, 0)
    e = exp(where(nonneg, neg(a), a))
    return where(nonneg, 1.0, e) / (e + 1)


def relu(a):
    """maximum(a, 0) whose gradient is 0 at exactly 0, as torch.relu's (maximum's "strict" tie rule; a plain
    maximum splits a tie in half). NaN stays NaN."""
    if a.dtype.kind == "b":
        return maximum(a, 0)  # promotes as before
    return op_result("maximum", (a, wrap(scalar_const(0, a.shape, a.dtype))), arg="strict")


def leaky_relu(a, negative_slope=0.01):
    return where(a > 0, a, a * negative_slope)


def gelu(a, approximate="none"):
    """GELU; PyTorch's default is the exact erf form, approximate='tanh' the GPT-2 one."""
    # BEGIN EXERCISE m04.gelu
    # STUB: return relu(a)  # a stand-in that trains (GELU is a smooth ReLU), but is not GELU
    if approximate == "tanh":
        return 0.5 * a * (1 + tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a * a * a)))
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return 0.5 * a * (1 + erf(a * (1 / math.sqrt(2))))
    # END EXERCISE m04.gelu


def silu(a):
    return a * sigmoid(a)


def softplus(a, beta=1, threshold=20):
    scaled = a * beta
    stable = maximum(scaled, 0) + log(exp(-abs(scaled)) + 1)  # exp never overflows, even in float16
    return where(scaled > threshold, a, stable * (1 / beta))


def elu(a, alpha=1.0):
    return where(a > 0, a, (exp(minimum(a, 0)) - 1) * alpha)


def clamp(a, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    out = a  # where, not maximum: the gradient is 1 at the bounds as in torch, and NaN passes through
    if min is not None:
        out = where(lt(out, min), min, out)
    if max is not None:
        out = where(gt(out, max), max, out)
    return out


clip = clamp


def lerp(a, b, weight):
    return a + (b - a) * weight


# ------------------------------------------------------------------ the methods of Tensor

class ElementwiseMixin:
    """Tensor's elementwise methods and operators. A method is the function of the same name above, bound to
    the tensor (`x.exp()` is `exp(x)`, `x.add(y, alpha=2)` is `add(x, y, alpha=2)`); a reflected operator puts
    the tensor second (`2 - x` is `sub(2, x)`)."""
    __slots__ = ()

    def __add__(self, other): return add(self, other)
    def __radd__(self, other): return add(other, self)
    def __sub__(self, other): return sub(self, other)
    def __rsub__(self, other): return sub(other, self)
    def __mul__(self, other): return mul(self, other)
    def __rmul__(self, other): return mul(other, self)
    def __truediv__(self, other): return div(self, other)
    def __rtruediv__(self, other): return div(other, self)
    def __floordiv__(self, other): return floor_divide(self, other)
    def __rfloordiv__(self, other): return floor_divide(other, self)
    def __mod__(self, other): return remainder(self, other)
    def __rmod__(self, other): return remainder(other, self)
    def __pow__(self, other): return pow(self, other)
    def __rpow__(self, other): return pow(other, self)
    def __pos__(self): return self
    __neg__ = neg
    __abs__ = abs

    def __lt__(self, other): return lt(self, other)
    def __gt__(self, other): return gt(self, other)
    def __le__(self, other): return le(self, other)
    def __ge__(self, other): return ge(self, other)
    def __eq__(self, other): return eq(self, other)
    def __ne__(self, other): return ne(self, other)
    __hash__ = object.__hash__  # == builds a node, so a tensor hashes by identity (it still keys dicts and sets)

    __invert__ = bitwise_not
    def __and__(self, other): return _bitwise("and", self, other)
    def __rand__(self, other): return _bitwise("and", other, self)
    def __or__(self, other): return _bitwise("or", self, other)
    def __ror__(self, other): return _bitwise("or", other, self)
    def __xor__(self, other): return _bitwise("xor", self, other)
    def __rxor__(self, other): return _bitwise("xor", other, self)
    def __lshift__(self, other): return _bitwise("shl", self, other)
    def __rlshift__(self, other): return _bitwise("shl", other, self)
    def __rshift__(self, other): return _bitwise("shr", self, other)
    def __rrshift__(self, other): return _bitwise("shr", other, self)
    bitwise_and = bitwise_and
    bitwise_or = bitwise_or
    bitwise_xor = bitwise_xor
    bitwise_not = bitwise_not
    bitwise_left_shift = bitwise_left_shift
    bitwise_right_shift = bitwise_right_shift

    add = add
    sub = sub
    mul = mul
    div = div
    floor_divide = floor_divide
    remainder = remainder
    pow = pow
    maximum = maximum
    minimum = minimum
    neg = negative = neg

    lt = less = lt
    gt = greater = gt
    eq = eq
    ne = ne
    le = le
    ge = ge
    logical_not = logical_not
    logical_and = logical_and
    logical_or = logical_or
    logical_xor = logical_xor

    def where(self, cond, other):
        """Elements of this tensor where `cond` holds, else of `other`: `where(cond, self, other)`."""
        return where(cond, self, other)

    exp = exp
    log = log
    sqrt = sqrt
    sin = sin
    cos = cos
    tanh = tanh
    erf = erf
    floor = floor
    ceil = ceil
    round = round
    reciprocal = reciprocal
    rsqrt = rsqrt
    square = square
    tan = tan
    abs = abs
    sign = sign

    sigmoid = sigmoid
    relu = relu
    gelu = gelu
    silu = silu
    softplus = softplus
    leaky_relu = leaky_relu
    elu = elu
    clamp = clip = clamp
    lerp = lerp
