"""Model workloads built from tinytorch.nn / tinytorch.optim, each with the same model in torch.nn.

- `mlp_step`: 784-256-256-10 MLP, batch 128, cross-entropy, Adam: one training step (and a hand-written
  NumPy step, numpy_mlp.py).
- `lenet_step`: LeNet-5 (Conv2d 5x5, MaxPool2d 2) on 3x32x32, batch 64, SGD with momentum: one step.
- `mnist_cnn_step`: the PyTorch tutorial's MNIST CNN (two 3x3 convs, max pool, two linears; F.* calls, Adam),
  batch 64, written as a PyTorch user writes it, the only change being the imports.
- `vgg_step`: a small VGG-style CIFAR-10 net (six 3x3 convs of 32/64/128 channels, BatchNorm, ReLU, three max
  pools, a linear head), batch 128, SGD with momentum: the modern-CNN milestone's shape.
- `gpt_block`: the GPT-style block of examples/gpt_block.py, B=4 T=128 C=256, 4 heads: forward.
- `*_captured`: the same training step under `tinytorch.compile` (traced, then replayed); the torch column is
  still plain PyTorch eager.

The torch model has the same module names, so its weights are copied from the TinyTorch model's
state_dict; the harness checks the first step of every column against the first column's.
A training step's outputs are the loss and one updated parameter, so the check covers the optimizer.
"""
from __future__ import annotations

import math
import pathlib
import sys

import numpy as np

import tinytorch as tt
from tinytorch import nn, optim
from harness import Workload

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))
from gpt_block import Block, causal_mask  # noqa: E402
from numpy_mlp import NumpyMLP  # noqa: E402


def _data(x_shape, classes, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(x_shape).astype(np.float32), rng.integers(0, classes, x_shape[0]).astype(np.int64)


def _torch_copy(tmodel, ttmodel):
    import torch
    tmodel.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in ttmodel.state_dict().items()})
    return tmodel


# ------------------------------------------------------------------ training steps

def _train_state(build_model, make_opt, x_shape):
    def setup():
        tt.manual_seed(0)
        model = build_model(nn)
        xn, yn = _data(x_shape, 10)
        return {"model": model, "opt": make_opt(optim, model.parameters()), "loss": nn.CrossEntropyLoss(),
                "x": tt.tensor(xn), "y": tt.tensor(yn), "xn": xn, "yn": yn}
    return setup


def _train_step(s):
    s["opt"].zero_grad()
    loss = s["loss"](s["model"](s["x"]), s["y"])
    loss.backward()
    s["opt"].step()
    return [loss, _watched(s["model"])]


def _watched(model):
    """The last parameter (the output layer's bias): it moves every step, so it checks the optimizer."""
    return list(model.parameters())[-1]


def _torch_train(build_model, make_opt):
    def setup(s):
        import torch
        tmodel = _torch_copy(build_model(torch.nn), s["model"])
        return {"model": tmodel, "opt": make_opt(torch.optim, tmodel.parameters()),
                "loss": torch.nn.CrossEntropyLoss(), "x": torch.from_numpy(s["xn"]), "y": torch.from_numpy(s["yn"])}

    def step(t):
        t["opt"].zero_grad()
        loss = t["loss"](t["model"](t["x"]), t["y"])
        loss.backward()
        t["opt"].step()
        return [loss, _watched(t["model"])]
    return setup, step


def _mlp(mod):
    return mod.Sequential(mod.Linear(784, 256), mod.ReLU(), mod.Linear(256, 256), mod.ReLU(), mod.Linear(256, 10))


def _adam(o, params):
    return o.Adam(params, lr=1e-3)


def _numpy_mlp_state(setup):
    def numpy_setup():
        s = setup()
        s["np"] = NumpyMLP(s["model"], s["xn"], s["yn"])
        return s
    return numpy_setup


def mlp_step(quick=False):
    batch = 16 if quick else 128
    tsetup, tstep = _torch_train(_mlp, _adam)
    return Workload(f"mlp train step b{batch}", _numpy_mlp_state(_train_state(_mlp, _adam, (batch, 784))),
                    _train_step, lambda s: s["np"].step(), tsetup, tstep, rtol=1e-3, atol=1e-5)


def _lenet(mod):
    return mod.Sequential(mod.Conv2d(3, 6, 5), mod.ReLU(), mod.MaxPool2d(2), mod.Conv2d(6, 16, 5), mod.ReLU(),
                          mod.MaxPool2d(2), mod.Flatten(), mod.Linear(400, 120), mod.ReLU(), mod.Linear(120, 84),
                          mod.ReLU(), mod.Linear(84, 10))


def _sgd(o, params):
    return o.SGD(params, lr=0.01, momentum=0.9)


def lenet_step(quick=False):
    batch = 4 if quick else 64
    tsetup, tstep = _torch_train(_lenet, _sgd)
    return Workload(f"lenet5 train step b{batch}", _train_state(_lenet, _sgd, (batch, 3, 32, 32)), _train_step,
                    None, tsetup, tstep, rtol=1e-3, atol=1e-5)


