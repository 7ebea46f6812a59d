"""The models and optimizers the tools are run on, by name, each with the input shape and classes it takes."""
from __future__ import annotations

import numpy as np

import tinytorch as tt
from tinytorch import nn, optim


def _mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def _lenet5():
    return nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                         nn.ReLU(), nn.Linear(84, 10))


# name -> (builder, one sample's shape, classes)
MODELS = {
    "linear": (lambda: nn.Linear(10, 5), (10,), 5),
    "mlp2": (lambda: nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)), (10,), 3),
    "mlp": (_mlp, (784,), 10),
    "lenet5": (_lenet5, (3, 32, 32), 10),
}

OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.01),
    "momentum": lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9),
    "adam": lambda ps: optim.Adam(ps, lr=1e-3),
    "adamw": lambda ps: optim.AdamW(ps, lr=1e-3),
}


def choose(table: dict, name: str, what: str):
    if name not in table:
        raise SystemExit(f"unknown {what} {name!r}; choose one of {', '.join(table)}")
    return table[name]


def build(model: str, optimizer: str, seed: int = 0):
    """(model, optimizer) built from a fixed seed."""
    tt.manual_seed(seed)
    m = choose(MODELS, model, "model")[0]()
    return m, choose(OPTIMIZERS, optimizer, "optimizer")(m.parameters())


def batch(model: str, n: int, seed: int = 1):
    """A realized random batch (x, labels) of `n` samples for `model`."""
    _, shape, classes = MODELS[model]
    rng = np.random.default_rng(seed)
    x = tt.tensor(rng.standard_normal((n, *shape)).astype(np.float32))
    return x, tt.tensor(rng.integers(0, classes, n))


def split(x, y, micro: int) -> list:
    """(x, y) as `micro` realized micro-batches, as a data loader hands them over."""
    n = x.shape[0] // micro
    return [(x[i * n:(i + 1) * n].realize(), y[i * n:(i + 1) * n].realize()) for i in range(micro)]


def train_step(model, opt, batches):
    """One training step over the micro-batches `batches` (one: a plain step), gradients accumulated; returns
    the loss. Each micro-batch's gradients are realized before the next is built, so its activations are
    freed: left lazy, every micro-batch would compile into one Program holding all their activations."""
    opt.zero_grad()
    if len(batches) == 1:
        loss = nn.functional.cross_entropy(model(batches[0][0]), batches[0][1])
        loss.backward()
        opt.step()
        return loss
    total = None
    for xb, yb in batches:
        loss = nn.functional.cross_entropy(model(xb), yb) / len(batches)
        loss.backward()
        total = loss.detach() if total is None else total + loss.detach()
        tt.realize([total] + [p.grad for p in model.parameters() if p.grad is not None])
    opt.step()
    return total
