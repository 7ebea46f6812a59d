"""Reverse-mode autodiff on the graph.

`backward` walks the graph from the output once, in reverse order, and asks
each node's op for its vector-Jacobian product. The VJPs are built from
primitives, so every gradient is a lazy node in the same graph: realizing the
optimizer step afterwards compiles forward, backward and update as one
Program.

`gradcheck` checks any function's gradients against central finite
differences; tests/test_gradcheck.py runs it over every differentiable op.
"""
from __future__ import annotations

import contextlib

import numpy as np

from . import compiler as C
from .live_tensors import GRAD_LEAVES
from .tensor_base import OVERWRITTEN, GradMode, TensorBase, from_data, wrap


@contextlib.contextmanager
def no_grad():
    """Ops built inside record no gradient path (as `torch.no_grad()`)."""
    before = GradMode.enabled
    GradMode.enabled = False
    try:
        yield
    finally:
        GradMode.enabled = before


@contextlib.contextmanager
def enable_grad():
    before = GradMode.enabled
    GradMode.enabled = True
    try:
        yield
    finally:
        GradMode.enabled = before


def is_grad_enabled() -> bool:
    return GradMode.enabled


def grad_nodes(roots, root_grads, wanted, stop=frozenset(), order=None):
    """Gradients of `roots` (seeded with `root_grads`) with respect to the nodes in `wanted`.

    Returns {id(node): gradient node} for each wanted node the roots depend on. The walk does not enter
    `detach` nodes or nodes in `stop` (leaves that collect gradients); `order` may pass that walk when the
    caller has made it already.
    """
    if order is None:
        order = C.ir.toposort(roots, stop=lambda n: n.op == "detach" or id(n) in stop)
    wanted = set(wanted)
    leads = set()  # nodes with a path to something wanted
    for n in order:
        k = id(n)
        if k in wanted:
            leads.add(k)
        elif n.op != "detach" and k not in stop:
            for s in n.srcs:
                if id(s) in leads:
                    leads.add(k)
                    break
    grads = {}
    for r, g in zip(roots, root_grads):
        grads[id(r)] = C.ops.add(grads[id(r)], g) if id(r) in grads else g
    ops = C.OPS
    overwritten = bool(OVERWRITTEN)  # building gradient nodes assigns nothing: asked once, not per node
    # BEGIN EXERCISE m03.vjp_walk
    for n in reversed(order):
        g = grads.get(id(n))
        if g is None or not n.srcs or n.op == "detach" or id(n) in stop:
            continue
        need = [id(s) in leads for s in n.srcs]
        if True not in need:
            continue
        vjp = ops[n.op].vjp
        if vjp is None:
            continue
        outs = _call_vjp(vjp, n, g, need)
        if overwritten:
            _check_not_overwritten(n, outs, order)
        for s, gs, needed in zip(n.srcs, outs, need):
            if gs is None or not needed:
                continue
            k = id(s)
            grads[k] = C.ops.add(grads[k], gs) if k in grads else gs
    # END EXERCISE m03.vjp_walk
    return {k: grads[k] for k in wanted if k in grads}


def _overwritten_message(who, leaf, op):
    return (f"{who}: a {leaf.dtype.name}{list(leaf.shape)} tensor that `{op}` saved for the gradient was "
            f"overwritten by assign() after the graph was built, so its gradient would be lost or use the new "
            f"values; call backward() before the assign (e.g. before optimizer.step()), or build the forward "
            f"pass again after it")


def _check_not_overwritten(n, outs, order):
    """Raise if the VJP of `n` reads a source whose Buffer `assign` overwrote after the graph was built (the
    gradient would silently use the new values), as PyTorch's version counter check does. Only a source the
    gradient nodes actually use counts (add's VJP reads none); the walk stops at the forward graph."""
    stale = [s for s in n.srcs if s.op == "buffer" and s in OVERWRITTEN]
    if not stale:
        return
    forward = {id(m) for m in order}
    used = {id(m) for m in C.ir.toposort([o for o in outs if o is not None], stop=lambda m: id(m) in forward)}
    for s in stale:
        if id(s) in used:
            raise RuntimeError(_overwritten_message("backward", s, n.op))