def _mnist_cnn(mod):
    """The PyTorch MNIST example's network (without its dropout, so both columns draw no random numbers)."""
    F = mod.functional

    class Net(mod.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = mod.Conv2d(1, 32, 3, 1), mod.Conv2d(32, 64, 3, 1)
            self.fc1, self.fc2 = mod.Linear(9216, 128), mod.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv2(F.relu(self.conv1(x))))
            x = F.max_pool2d(x, 2).flatten(1)
            return self.fc2(F.relu(self.fc1(x)))
    return Net()


def mnist_cnn_step(quick=False):
    batch = 4 if quick else 64
    tsetup, tstep = _torch_train(_mnist_cnn, _adam)
    return Workload(f"mnist cnn train step b{batch}", _train_state(_mnist_cnn, _adam, (batch, 1, 28, 28)),
                    _train_step, None, tsetup, tstep, rtol=1e-3, atol=1e-5)


VGG_WIDTHS = (32, 32, "M", 64, 64, "M", 128, 128, "M")


def _vgg(mod, widths=VGG_WIDTHS):
    layers, c = [], 3
    for w in widths:
        if w == "M":
            layers.append(mod.MaxPool2d(2))
        else:
            layers += [mod.Conv2d(c, w, 3, padding=1, bias=False), mod.BatchNorm2d(w), mod.ReLU()]
            c = w
    return mod.Sequential(*layers, mod.Flatten(), mod.Linear(c * 4 * 4, 10))


def _vgg_quick(mod):
    return _vgg(mod, (8, "M", 8, "M", 8, "M"))


def vgg_step(quick=False):
    batch = 4 if quick else 128
    build = _vgg_quick if quick else _vgg
    tsetup, tstep = _torch_train(build, _sgd)
    return Workload(f"vgg6-bn cifar train step b{batch}", _train_state(build, _sgd, (batch, 3, 32, 32)),
                    _train_step, None, tsetup, tstep, rtol=2e-3, atol=1e-4)


def captured(factory):
    """The workload `factory` makes, its TinyTorch step run under tinytorch.compile (the torch column unchanged)."""
    def make(quick=False):
        w = factory(quick)
        setup = w.setup

        def captured_setup():
            s = setup()
            s["captured"] = tt.compile(lambda: tuple(w.step(s)))
            return s
        return Workload(w.name.replace("train step", "captured step"), captured_setup,
                        lambda s: list(s["captured"]()), None, w.torch_setup, w.torch_step, rtol=w.rtol, atol=w.atol)
    return make


# ------------------------------------------------------------------ GPT block forward

class TorchBlock:
    """examples/gpt_block.Block in torch.nn, same module names (built lazily: torch is imported on demand)."""

    @staticmethod
    def build(c, n_head):
        import torch
        from torch import nn as tnn

        class Attn(tnn.Module):
            def __init__(self):
                super().__init__()
                self.n_head = n_head
                self.q, self.k, self.v, self.proj = (tnn.Linear(c, c) for _ in range(4))

            def forward(self, x, mask):
                b, t, _ = x.shape
                d = c // n_head

                def heads(y):
                    return y.reshape(b, t, n_head, d).permute(0, 2, 1, 3)
                q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d)) + mask
                y = att.softmax(-1) @ v
                return self.proj(y.permute(0, 2, 1, 3).reshape(b, t, c))

        class TBlock(tnn.Module):
            def __init__(self):
                super().__init__()
                self.ln1, self.attn, self.ln2 = tnn.LayerNorm(c), Attn(), tnn.LayerNorm(c)
                self.mlp = tnn.Sequential(tnn.Linear(c, 4 * c), tnn.GELU(), tnn.Linear(4 * c, c))

            def forward(self, x, mask):
                x = x + self.attn(self.ln1(x), mask)
                return x + self.mlp(self.ln2(x))

        torch.manual_seed(0)
        return TBlock()


def gpt_block(quick=False):
    b, t, c, h = (2, 16, 32, 4) if quick else (4, 128, 256, 4)

    def setup():
        tt.manual_seed(0)
        xn = np.random.default_rng(2).standard_normal((b, t, c)).astype(np.float32)
        return {"block": Block(c, h).eval(), "x": tt.tensor(xn), "mask": tt.tensor(causal_mask(t)), "xn": xn}

    def step(s):
        with tt.no_grad():
            return [s["block"](s["x"], s["mask"])]

    def torch_setup(s):
        import torch
        return {"block": _torch_copy(TorchBlock.build(c, h), s["block"]).eval(), "x": torch.from_numpy(s["xn"]),
                "mask": torch.from_numpy(causal_mask(t))}

    def torch_step(ts):
        import torch
        with torch.no_grad():
            return ts["block"](ts["x"], ts["mask"])

    return Workload(f"gpt block fwd B{b} T{t} C{c}", setup, step, None, torch_setup, torch_step,
                    rtol=1e-3, atol=1e-4)
