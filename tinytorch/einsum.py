"""einsum: Einstein summation, lowered to the ops we have.

Operands are contracted left to right, two at a time, as one batched `matmul` each: labels both operands
share and still need are batch dims, labels only they share are summed by the product, the rest are rows
or columns. Before that a label repeated within one operand takes its diagonal and a label nobody else
needs is summed away. `...` stands for the same broadcast dims in every operand, as in PyTorch.
"""
from __future__ import annotations

import math

from .dtypes import join
from .elementwise import as_tensor, broadcast_shapes
from .movement import matmul
from .shape_ops import diagonal
from .tensor_base import TensorBase

ELLIPSIS_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # stand-ins for the dims `...` covers (PyTorch's labels are a-zA-Z)


def _parse(equation: str, operands):
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: the equation {equation!r} names {len(terms)} operands, got {len(operands)}")
    n_ell = max((t.ndim - len(term.replace("...", "")) for term, t in zip(terms, operands) if "..." in term),
                default=0)
    ell = "".join(c for c in ELLIPSIS_LABELS if c not in eq)[:n_ell]
    out_terms = []
    for term, t in zip(terms, operands):
        if "..." in term:
            k = t.ndim - len(term.replace("...", ""))
            term = term.replace("...", ell[n_ell - k:])
        if len(term) != t.ndim or not term.isalpha():
            raise ValueError(f"einsum: the term {term!r} of {equation!r} does not fit an operand of shape {t.shape}")
        out_terms.append(term)
    if arrow:
        out = rhs.replace("...", ell)
    else:  # implicit output: the ellipsis dims, then the labels used once, sorted
        once = sorted(c for c in set("".join(out_terms)) if "".join(out_terms).count(c) == 1 and c not in ell)
        out = ell + "".join(once)
    for c in out:
        if c not in "".join(out_terms):
            raise ValueError(f"einsum: the output label {c!r} of {equation!r} appears in no operand")
    return out_terms, out


def _take_diagonals(t: TensorBase, term: str):
    while True:
        dup = next((c for c in term if term.count(c) > 1), None)
        if dup is None:
            return t, term
        i = term.index(dup)
        j = term.index(dup, i + 1)
        t = diagonal(t, 0, i, j)
        term = "".join(c for k, c in enumerate(term) if k not in (i, j)) + dup


def _sum_unneeded(t, term, keep):
    axes = tuple(k for k, c in enumerate(term) if c not in keep)
    if axes:
        t = t.sum(axes)
        term = "".join(c for c in term if c in keep)
    return t, term


def _contract(a, ta, b, tb, keep):
    """a (labels ta) times b (tb), summing the labels they share that `keep` does not hold."""
    batch = [c for c in ta if c in tb and c in keep]
    summed = [c for c in ta if c in tb and c not in keep]
    left = [c for c in ta if c not in tb]
    right = [c for c in tb if c not in ta]
    size = {}
    for t, term in ((a, ta), (b, tb)):
        for c, s in zip(term, t.shape):
            size[c] = s if size.get(c, 1) == 1 else size[c]
            if s not in (1, size[c]):
                raise ValueError(f"einsum: label {c!r} has sizes {s} and {size[c]}")
    pa = a.permute([ta.index(c) for c in batch + left + summed])
    pb = b.permute([tb.index(c) for c in batch + summed + right])
    bshape = broadcast_shapes(tuple(pa.shape[:len(batch)]), tuple(pb.shape[:len(batch)]), op="einsum")
    nl, ns, nr = (math.prod(size[c] for c in g) for g in (left, summed, right))
    pa = pa.expand(*bshape, *pa.shape[len(batch):]).reshape(bshape + (nl, ns))
    pb = pb.expand(*bshape, *pb.shape[len(batch):]).reshape(bshape + (ns, nr))
    out = matmul(pa, pb).reshape(bshape + tuple(size[c] for c in left + right))
    return out, "".join(batch + left + right)


def einsum(equation: str, *operands) -> TensorBase:
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [as_tensor(t) for t in operands]
    terms, out = _parse(equation, operands)
    pieces = []
    for k, (t, term) in enumerate(zip(operands, terms)):
        t, term = _take_diagonals(t, term)
        others = out + "".join(terms[:k] + terms[k + 1:])
        pieces.append(_sum_unneeded(t, term, others))
    acc, acc_term = pieces[0]
    for k in range(1, len(pieces)):
        t, term = pieces[k]
        keep = out + "".join(p[1] for p in pieces[k + 1:])
        if acc.dtype != t.dtype:
            dt = join(acc.dtype, t.dtype)
            acc, t = acc.to(dt), t.to(dt)
        acc, acc_term = _contract(acc, acc_term, t, term, keep)
    acc, acc_term = _sum_unneeded(acc, acc_term, out)
    return acc.permute([acc_term.index(c) for c in out]) if acc_term != out else acc
