"""Module 3's figure: what backward costs. It keeps the forward's activations alive and roughly doubles the
graph: nodes and time of an MLP's forward against forward + backward."""
from __future__ import annotations

import numpy as np

import tinytorch as tt

from ... import compiler as C
from .common import median_ms


def _mlp(x, ws):
    for w in ws[:-1]:
        x = (x @ w).relu()
    return (x @ ws[-1]).sum()


def figure():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((256, 512), dtype=np.float32)
    x = tt.tensor(data)
    ws = [tt.tensor(rng.standard_normal((512, 512), dtype=np.float32) / 23, requires_grad=True) for _ in range(4)]
    forward_nodes = len(C.ir.toposort([_mlp(x, ws)._node]))
    loss = _mlp(x, ws)
    grads = tt.autograd.grad(loss, ws)
    both_nodes = len(C.ir.toposort([g._node for g in grads]))
    fwd = median_ms(lambda: _mlp(tt.tensor(data), ws).numpy())
    bwd = median_ms(lambda: [g.numpy() for g in tt.autograd.grad(_mlp(tt.tensor(data), ws), ws)])
    print(f"4-layer MLP, batch 256, width 512: forward {forward_nodes} nodes {fwd:7.2f} ms; "
          f"forward + backward {both_nodes} nodes {bwd:7.2f} ms ({bwd / fwd:.1f}x)")