def _call_vjp(vjp, n, g, need):
    """A VJP builds every source's gradient; in eager mode compute only those that are needed (x @ W with
    x plain data must not pay for x's gradient, as in PyTorch). Lazily, unneeded nodes are simply never used."""
    hook = C.ops.Hooks.eager
    if hook is None or all(need):
        return vjp(n, g)
    C.ops.Hooks.eager = None
    try:
        out = vjp(n, g)
    finally:
        C.ops.Hooks.eager = hook
    for gs, wanted in zip(out, need):
        if wanted and gs is not None:
            for m in C.ir.toposort([gs], stop=C.is_computed):
                hook(m)
    return out


def _seed(output: TensorBase, gradient) -> "C.Node":
    if gradient is None:
        if output.numel() != 1:
            raise RuntimeError(f"backward: grad can be implicitly created only for scalar outputs, got shape "
                               f"{output.shape}; pass gradient= of that shape")
        return C.const(1.0, output.shape, output.dtype)
    g = gradient if isinstance(gradient, TensorBase) else from_data(gradient, output.dtype)
    if g.shape != output.shape:
        raise ValueError(f"backward: gradient shape {g.shape} does not match output shape {output.shape}")
    return g.to(output.dtype)._node


def _as_grad(g) -> TensorBase:
    """A gradient tensor that does not keep the graph behind it alive once it is computed (eager mode)."""
    return wrap(C.leaf(C.buffer_of(g)) if g.op != "buffer" and C.is_computed(g) else g)


def _with_graph(g) -> TensorBase:
    t = wrap(g)
    t._requires_grad = True
    return t


def _check_leaves_not_overwritten(order):
    """A leaf that collected gradients when the graph was built, then was overwritten by assign: its tensor
    now stands on a new leaf, so the gradient would silently be lost (`.grad` None). Raise instead."""
    for n in order:
        if n.op == "buffer" and OVERWRITTEN.get(n):
            user = next((m.op for m in order if any(s is n for s in m.srcs)), "the graph")
            raise RuntimeError(_overwritten_message("backward", n, user))


def backward(output: TensorBase, gradient=None) -> None:
    """Accumulate d(output)/d(leaf) into `.grad` of every leaf that requires grad (as PyTorch does)."""
    if not output.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad; no leaf it depends on has "
                           "requires_grad=True (or it was built under no_grad/detach)")
    seed = _seed(output, gradient)
    C.realizer.ROOTS.add(output._node)  # the forward a checkpointing compile recomputes from
    # one pass over the leaves, then set lookups per node; dict.copy is atomic, so another thread adding or
    # dropping a leaf meanwhile cannot break the iteration (a dead leaf's id(None) matches no node)
    leaf_ids = {id(r()) for r in GRAD_LEAVES.data.copy()}
    order = C.ir.toposort([output._node], stop=lambda n: id(n) in leaf_ids or n.op == "detach")
    leaves, dead = {}, False
    if OVERWRITTEN:
        _check_leaves_not_overwritten(order)
    for n in order:
        ref = GRAD_LEAVES.get(n) if id(n) in leaf_ids else None
        if ref is not None:
            t = ref()
            if t is not None:
                leaves[id(n)] = t
            else:
                dead = True
    # the engine's walk stops at the live leaves: this walk is that one unless a leaf's tensor has died
    got = grad_nodes([output._node], [seed], leaves.keys(), stop=frozenset(leaves), order=None if dead else order)
    for k, t in leaves.items():  # graph order, not the set order of ids: keeps the next Program's key stable
        g = got.get(k)
        if g is None:
            continue
        gt = _as_grad(g)
        t.grad = gt if t.grad is None else t.grad + gt


