"""Fold's rewrite rules: one entry each, tried in order on every node the pass visits; the first match wins.

Every rule is exact for every value, NaN, inf and the sign of zero included. The choices that keeps:
- x+(-0.0) is x, but for floats x+(+0.0) is not (-0.0 + 0.0 is +0.0, and 1/x sees the difference);
  x-(+0.0) is x. For integers and bools 0 is just 0.
- x*0 is 0 only for integers and bools: for floats NaN*0 and inf*0 are NaN.
- exp(log(x)) is not x (not for x <= 0): there is no such rule.

To add a rule: one `Rule(pattern, rewrite, why, example)` below (patterns.py says how patterns read). Its
example, a node built from a float32 leaf `f` and an int64 leaf `i` (values include NaN, inf and -0.0),
is what tests/test_fold_rules.py checks the rule fires on and leaves the value of, bit for bit.
"""
from __future__ import annotations

import math

from ..ops import GROUPS, build, const, like
from .graph import remake
from .patterns import Const, P, Rule, Var

X, C = Var("x"), Var("c")
ONE = Const("one", lambda v, dtype: v == 1)
ZERO = Const("zero", lambda v, dtype: v == 0)
ADDS_NOTHING = Const("zero", lambda v, dtype: v == 0 and (dtype.kind != "f" or math.copysign(1.0, v) < 0))
TAKES_NOTHING = Const("zero", lambda v, dtype: v == 0 and (dtype.kind != "f" or math.copysign(1.0, v) > 0))
ANY_CONST = Const("c")


def _integral(n) -> bool:
    return n.dtype.kind in "iub"


def _same_shape(n) -> bool:
    return n.shape == n.srcs[0].shape


def _merged(n, bound):
    """reshape(reshape(x)) is one reshape of x; expand(expand(x)) one expand."""
    return remake(n.op, (bound["x"],), n.arg)


def _composed(n, bound):
    inner = n.srcs[0].arg
    return remake("permute", (bound["x"],), tuple(inner[i] for i in n.arg))


def _const_of_shape(n, bound):
    value, _, dtype = bound["c"].arg
    return remake("const", (), (value, n.shape, dtype))


RULES = (
    Rule(P("mul", X, ONE), X, "x*1 is x", lambda f, i: build("mul", f, like(f, 1))),
    Rule(P("mul", X, ZERO, where=_integral), ZERO, "x*0 is 0 for integers and bools (for floats NaN*0 is NaN)",
         lambda f, i: build("mul", i, like(i, 0))),
    Rule(P("div", X, ONE), X, "x/1 is x", lambda f, i: build("div", f, like(f, 1))),
    Rule(P("add", X, ADDS_NOTHING), X, "x+(-0.0) is x (not x+(+0.0): -0.0 + 0.0 is +0.0); x+0 for integers",
         lambda f, i: build("add", like(f, -0.0), f)),
    Rule(P("sub", X, TAKES_NOTHING), X, "x-(+0.0) is x; x-0 for integers",
         lambda f, i: build("sub", f, like(f, 0.0))),
    Rule(P("neg", P("neg", X)), X, "-(-x) is x", lambda f, i: build("neg", build("neg", f))),
    Rule(P("detach", X), X, "detach only stops gradients", lambda f, i: build("detach", f)),
    Rule(P("where", C, X, X), X, "where(c, x, x) is x", lambda f, i: build("where", build("cmplt", i, i), f, f)),
    Rule(P("reshape", X, where=_same_shape), X, "a reshape to the same shape is a no-op",
         lambda f, i: build("reshape", f, arg=f.shape)),
    Rule(P("expand", X, where=_same_shape), X, "an expand to the same shape is a no-op",
         lambda f, i: build("expand", f, arg=f.shape)),
    Rule(P("cast", X, where=lambda n: n.dtype == n.srcs[0].dtype), X, "a cast to the same dtype is a no-op",
         lambda f, i: build("cast", f, arg=f.dtype)),
    Rule(P("permute", X, where=lambda n: tuple(n.arg) == tuple(range(n.ndim))), X, "the identity permute",
         lambda f, i: build("permute", f, arg=(0, 1))),
    Rule(P("slice", X, where=lambda n: all(a == (0, d, 1) for a, d in zip(n.arg, n.srcs[0].shape))), X,
         "a slice of everything", lambda f, i: build("slice", f, arg=((0, 2, 1), (0, 3, 1)))),
    Rule(P("pad", X, where=lambda n: all(p == (0, 0) for p in n.arg[0])), X, "a pad by nothing",
         lambda f, i: build("pad", f, arg=(((0, 0), (0, 0)), 0.0))),
    Rule(P(GROUPS.reduce, X, where=lambda n: all(n.srcs[0].shape[a] == 1 for a in n.arg)), X,
         "a reduction over size-1 axes is a no-op",
         lambda f, i: build("max", build("reshape", f, arg=(2, 1, 3)), arg=(1,))),
    Rule(P("reshape", P("reshape", X, computed=True)), _merged, "reshape(reshape(x)) is one reshape",
         lambda f, i: build("reshape", build("reshape", f, arg=(6,)), arg=(3, 2))),
    Rule(P("expand", P("expand", X, computed=True)), _merged, "expand(expand(x)) is one expand",
         lambda f, i: build("expand", build("expand", build("reshape", f, arg=(2, 1, 1, 3)), arg=(2, 4, 1, 3)),
                            arg=(2, 4, 5, 3))),
    Rule(P("permute", P("permute", X, computed=True)), _composed, "permute(permute(x)) is one permute",
         lambda f, i: build("permute", build("permute", f, arg=(1, 0)), arg=(1, 0))),
    Rule(P(GROUPS.views & GROUPS.movement, ANY_CONST), _const_of_shape,
         "a view of a const is a const of its shape (what catches a const too big to evaluate)",
         lambda f, i: build("expand", const(2.5, (1, 1), f.dtype), arg=(2048, 1024))),
)
