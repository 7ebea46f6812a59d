"""Batched matrix multiply: (..., m, k) @ (..., k, n) with equal batch dims. The NumPy backend calls BLAS
(np.matmul with out=); the native backend calls BLAS too and fuses the elementwise epilogue. Both, and eager
mode here, go through runtime/gemm.py (products split across our threads, BLAS held to one thread)."""
from __future__ import annotations

import numpy as np

from ...runtime import gemm
from .table import build, declare


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


declare("matmul", "matmul", _matmul_rule, lambda n, a, b: gemm.matmul(a, b, np.empty(n.shape, n.dtype)),
        lambda n, g: (build("matmul", g, _swap_last(n.srcs[1])), build("matmul", _swap_last(n.srcs[0]), g)))
