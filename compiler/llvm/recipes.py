"""Spec builders for common composites (GELU, softmax, layernorm) over row-major 2-d data.

They show how a fusion pass's output maps onto specs, and the tests and benchmarks/bench_llvm_kernels.py
build their kernels from them. Each returns the specs; the caller compiles and runs them in order.
"""
from __future__ import annotations

import math

import numpy as np

from .spec import ElementwiseKernel, ReduceKernel, ScalarOp, View


class Body:
    """A tiny builder for ScalarOp bodies: each method appends an op and returns its index."""
    def __init__(self, dtype):
        self.ops: list[ScalarOp] = []
        self.dtype = np.dtype(dtype)

    def op(self, name, *srcs, dtype=None, arg=None) -> int:
        self.ops.append(ScalarOp(name, srcs, np.dtype(dtype or self.dtype), arg))
        return len(self.ops) - 1

    def load(self, i, dtype=None):
        return self.op("load", dtype=dtype, arg=i)

    def const(self, v, dtype=None):
        return self.op("const", dtype=dtype, arg=v)

    def __getattr__(self, name):  # b.add(x, y), b.tanh(x), ...
        return lambda *srcs, **kw: self.op(name, *srcs, **kw)


def gelu_tanh(shape, dtype=np.float32) -> ElementwiseKernel:
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    b = Body(dtype)
    x = b.load(0)
    inner = b.mul(b.const(math.sqrt(2 / math.pi)), b.add(x, b.mul(b.const(0.044715), b.mul(x, b.mul(x, x)))))
    out = b.mul(b.mul(b.const(0.5), x), b.add(b.const(1.0), b.tanh(inner)))
    return ElementwiseKernel("gelu_tanh", (dtype,), (View.contiguous(shape),), shape, b.ops, out, dtype)


def gelu_erf(shape, dtype=np.float32) -> ElementwiseKernel:
    """0.5 x (1 + erf(x / sqrt(2)))."""
    b = Body(dtype)
    x = b.load(0)
    out = b.mul(b.mul(b.const(0.5), x), b.add(b.const(1.0), b.erf(b.mul(x, b.const(1 / math.sqrt(2))))))
    return ElementwiseKernel("gelu_erf", (dtype,), (View.contiguous(shape),), shape, b.ops, out, dtype)


def _rows(shape):
    n, d = shape
    return View.contiguous(shape), View((n, d), (1, 0)), View.contiguous((n, 1))


def softmax(shape, dtype=np.float32):
    """Row softmax as three kernels: m = max(x); s = sum(exp(x - m)); y = exp(x - m) / s."""
    full, row_bcast, row = _rows(shape)
    b = Body(dtype)
    b.load(0)
    kmax = ReduceKernel("softmax_max", (dtype,), (full,), shape, (1,), "max", b.ops, (), dtype)
    b = Body(dtype)
    b.exp(b.sub(b.load(0), b.load(1)))
    e = Body(dtype)
    e.recip(e.acc())
    ksum = ReduceKernel("softmax_sum", (dtype, dtype), (full, row_bcast), shape, (1,), "sum", b.ops, e.ops, dtype)
    b = Body(dtype)
    out = b.mul(b.exp(b.sub(b.load(0), b.load(1))), b.load(2))
    kout = ElementwiseKernel("softmax_out", (dtype,) * 3, (full, row_bcast, row_bcast), shape, b.ops, out, dtype)
    return kmax, ksum, kout


def layernorm(shape, eps=1e-5, dtype=np.float32):
    """Row layernorm with weight and bias as three kernels: mean, rstd = 1/sqrt(var + eps), the affine map."""
    full, row_bcast, row = _rows(shape)
    d = shape[1]
    b = Body(dtype)
    b.load(0)
    e = Body(dtype)
    e.mul(e.acc(), e.const(1.0 / d))
    kmean = ReduceKernel("layernorm_mean", (dtype,), (full,), shape, (1,), "sum", b.ops, e.ops, dtype)
    b = Body(dtype)
    c = b.sub(b.load(0), b.load(1))
    b.mul(c, c)
    e = Body(dtype)
    e.recip(e.sqrt(e.add(e.mul(e.acc(), e.const(1.0 / d)), e.const(eps))))
    kvar = ReduceKernel("layernorm_rstd", (dtype, dtype), (full, row_bcast), shape, (1,), "sum", b.ops, e.ops, dtype)
    col_bcast = View(shape, (0, 1))
    b = Body(dtype)
    out = b.add(b.mul(b.mul(b.sub(b.load(0), b.load(1)), b.load(2)), b.load(3)), b.load(4))
    kout = ElementwiseKernel("layernorm_out", (dtype,) * 5, (full, row_bcast, row_bcast, col_bcast, col_bcast),
                             shape, b.ops, out, dtype)
    return kmean, kvar, kout
