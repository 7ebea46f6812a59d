"""A small pattern matcher over graph nodes: what fold's rewrite rules (rules.py) are written in.

A pattern is a tree. `P("mul", X, ONE)` matches a `mul` node whose sources match `X` and `ONE`, in
either order since `mul` is commutative (`OpDef.commutative`); `X = Var("x")` matches any node and binds
it as "x" (the same Var twice matches one node twice: `P("where", C, X, X)`), and `ONE = Const("one",
test)` matches a `const` leaf whose value passes `test(value, dtype)`. A `Rule` pairs a pattern with its
rewrite: a Var (the node it bound) or a function `(node, bound) -> node`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from ..ops import OPS


@dataclass(frozen=True)
class Var:
    """Matches any node passing `test(node)` (every node without one) and binds it as `name`."""
    name: str
    test: Optional[Callable] = None


def Const(name: str, test: Callable = lambda value, dtype: True) -> Var:
    """Matches a `const` leaf whose value passes `test(value, dtype)`."""
    return Var(name, lambda n: n.op == "const" and test(n.arg[0], n.dtype))


class P:
    """Matches a node whose op is `op` (a name or a set of names), whose sources match `srcs`, and for
    which `where(node)` holds. `computed`: the node must be computed in this graph, not an input (the
    sources of a realized value are not to be looked through)."""

    def __init__(self, op, *srcs, where: Optional[Callable] = None, computed: bool = False):
        self.ops = frozenset([op] if isinstance(op, str) else op)
        self.srcs, self.where, self.computed = srcs, where, computed


@dataclass(frozen=True)
class Rule:
    pattern: P
    rewrite: object  # a Var of the pattern, or (node, bound) -> the node that replaces it
    why: str  # why the rewrite is exact
    example: Callable  # (f, i) -> a node the rule fires on; f, i: float32 and int64 leaves of shape (2, 3)


def match(pattern, n, g, bound: dict) -> bool:
    """Whether `n` matches `pattern` in graph `g`; on success its bindings are added to `bound`."""
    if isinstance(pattern, Var):
        if pattern.name in bound:
            return bound[pattern.name] is n
        if pattern.test is not None and not pattern.test(n):
            return False
        bound[pattern.name] = n
        return True
    if n.op not in pattern.ops or len(n.srcs) != len(pattern.srcs) or (pattern.computed and g.is_input(n)):
        return False
    if pattern.where is not None and not pattern.where(n):
        return False
    for srcs in (n.srcs, n.srcs[::-1]) if OPS[n.op].commutative else (n.srcs,):
        trial = dict(bound)
        if all(match(p, s, g, trial) for p, s in zip(pattern.srcs, srcs)):
            bound.update(trial)
            return True
    return False


def by_op(rules) -> dict:
    """{op name: the rules whose pattern's root can match it, in table order}."""
    out = {}
    for rule in rules:
        for op in rule.pattern.ops:
            out.setdefault(op, []).append(rule)
    return {op: tuple(rs) for op, rs in out.items()}


def first_match(n, g, rules_by_op: dict):
    """(rule, replacement) of the first rule that matches `n`, or None."""
    for rule in rules_by_op.get(n.op, ()):
        bound = {}
        if match(rule.pattern, n, g, bound):
            rewrite = rule.rewrite
            return rule, (bound[rewrite.name] if isinstance(rewrite, Var) else rewrite(n, bound))
    return None
