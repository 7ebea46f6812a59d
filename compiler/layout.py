"""The memory layout of a kernel's output: materialized views, and matmuls read transposed.

A view with no strided form (im2col's window matrix: a reshape of permuted
windows) is copied once into the arena. Its readers only need SOME layout from
which their chains are strided views, not necessarily the view's own row-major
order, and the copy is fastest when it reads long contiguous runs of its
source. So the copy may store the view's dims in another order (`perm`): the
buffer holds `permute(view, perm)`, and every reader's chain starts with the
inverse permute. For im2col this stores (C, kh, kw, N, oh, ow): the copy reads
rows of the image, not runs of kh*kw elements, and the window matrix is still
a (transposed) strided view of it.

Likewise a plain matmul whose every reader transposes it (a Linear layer's
weight gradient, x.T @ g seen as (out, in)) computes the transposed product
(g.T @ x) instead: its readers, the optimizer update and the copy the user's
`.grad` gets, then read contiguous memory.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from . import ir
from .kernel import View, chain_view
from .passes.fusion import base_of

MAX_DIMS = 6  # every order is tried: 720 at most
MIN_TRANSPOSED = 1 << 16  # elements: a smaller matmul output is cheap to read strided; BLAS keeps its own order
MIN_GAIN = 1.5  # a reordered copy must read runs at least this many times longer than the view's own order


def info_of(op: str, shape, dtype, arg=None) -> ir.Info:
    return tuple.__new__(ir.Info, (op, tuple(shape), np.dtype(dtype), arg))


def swap_last(ndim: int) -> tuple:
    return tuple(range(ndim - 2)) + (ndim - 1, ndim - 2)


def choose_layouts(groups, g, stops, outputs) -> dict:
    """{id(node): perm} for the kernel outputs (materialized views, matmuls) stored in another order."""
    readers = {s: [] for s in stops}
    readers.update({id(gr.root): [] for gr in groups if _plain_matmul(gr, outputs)})
    for gr in groups:
        if gr.kind == "copy":
            srcs = [gr.root]
        elif gr.kind == "contig":
            srcs = list(gr.root.srcs)
        else:
            srcs = [s for n in gr.nodes for s in n.srcs]
        for s in srcs:
            b, chain = base_of(s, g, stops)
            if id(b) in readers:
                readers[id(b)].append(tuple(ir.Info(c) for c in chain))
    out = {}
    for gr in groups:
        v = gr.root
        if _plain_matmul(gr, outputs):
            swap = swap_last(len(v.shape))
            if readers[id(v)] and all(c and c[0].op == "permute" and tuple(c[0].arg) == swap
                                      for c in readers[id(v)]):
                out[id(v)] = swap
            continue
        if gr.kind != "contig" or id(v) in outputs or not 1 < len(v.shape) <= MAX_DIMS:
            continue
        b, chain = base_of(v.srcs[0], g, stops)
        src = chain_view(b.shape, tuple(ir.Info(c) for c in chain) + (ir.Info(v),))
        if src is None:
            continue
        best, best_cost = None, _cost(src, tuple(range(len(v.shape)))) / MIN_GAIN
        for perm in itertools.permutations(range(len(v.shape))):
            cost = _cost(src, perm)
            if cost < best_cost and all(_viewable(v, perm, c) for c in readers[id(v)]):
                best, best_cost = perm, cost
        if best is not None:
            out[id(v)] = best
    return out


def stored(v, perm) -> ir.Info:
    """What the buffer of view `v` stored in order `perm` holds."""
    return info_of("copy", tuple(v.shape[d] for d in perm), v.dtype)


def to_stored(v, perm) -> ir.Info:
    """The permute the copy applies to `v`."""
    return info_of("permute", tuple(v.shape[d] for d in perm), v.dtype, tuple(perm))


def from_stored(v, perm) -> ir.Info:
    """The permute a reader applies to the buffer to see `v` again."""
    return info_of("permute", v.shape, v.dtype, tuple(int(d) for d in np.argsort(perm)))


def _plain_matmul(gr, outputs) -> bool:
    return gr.kind == "matmul" and len(gr.nodes) == 1 and gr.root.op == "matmul" and \
        id(gr.root) not in outputs and gr.root.size >= MIN_TRANSPOSED


def _viewable(v, perm, chain) -> bool:
    view = View.contiguous(tuple(v.shape[d] for d in perm)).apply(from_stored(v, perm))
    for info in chain:
        view = view.apply(info) if view is not None else None
    return view is not None


def _cost(src: View, perm) -> float:
    """Contiguous runs the copy reads, when it writes the view's dims in order `perm` (fewer is faster)."""
    run = 1
    for d in reversed(perm):
        if src.shape[d] != 1 and src.strides[d] != run:
            break
        run *= src.shape[d]
    return math.prod(src.shape) / run