def grad(outputs, inputs, grad_outputs=None, allow_unused: bool = False, create_graph: bool = False):
    """Gradients of `outputs` with respect to `inputs`, returned as tensors; `.grad` is left alone.

    With create_graph=True the gradients require grad themselves (they are graph nodes like any other), so
    they can be differentiated again.
    """
    outputs = [outputs] if isinstance(outputs, TensorBase) else list(outputs)
    single = isinstance(inputs, TensorBase)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, TensorBase):
        grad_outputs = [grad_outputs]
    for k, o in enumerate(outputs):
        if not o.requires_grad:
            raise RuntimeError(f"grad: output {k} of shape {o.shape} does not require grad (no input it depends "
                               f"on requires grad, or it was built under no_grad/detach)")
    for k, i in enumerate(inputs):
        if not i.requires_grad:
            raise RuntimeError(f"grad: input {k} of shape {i.shape} does not require grad")
    seeds = [_seed(o, g) for o, g in zip(outputs, grad_outputs)]
    if OVERWRITTEN:
        _check_leaves_not_overwritten(C.ir.toposort([o._node for o in outputs], stop=lambda n: n.op == "detach"))
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
            result.append(_with_graph(g) if create_graph else _as_grad(g))
    return result


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def numerical_grads(fn, inputs, cotangents, eps: float = 1e-6):
    """Central finite differences of sum(fn(*inputs)[k] * cotangents[k]) for each input that requires grad.

    Each element is perturbed by +-eps in turn and `fn` rebuilt on plain (no-grad) copies of the inputs;
    the sum is taken in float64. Returns one ndarray (the input's shape) or None per input.
    """
    def value(args):
        outs = _as_list(fn(*args))
        return sum(float(np.sum(np.asarray(o.numpy(), np.float64) * c)) for o, c in zip(outs, cotangents))

    plain = [from_data(x.numpy(), x.dtype) if isinstance(x, TensorBase) else x for x in inputs]
    result = []
    for i, x in enumerate(inputs):
        if not (isinstance(x, TensorBase) and x.requires_grad):
            result.append(None)
            continue
        base = x.numpy().astype(np.float64)
        num = np.zeros(base.shape, np.float64)
        for k in range(base.size):
            hi, lo = base.copy(), base.copy()
            hi.flat[k] += eps
            lo.flat[k] -= eps
            args = list(plain)
            args[i] = from_data(hi.astype(x.dtype), x.dtype)
            f_hi = value(args)
            args[i] = from_data(lo.astype(x.dtype), x.dtype)
            num.flat[k] = (f_hi - value(args)) / (2 * eps)
        result.append(num)
    return result


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
              raise_exception: bool = True) -> bool:
    """Check the gradients of `fn` at `inputs` against central finite differences (as torch.autograd.gradcheck).

    The inputs that require grad are checked; use float64 for them, or differences drown in rounding. The
    outputs are contracted with fixed random cotangents, so one backward pass checks a whole vector-Jacobian
    product. Returns True, or raises (returns False with raise_exception=False) naming the input, the element
    and both values at the worst mismatch.
    """
    inputs = list(inputs)
    outs = _as_list(fn(*inputs))
    rng = np.random.default_rng(seed)
    cots = [rng.standard_normal(o.shape) for o in outs]
    loss = None
    for o, c in zip(outs, cots):
        term = (o.to("float64") * from_data(c, "float64")).sum()
        loss = term if loss is None else loss + term
    checked = [x for x in inputs if isinstance(x, TensorBase) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    got = iter(grad(loss, checked, allow_unused=True))
    for i, (x, num) in enumerate(zip(inputs, numerical_grads(fn, inputs, cots, eps))):
        if num is None:
            continue
        g = next(got)
        ana = np.zeros(x.shape) if g is None else g.numpy().astype(np.float64)
        if g is not None and (g.dtype != x.dtype or g.shape != x.shape):
            msg = (f"gradcheck: input {i}: gradient is {g.dtype.name}{list(g.shape)}, "
                   f"input {x.dtype.name}{list(x.shape)}")
        else:
            diff = np.abs(ana - num)
            bad = ~(diff <= atol + rtol * np.abs(num)) & ~(np.isnan(ana) & np.isnan(num))  # a NaN fails
            if not bad.any():
                continue
            worst = np.where(bad, np.nan_to_num(diff, nan=np.inf), -1.0)
            k = np.unravel_index(int(np.argmax(worst)), ana.shape) if ana.ndim else ()
            msg = (f"gradcheck: input {i} {list(x.shape)}: {int(bad.sum())} of {bad.size} elements differ; "
                   f"at {tuple(int(j) for j in k)} analytic {ana[k]!r}, numerical {num[k]!r}")
        if raise_exception:
            raise AssertionError(msg)
        return False
    return True
