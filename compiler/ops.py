"""The op table: every primitive declared once.

Each `OpDef` holds an op's shape/dtype rule (run when the node is built, so a
mistake is reported at the user's line), its NumPy implementation, its
vector-Jacobian product (built from other primitives, so gradients are graph
nodes like any other) and a slot for its scalar LLVM lowering. `build(op,
*srcs, arg=...)` is how every node in the system is made.

Primitives take operands of equal shape and dtype; broadcasting and type
promotion are the frontend's job (an `expand` and a `cast` node), so every
rule here stays simple and every gradient rule gets broadcasting right by the
`expand` rule alone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .ir import Node, make

BOOL = np.dtype("bool")
INT64 = np.dtype("int64")
FLOAT_KINDS = "f"


@dataclass(frozen=True)
class OpDef:
    name: str
    kind: str  # leaf unary binary ternary reduce movement matmul index window cast assign
    rule: Callable  # (srcs, arg) -> (shape, dtype); raises ValueError / TypeError
    numpy: Callable  # (node, *arrays) -> ndarray
    vjp: Optional[Callable] = None  # (node, grad) -> tuple of Node | None, one per src
    llvm: Optional[Callable] = None  # scalar lowering for elementwise ops (native backend)
    unique: bool = False  # never hash-consed (identity or side effect)


OPS: dict[str, OpDef] = {}
ELEMENTWISE = ("unary", "binary", "ternary", "cast")


def _declare(name, kind, rule, numpy, vjp=None, unique=False):
    OPS[name] = OpDef(name, kind, rule, numpy, vjp, None, unique)


class Hooks:
    """Set by compiler.eager: called with each new node while eager mode is on."""
    eager = None


def build(op: str, *srcs: Node, arg=None) -> Node:
    d = OPS.get(op)
    if d is None:
        raise ValueError(f"unknown op {op!r}; known ops: {', '.join(sorted(OPS))}")
    shape, dtype = d.rule(srcs, arg)
    n = make(op, srcs, shape, dtype, arg, unique=d.unique)
    if Hooks.eager is not None:
        Hooks.eager(n)
    return n


def _shapes(srcs) -> str:
    return " and ".join(str(tuple(s.shape)) for s in srcs)


def is_float(dtype) -> bool:
    return dtype.kind == "f"


# ---------------------------------------------------------------- small builders used by the VJPs

def const(value, shape, dtype) -> Node:
    dtype = np.dtype(dtype)
    return build("const", arg=(_py(value, dtype), tuple(shape), dtype))


def _py(value, dtype):
    return bool(value) if dtype.kind == "b" else int(value) if dtype.kind in "iu" else float(value)


def like(n: Node, value) -> Node:
    return const(value, n.shape, n.dtype)


def add(a, b): return build("add", a, b)
def mul(a, b): return build("mul", a, b)
def neg(a): return build("neg", a)
def div(a, b): return build("div", a, b)


def sum_to(g: Node, shape: tuple) -> Node:
    """Reduce a gradient of an expanded operand back to the operand's shape (same rank, size-1 axes)."""
    axes = tuple(i for i, (gs, s) in enumerate(zip(g.shape, shape)) if gs != s)
    return build("sum", g, arg=axes) if axes else g


# ---------------------------------------------------------------- leaves

def _leaf_rule(srcs, arg):
    raise TypeError("buffer leaves are made with compiler.leaf(), not build()")


def _const_rule(srcs, arg):
    value, shape, dtype = arg
    return shape, dtype


def _arange_rule(srcs, arg):
    start, step, n, dtype = arg
    return (n,), dtype


def _rand_rule(srcs, arg):
    (seed,) = srcs
    shape, dtype = arg
    if seed.shape != () or seed.dtype != INT64:
        raise TypeError(f"rand: the seed must be an int64 scalar, got {seed.dtype}{list(seed.shape)}")
    return shape, dtype


def _rand_np(n, seed):
    return np.random.default_rng(int(seed)).random(n.shape, dtype=np.float64).astype(n.dtype)


