"""Module 11's figure: what folding does to a real training step (forward, cross-entropy, backward, Adam): the
graph's nodes before and after `fold` and `dce` (the pass records of `tt.explain`), and the kernels of the step
compiled with `fold` on and off. Most of a step is data and survives; what folds is the constants the frontend
builds (the mean's 1/n, one-hot targets' aranges, Adam's scalars) and the identities its gradients leave (x*1,
reshapes of reshapes)."""
from __future__ import annotations

import tinytorch as tt

from ...tools.models import batch, build
from ...tools.step_graph import training_step

OPTIMIZER, BATCH = "adam", 64


def _counts(name: str) -> tuple:
    """(nodes before fold, after fold, after dce, kernels, kernels with fold off) of one step of model `name`."""
    model, opt = build(name, OPTIMIZER)
    x, y = batch(name, BATCH)
    step = training_step(model, opt, x, y)
    prog = tt.plan(*step)
    with tt.disable_passes("fold"):
        unfolded = tt.plan(*step)
    records = {r.name: r for r in prog.passes}
    tt.realize(*step)
    return (records["fold"].before, records["fold"].after, records["dce"].after, len(prog.kernels),
            len(unfolded.kernels))


def figure():
    print(f"one training step ({OPTIMIZER}, batch {BATCH}) of each model of `tinytorch explain`")
    print(f"{'model':8} {'nodes':>6} {'after fold':>11} {'after dce':>10} {'kernels':>8} {'kernels, fold off':>18}")
    for name in ("mlp", "lenet5"):
        before, folded, kept, kernels, unfolded = _counts(name)
        print(f"{name:8} {before:6d} {folded:11d} {kept:10d} {kernels:8d} {unfolded:18d}")
