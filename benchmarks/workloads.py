"""The benchmark workloads: memory-bound elementwise/row ops here, model steps in models.py; one registry.

Each factory takes `quick` (small sizes for a smoke run) and returns a harness.Workload with the
TinyTorch step, a hand-written NumPy version where one is cheap to write, and the PyTorch peer.
GELU (erf form): NumPy has no erf, so the hand-written version uses Abramowitz-Stegun 7.1.26
(|error| < 1.5e-7), a fair stand-in for what a NumPy user would write.
"""
from __future__ import annotations

import math

import numpy as np

import tinytorch as tt
from harness import Workload
import models

EPS = 1e-5
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _arr(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _state(shape):
    def setup():
        xn = _arr(shape)
        return {"x": tt.tensor(xn), "xn": xn}
    return setup


def _torch_x(s):
    import torch
    return torch.from_numpy(s["xn"].copy())


def _np_erf(x):
    """Abramowitz-Stegun 7.1.26, vectorized."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t \
        * np.exp(-a * a)
    return s * y


def _np_gelu_erf(x):
    return 0.5 * x * (1.0 + _np_erf(x * np.float32(1 / math.sqrt(2))))


def _np_gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.float32(SQRT_2_OVER_PI) * (x + np.float32(0.044715) * x * x * x)))


def _torch_gelu(approximate):
    import torch.nn.functional as F
    return lambda x: F.gelu(x, approximate=approximate)


def gelu(quick=False, approximate="none"):
    n = 1 << 14 if quick else 1 << 22
    label = "erf" if approximate == "none" else "tanh"
    return Workload(f"gelu {label} {_count(n)}", _state(n), lambda s: [s["x"].gelu(approximate=approximate)],
                    lambda s: (_np_gelu_erf if approximate == "none" else _np_gelu_tanh)(s["xn"]),
                    _torch_x, _torch_gelu(approximate), memory_bound=True, atol=1e-5)


def gelu_tanh(quick=False):
    return gelu(quick, "tanh")


def _torch_gelu_chain(x):
    """The tanh GELU written op by op, as user code would: PyTorch eager runs one kernel per op."""
    import torch
    return 0.5 * x * (1.0 + torch.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))


def gelu_chain(quick=False):
    """Issue 5's GELU chain: the same elementwise chain in every column (PyTorch without its fused F.gelu)."""
    n = 1 << 14 if quick else 1 << 22
    return Workload(f"gelu chain {_count(n)}", _state(n), lambda s: [s["x"].gelu(approximate="tanh")],
                    lambda s: _np_gelu_tanh(s["xn"]), _torch_x, _torch_gelu_chain, memory_bound=True, atol=1e-5)


def _np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def softmax(quick=False):
    shape = (64, 256) if quick else (4096, 1024)
    return Workload(f"softmax {shape[0]}x{shape[1]}", _state(shape), lambda s: [s["x"].softmax(-1)],
                    lambda s: _np_softmax(s["xn"]), _torch_x, lambda x: x.softmax(-1), memory_bound=True)


def _np_layernorm(x):
    mu = x.mean(-1, keepdims=True)
    d = x - mu
    return d / np.sqrt((d * d).mean(-1, keepdims=True) + EPS)


def layernorm(quick=False):
    shape = (64, 256) if quick else (4096, 1024)

    def torch_ln(x):
        import torch.nn.functional as F
        return F.layer_norm(x, (shape[1],), eps=EPS)

    return Workload(f"layernorm {shape[0]}x{shape[1]}", _state(shape),
                    lambda s: [tt.nn.functional.layer_norm(s["x"], (shape[1],), eps=EPS)],
                    lambda s: _np_layernorm(s["xn"]), _torch_x, torch_ln, memory_bound=True, atol=1e-4)


def _count(n):
    return f"{n >> 20}M" if n >= 1 << 20 else f"{n >> 10}K"


WORKLOADS = {"gelu": gelu, "gelu_tanh": gelu_tanh, "gelu_chain": gelu_chain, "softmax": softmax,
             "layernorm": layernorm,
             "mlp": models.mlp_step, "mlp_captured": models.captured(models.mlp_step),
             "lenet": models.lenet_step, "lenet_captured": models.captured(models.lenet_step),
             "mnist_cnn": models.mnist_cnn_step, "vgg": models.vgg_step, "gpt": models.gpt_block}