_declare("buffer", "leaf", _leaf_rule, lambda n: n.arg.array, unique=True)
_declare("const", "leaf", _const_rule, lambda n: np.broadcast_to(np.array(n.arg[0], n.dtype), n.shape))
class ConstArray:
    """A folded constant (the constant-folding pass's result): hashable by value, so it is part of the
    structural key; shown by its shape and a digest."""
    __slots__ = ("array", "_key")

    def __init__(self, array):
        self.array = np.ascontiguousarray(array)
        self.array.setflags(write=False)
        self._key = (self.array.dtype.str, self.array.shape, self.array.tobytes())

    def __eq__(self, other):
        return isinstance(other, ConstArray) and self._key == other._key

    def __hash__(self):
        return hash(self._key)

    def __repr__(self):
        return f"array<{hash(self._key) & 0xffff:04x}>"


_declare("constarr", "leaf", lambda srcs, arg: (arg.array.shape, arg.array.dtype), lambda n: n.arg.array)
_declare("arange", "leaf", _arange_rule,
         lambda n: (n.arg[0] + n.arg[1] * np.arange(n.shape[0], dtype=np.float64)).astype(n.dtype)
         if is_float(n.dtype) else np.arange(n.arg[0], n.arg[0] + n.arg[1] * n.shape[0], n.arg[1], dtype=n.dtype))
_declare("rand", "leaf", _rand_rule, _rand_np, lambda n, g: (None,))


def leaf(buffer) -> Node:
    """A graph leaf for a realized Buffer. Each call makes a new node: a new version of the data."""
    return make("buffer", (), tuple(buffer.shape), buffer.dtype, buffer, unique=True)


# ---------------------------------------------------------------- elementwise

def _same(op, srcs, dtypes=None):
    s0 = srcs[0]
    for s in srcs[1:]:
        if s.shape != s0.shape:
            raise ValueError(f"{op}: operands must have equal shapes after broadcasting, got {_shapes(srcs)}")
        if s.dtype != s0.dtype:
            raise TypeError(f"{op}: operands must have one dtype after promotion, got "
                            f"{' and '.join(s.dtype.name for s in srcs)}")
    if dtypes is not None and s0.dtype.kind not in dtypes:
        kinds = {"f": "floating point", "i": "integer", "b": "bool", "u": "unsigned"}
        want = " or ".join(kinds[k] for k in dtypes)
        raise TypeError(f"{op}: takes {want} tensors, got {s0.dtype.name}{list(s0.shape)}; cast with .float() first")
    return s0.shape, s0.dtype


def _unary(name, fn, vjp, dtypes="f"):
    _declare(name, "unary", lambda srcs, arg, _n=name, _d=dtypes: _same(_n, srcs, _d),
             lambda n, a, _f=fn: _f(a), vjp)


def _binary(name, fn, vjp, dtypes="fiub", out=None):
    def rule(srcs, arg, _n=name, _d=dtypes):
        shape, dtype = _same(_n, srcs, _d)
        return shape, (out or dtype)
    _declare(name, "binary", rule, lambda n, a, b, _f=fn: _f(a, b), vjp)


