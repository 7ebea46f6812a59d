"""Reverse-mode autodiff on the graph.

`backward` walks the graph from the output once, in reverse order, and asks
each node's op for its vector-Jacobian product. The VJPs are built from
primitives, so every gradient is a lazy node in the same graph: realizing the
optimizer step afterwards compiles forward, backward and update as one
Program.
"""
from __future__ import annotations

import contextlib

from . import compiler as C
from .tensor import GRAD_LEAVES, Tensor, _GradMode


@contextlib.contextmanager
def no_grad():
    """Ops built inside record no gradient path (as `torch.no_grad()`)."""
    before = _GradMode.enabled
    _GradMode.enabled = False
    try:
        yield
    finally:
        _GradMode.enabled = before


@contextlib.contextmanager
def enable_grad():
    before = _GradMode.enabled
    _GradMode.enabled = True
    try:
        yield
    finally:
        _GradMode.enabled = before


def is_grad_enabled() -> bool:
    return _GradMode.enabled


def grad_nodes(roots, root_grads, wanted, stop=frozenset()):
    """Gradients of `roots` (seeded with `root_grads`) with respect to the nodes in `wanted`.

    Returns {id(node): gradient node} for each wanted node the roots depend on. The walk does not enter
    `detach` nodes or nodes in `stop` (leaves that collect gradients).
    """
    order = C.ir.toposort(roots, stop=lambda n: n.op == "detach" or id(n) in stop)
    wanted = set(wanted)
    leads = set()  # nodes with a path to something wanted
    for n in order:
        if id(n) in wanted or (n.op != "detach" and id(n) not in stop and any(id(s) in leads for s in n.srcs)):
            leads.add(id(n))
    grads = {}
    for r, g in zip(roots, root_grads):
        grads[id(r)] = C.ops.add(grads[id(r)], g) if id(r) in grads else g
    for n in reversed(order):
        g = grads.get(id(n))
        if g is None or n.op == "detach" or id(n) in stop or not n.srcs:
            continue
        if not any(id(s) in leads for s in n.srcs):
            continue
        vjp = C.OPS[n.op].vjp
        if vjp is None:
            continue
        for s, gs in zip(n.srcs, vjp(n, g)):
            if gs is None or id(s) not in leads:
                continue
            grads[id(s)] = C.ops.add(grads[id(s)], gs) if id(s) in grads else gs
    return {k: grads[k] for k in wanted if k in grads}


def _seed(output: Tensor, gradient) -> "C.Node":
    if gradient is None:
        if output.numel() != 1:
            raise RuntimeError(f"backward: grad can be implicitly created only for scalar outputs, got shape "
                               f"{output.shape}; pass gradient= of that shape")
        return C.const(1.0, output.shape, output.dtype)
    g = gradient if isinstance(gradient, Tensor) else Tensor(gradient, dtype=output.dtype)
    if g.shape != output.shape:
        raise ValueError(f"backward: gradient shape {g.shape} does not match output shape {output.shape}")
    return g.to(output.dtype)._node


def backward(output: Tensor, gradient=None) -> None:
    """Accumulate d(output)/d(leaf) into `.grad` of every leaf that requires grad (as PyTorch does)."""
    if not output.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad; no leaf it depends on has "
                           "requires_grad=True (or it was built under no_grad/detach)")
    seed = _seed(output, gradient)
    order = C.ir.toposort([output._node], stop=lambda n: n.op == "detach" or n in GRAD_LEAVES)
    leaves = {}
    for n in order:
        ref = GRAD_LEAVES.get(n)
        t = ref() if ref is not None else None
        if t is not None:
            leaves[id(n)] = t
    got = grad_nodes([output._node], [seed], leaves.keys(), stop=frozenset(leaves))
    for k, g in got.items():
        t = leaves[k]
        gt = Tensor._wrap(g)
        t.grad = gt if t.grad is None else t.grad + gt


def grad(outputs, inputs, grad_outputs=None, allow_unused: bool = False):
    """Gradients of `outputs` with respect to `inputs`, returned as tensors; `.grad` is left alone."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    seeds = [_seed(o, g) for o, g in zip(outputs, grad_outputs)]
    got = grad_nodes([o._node for o in outputs], seeds, [id(i._node) for i in inputs])
    result = []
    for i in inputs:
        g = got.get(id(i._node))
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: an input of shape {i.shape} was not used to compute the outputs; "
                                   "pass allow_unused=True to get None for it")
            result.append(None)
        else:
            result.append(Tensor._wrap(g, requires_grad=False))
    return result
