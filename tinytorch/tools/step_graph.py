"""One training step as a lazy graph, and the few lines that say what the compiler made of it.

`training_step` builds forward, loss, backward and the optimizer's update (`Optimizer.updates`) without running
anything, so `tinytorch.plan`, `explain` and `viz.draw` of its tensors show the very Program `optimizer.step()`
would run. The parameters are pending writes until the step is realized (`tinytorch.realize(*step)`), which the
callers do once they have looked.
"""
from __future__ import annotations

from ..nn import functional as F


def backward(model, optimizer, x, y, loss_fn=F.cross_entropy):
    """The loss on the batch (x, y) with the gradients of a fresh `backward()` in `.grad`: a step before its
    update (`optimizer.step()` completes it)."""
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    return loss


def training_step(model, optimizer, x, y, loss_fn=F.cross_entropy) -> list:
    """[loss, *the optimizer's assigns] of one step on the batch (x, y), built and not run."""
    return [backward(model, optimizer, x, y, loss_fn), *optimizer.updates()]


def summary(prog) -> list:
    """Lines: each pass's counts before -> after, then the kernels and the memory plan of Program `prog`."""
    mp = prog.memory_plan
    fused = sum(1 for k in prog.kernels if len(k.ops) > 1)
    return [record.row() for record in prog.passes] + [
        f"{len(prog.kernels)} kernels ({fused} fused from several ops); arena peak {mp.peak_bytes:,} B against "
        f"{mp.no_reuse_bytes:,} B without reuse (liveness lower bound {mp.lower_bound_bytes:,} B)"]