def _erf(x):
    """erf with |error| < 1.2e-7 everywhere (Numerical Recipes' erfc Chebyshev fit); NumPy has no erf."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    r = 1.0 - t * np.exp(poly)
    return np.copysign(r, x).astype(x.dtype, copy=False)


_unary("neg", np.negative, lambda n, g: (neg(g),), "fi")
_unary("exp", np.exp, lambda n, g: (mul(g, n),))
_unary("log", np.log, lambda n, g: (div(g, n.srcs[0]),))
_unary("sqrt", np.sqrt, lambda n, g: (div(mul(g, like(n, 0.5)), n),))
_unary("recip", np.reciprocal, lambda n, g: (neg(mul(g, mul(n, n))),))
_unary("sin", np.sin, lambda n, g: (mul(g, build("cos", n.srcs[0])),))
_unary("cos", np.cos, lambda n, g: (neg(mul(g, build("sin", n.srcs[0]))),))
_unary("tanh", np.tanh, lambda n, g: (mul(g, build("sub", like(n, 1.0), mul(n, n))),))
_unary("erf", _erf, lambda n, g: (mul(g, mul(like(n, 2.0 / math.sqrt(math.pi)),
                                               build("exp", neg(mul(n.srcs[0], n.srcs[0]))))),))
_unary("abs", np.abs, lambda n, g: (mul(g, build("sign", n.srcs[0])),), "fi")
_unary("sign", np.sign, lambda n, g: (like(g, 0.0),), "fi")
_unary("floor", np.floor, lambda n, g: (like(g, 0.0),))


def _max_vjp(n, g):
    a, b = n.srcs
    half = like(g, 0.5)
    win_a = build("cast", build("cmplt", b, a), arg=g.dtype)
    tie = mul(build("cast", build("cmpeq", a, b), arg=g.dtype), half)
    share_a = add(win_a, tie)
    return mul(g, share_a), mul(g, build("sub", like(g, 1.0), share_a))


def _pow_vjp(n, g):
    """As torch: d/da is 0 where b == 0 (even at a == 0), d/db is 0 where a == 0 and b >= 0."""
    a, b = n.srcs
    zero = like(g, 0.0)
    da = mul(b, build("pow", a, build("sub", b, like(b, 1.0))))
    ga = mul(g, build("where", build("cmpeq", b, zero), zero, da))
    b_nonneg = build("cmpeq", build("cmplt", b, zero), const(False, b.shape, BOOL))
    flat = build("mul", build("cmpeq", a, zero), b_nonneg)
    return ga, mul(g, build("where", flat, zero, mul(n, build("log", a))))


def _mod_vjp(n, g):
    a, b = n.srcs
    if not is_float(n.dtype):
        return None, None
    return g, neg(mul(g, build("floor", div(a, b))))


_binary("add", np.add, lambda n, g: (g, g))
_binary("sub", np.subtract, lambda n, g: (g, neg(g)), "fiu")
_binary("mul", np.multiply, lambda n, g: (mul(g, n.srcs[1]), mul(g, n.srcs[0])))
_binary("div", np.divide, lambda n, g: (div(g, n.srcs[1]), neg(mul(g, div(n, n.srcs[1])))), "f")
_binary("maximum", np.maximum, _max_vjp)
_binary("pow", np.power, _pow_vjp, "fi")
_binary("floordiv", np.floor_divide, None, "iu")
_binary("mod", np.remainder, _mod_vjp, "fiu")
_binary("cmplt", np.less, None, "fiub", out=BOOL)
_binary("cmpeq", np.equal, None, "fiub", out=BOOL)


def _where_rule(srcs, arg):
    c, a, b = srcs
    if c.dtype != BOOL:
        raise TypeError(f"where: the condition must be bool, got {c.dtype.name}")
    if not (c.shape == a.shape == b.shape):
        raise ValueError(f"where: operands must have equal shapes after broadcasting, got {_shapes(srcs)}")
    return _same("where", (a, b))


def _where_vjp(n, g):
    c = n.srcs[0]
    zero = like(g, 0.0)
    return None, build("where", c, g, zero), build("where", c, zero, g)


_declare("where", "ternary", _where_rule, lambda n, c, a, b: np.where(c, a, b), _where_vjp)


def _cast_rule(srcs, arg):
    return srcs[0].shape, np.dtype(arg)


def _cast_vjp(n, g):
    src = n.srcs[0]
    return (build("cast", g, arg=src.dtype) if is_float(src.dtype) and is_float(g.dtype) else None,)


_declare("cast", "cast", _cast_rule, lambda n, a: a.astype(n.dtype), _cast_vjp)
_declare("detach", "movement", lambda srcs, arg: (srcs[0].shape, srcs[0].dtype), lambda n, a: a,
         lambda n, g: (None,))


# ---------------------------------------------------------------- reductions (keepdims: reduced axes stay as 1)

def _reduce_rule(name):
    def rule(srcs, arg):
        (x,) = srcs
        if not isinstance(arg, tuple) or any(not isinstance(a, int) or not 0 <= a < x.ndim for a in arg) \
                or len(set(arg)) != len(arg) or list(arg) != sorted(arg):
            raise ValueError(f"{name}: axes must be sorted distinct ints in [0, {x.ndim}), got {arg}")
        return tuple(1 if i in arg else d for i, d in enumerate(x.shape)), x.dtype
    return rule


def _rmax_vjp(n, g):
    x = n.srcs[0]
    hit = build("cast", build("cmpeq", x, build("expand", n, arg=x.shape)), arg=g.dtype)
    count = build("sum", hit, arg=n.arg)
    share = div(build("expand", g, arg=x.shape), build("expand", count, arg=x.shape))
    return (mul(share, hit),)


_declare("sum", "reduce", _reduce_rule("sum"), lambda n, a: np.sum(a, axis=n.arg, keepdims=True, dtype=n.dtype),
         lambda n, g: (build("expand", g, arg=n.srcs[0].shape),))
_declare("max", "reduce", _reduce_rule("max"), lambda n, a: np.max(a, axis=n.arg, keepdims=True), _rmax_vjp)


# ---------------------------------------------------------------- movement (views where NumPy allows)

def _reshape_rule(srcs, arg):
    (x,) = srcs
    if math.prod(arg) != x.size or any(d < 0 for d in arg):
        raise ValueError(f"reshape: cannot view {x.shape} ({x.size} elements) as {arg}")
    return tuple(arg), x.dtype


def _permute_rule(srcs, arg):
    (x,) = srcs
    if sorted(arg) != list(range(x.ndim)):
        raise ValueError(f"permute: {arg} is not a permutation of the {x.ndim} dims of {x.shape}")
    return tuple(x.shape[i] for i in arg), x.dtype


def _expand_rule(srcs, arg):
    (x,) = srcs
    if len(arg) != x.ndim or any(s != d and s != 1 for s, d in zip(x.shape, arg)):
        raise ValueError(f"expand: cannot expand {x.shape} to {arg}; only size-1 dims grow and ranks must match")
    return tuple(arg), x.dtype


def _slice_rule(srcs, arg):
    (x,) = srcs
    if len(arg) != x.ndim:
        raise ValueError(f"slice: need one (start, stop, step) per dim of {x.shape}, got {arg}")
    out = []
    for (start, stop, step), d in zip(arg, x.shape):
        if step < 1 or not 0 <= start <= stop <= d:
            raise ValueError(f"slice: bad range {start}:{stop}:{step} for a dim of size {d} in {x.shape}")
        out.append(max(0, -(-(stop - start) // step)))
    return tuple(out), x.dtype


def _slice_vjp(n, g):
    x = n.srcs[0]
    for axis, ((start, stop, step), d) in enumerate(zip(n.arg, x.shape)):
        k = g.shape[axis]
        if step > 1 and k > 0:  # interleave step-1 zeros after each element: unsqueeze, pad, merge
            shape = g.shape
            g = build("reshape", g, arg=shape[:axis + 1] + (1,) + shape[axis + 1:])
            pads = tuple((0, step - 1) if i == axis + 1 else (0, 0) for i in range(g.ndim))
            g = build("pad", g, arg=(pads, 0.0))
            g = build("reshape", g, arg=shape[:axis] + (k * step,) + shape[axis + 1:])
        covered = g.shape[axis]
        hi = d - start - covered
        if hi < 0:  # the interleaving overshot the end: trim
            g = build("slice", g, arg=tuple((0, covered + hi, 1) if i == axis else (0, s, 1)
                                            for i, s in enumerate(g.shape)))
            hi = 0
        if start or hi:
            g = build("pad", g, arg=(tuple((start, hi) if i == axis else (0, 0) for i in range(g.ndim)), 0.0))
    return (g,)


def _pad_rule(srcs, arg):
    (x,) = srcs
    pads, value = arg
    if len(pads) != x.ndim or any(lo < 0 or hi < 0 for lo, hi in pads):
        raise ValueError(f"pad: need one non-negative (before, after) per dim of {x.shape}, got {pads}")
    return tuple(d + lo + hi for d, (lo, hi) in zip(x.shape, pads)), x.dtype


def _pad_vjp(n, g):
    pads = n.arg[0]
    return (build("slice", g, arg=tuple((lo, lo + d, 1) for (lo, hi), d in zip(pads, n.srcs[0].shape))),)


_declare("reshape", "movement", _reshape_rule, lambda n, a: np.reshape(a, n.arg),
         lambda n, g: (build("reshape", g, arg=n.srcs[0].shape),))
_declare("permute", "movement", _permute_rule, lambda n, a: np.transpose(a, n.arg),
         lambda n, g: (build("permute", g, arg=tuple(np.argsort(n.arg).tolist())),))
_declare("expand", "movement", _expand_rule, lambda n, a: np.broadcast_to(a, n.arg),
         lambda n, g: (sum_to(g, n.srcs[0].shape),))
_declare("slice", "movement", _slice_rule, lambda n, a: a[tuple(slice(*s) for s in n.arg)], _slice_vjp)
_declare("pad", "movement", _pad_rule, lambda n, a: np.pad(a, n.arg[0], constant_values=n.arg[1]), _pad_vjp)


# ---------------------------------------------------------------- matmul

def _matmul_rule(srcs, arg):
    a, b = srcs
    if a.ndim < 2 or b.ndim != a.ndim or a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: cannot multiply {a.shape} by {b.shape}; need (..., m, k) @ (..., k, n) "
                         f"with equal batch dims")
    if a.dtype != b.dtype or a.dtype.kind == "b":
        raise TypeError(f"matmul: operands must share a numeric dtype, got {a.dtype.name} and {b.dtype.name}")
    return a.shape[:-1] + (b.shape[-1],), a.dtype


def _swap_last(x):
    perm = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return build("permute", x, arg=perm)


_declare("matmul", "matmul", _matmul_rule, lambda n, a, b: np.matmul(a, b),
         lambda n, g: (build("matmul", g, _swap_last(n.srcs[1])), build("matmul", _swap_last(n.srcs[0]), g)))


# ---------------------------------------------------------------- gather / scatter-add along an axis

def _index_check(op, x, idx, axis):
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer tensor, got {idx.dtype.name}")
    if not 0 <= axis < x.ndim or idx.ndim != x.ndim or any(
            i != s for d, (i, s) in enumerate(zip(idx.shape, x.shape)) if d != axis):
        raise ValueError(f"{op}: indices {idx.shape} must match {x.shape} in every dim but axis {axis}")


def _gather_rule(srcs, axis):
    x, idx = srcs
    _index_check("gather", x, idx, axis)
    return idx.shape, x.dtype


def _scatter_rule(srcs, arg):
    idx, src = srcs
    axis, size = arg
    _index_check("scatter_add", src, idx, axis)
    if idx.shape != src.shape:
        raise ValueError(f"scatter_add: indices {idx.shape} and values {src.shape} must have one shape")
    return src.shape[:axis] + (size,) + src.shape[axis + 1:], src.dtype


def _check_range(idx, size, op):
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        raise IndexError(f"{op}: index {int(idx.min() if idx.min() < 0 else idx.max())} is out of range "
                         f"for a dim of size {size}")


def _gather_np(n, x, idx):
    _check_range(idx, x.shape[n.arg], "gather")
    return np.take_along_axis(x, idx, n.arg)


def _scatter_np(n, idx, src):
    axis, size = n.arg
    _check_range(idx, size, "scatter_add")
    out_shape = n.shape
    strides = [int(np.prod(out_shape[i + 1:], dtype=np.int64)) for i in range(len(out_shape))]
    flat = idx.astype(np.int64) * strides[axis]
    for d in range(len(out_shape)):
        if d != axis and out_shape[d] > 1:
            shape = [1] * len(out_shape)
            shape[d] = out_shape[d]
            flat = flat + np.arange(out_shape[d], dtype=np.int64).reshape(shape) * strides[d]
    flat = np.broadcast_to(flat, src.shape).ravel()
    if src.dtype.kind == "f":
        out = np.bincount(flat, weights=src.ravel().astype(np.float64), minlength=math.prod(out_shape))
    else:
        out = np.zeros(math.prod(out_shape), dtype=src.dtype)
        np.add.at(out, flat, src.ravel())
    return out.astype(n.dtype, copy=False).reshape(out_shape)


_declare("gather", "index", _gather_rule, _gather_np,
         lambda n, g: (build("scatter_add", n.srcs[1], g, arg=(n.arg, n.srcs[0].shape[n.arg])), None))
_declare("scatter_add", "index", _scatter_rule, _scatter_np,
         lambda n, g: (None, build("gather", g, n.srcs[0], arg=n.arg[0])))


# ---------------------------------------------------------------- sliding windows over the last two dims

def window_out(size, k, stride, dilation):
    return (size - dilation * (k - 1) - 1) // stride + 1


def _unfold_rule(srcs, arg):
    (x,) = srcs
    (kh, kw), (sh, sw), (dh, dw) = arg
    if x.ndim < 2:
        raise ValueError(f"unfold: needs at least 2 dims, got {x.shape}")
    H, W = x.shape[-2:]
    oh, ow = window_out(H, kh, sh, dh), window_out(W, kw, sw, dw)
    if oh < 1 or ow < 1:
        raise ValueError(f"unfold: a {kh}x{kw} window (dilation {dh},{dw}) does not fit in {H}x{W} of {x.shape}")
    return x.shape[:-2] + (kh, kw, oh, ow), x.dtype


def _unfold_np(n, x):
    (kh, kw), (sh, sw), (dh, dw) = n.arg
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x, n.shape, s[:-2] + (s[-2] * dh, s[-1] * dw, s[-2] * sh, s[-1] * sw), writeable=False)


def _fold_rule(srcs, arg):
    (x,) = srcs
    (kh, kw), (sh, sw), (dh, dw), (H, W) = arg
    if x.ndim < 4 or x.shape[-4:-2] != (kh, kw) or x.shape[-2:] != (window_out(H, kh, sh, dh),
                                                                     window_out(W, kw, sw, dw)):
        raise ValueError(f"fold: {x.shape} is not the unfold of a {H}x{W} input with a {kh}x{kw} window")
    return x.shape[:-4] + (H, W), x.dtype


def _fold_np(n, x):
    (kh, kw), (sh, sw), (dh, dw), (H, W) = n.arg
    oh, ow = x.shape[-2:]
    out = np.zeros(n.shape, n.dtype)
    for i in range(kh):
        for j in range(kw):
            out[..., i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw] += x[..., i, j, :, :]
    return out


_declare("unfold", "window", _unfold_rule, _unfold_np,
         lambda n, g: (build("fold", g, arg=n.arg + (n.srcs[0].shape[-2:],)),))
_declare("fold", "window", _fold_rule, _fold_np, lambda n, g: (build("unfold", g, arg=n.arg[:3]),))


# ---------------------------------------------------------------- matmul-free side effects

def _assign_rule(srcs, arg):
    target, value = srcs
    if target.op != "buffer":
        raise TypeError("assign: the target must be a realized buffer (a parameter or state tensor)")
    if target.shape != value.shape or target.dtype != value.dtype:
        raise ValueError(f"assign: value {value.dtype.name}{list(value.shape)} does not match target "
                         f"{target.dtype.name}{list(target.shape)}")
    return target.shape, target.dtype


def _assign_np(n, target, value):
    np.copyto(target, value)
    return target


_declare("assign", "assign", _assign_rule, _assign_np, lambda n, g: (None, None), unique=True)


def apply_chain(array, chain):
    """`array` seen through a chain of movement ops (their Infos), as NumPy views where NumPy can."""
    for info in chain:
        array = OPS[info.op].numpy(info, array)
    return array
