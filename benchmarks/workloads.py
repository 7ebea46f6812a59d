"""The benchmark workloads: GELU, softmax, layernorm, an MLP and a LeNet-5 training step (raw tensors only)."""
from __future__ import annotations

import math

import numpy as np

import tinytorch as tt
from harness import Workload

RNG = np.random.default_rng(0)
EPS = 1e-5
LR = 0.01


def _arr(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _np_gelu(x):
    return 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x * x * x)))


def gelu():
    return Workload("gelu 4M", lambda: {"x": tt.tensor(_arr(1 << 22)), "xn": _arr(1 << 22)},
                    lambda s: [s["x"].gelu(approximate="tanh")], lambda s: _np_gelu(s["xn"]))


def _np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def softmax():
    return Workload("softmax 4096x1024", lambda: {"x": tt.tensor(_arr(4096, 1024)), "xn": _arr(4096, 1024)},
                    lambda s: [s["x"].softmax(-1)], lambda s: _np_softmax(s["xn"]))


def _layernorm(x):
    mu = x.mean(-1, keepdim=True)
    d = x - mu
    return d * ((d * d).mean(-1, keepdim=True) + EPS).rsqrt()


def _np_layernorm(x):
    d = x - x.mean(-1, keepdims=True)
    return d / np.sqrt((d * d).mean(-1, keepdims=True) + EPS)


def layernorm():
    return Workload("layernorm 4096x1024", lambda: {"x": tt.tensor(_arr(4096, 1024)), "xn": _arr(4096, 1024)},
                    lambda s: [_layernorm(s["x"])], lambda s: _np_layernorm(s["xn"]))


def _params(shapes):
    return [tt.tensor(_arr(*sh, scale=1 / math.sqrt(sh[0])), requires_grad=True) for sh in shapes]


def _sgd_step(params, loss, lr):
    loss.backward()
    out = []
    for p in params:
        out.append(p.assign(p.detach() - lr * p.grad))
        p.grad = None
    return out + [loss]


def _xent(logits, onehot):
    return -(logits.log_softmax(-1) * onehot).sum(-1).mean()


def _mlp_state():
    y = RNG.integers(0, 10, 128)
    return {"x": tt.tensor(_arr(128, 784)), "y": tt.tensor(np.eye(10, dtype=np.float32)[y]),
            "p": _params([(784, 256), (1, 256), (256, 256), (1, 256), (256, 10), (1, 10)]), "lr": tt.tensor(LR)}


def _mlp_build(s):
    w1, b1, w2, b2, w3, b3 = s["p"]
    h = (s["x"] @ w1 + b1).relu()
    h = (h @ w2 + b2).relu()
    return _sgd_step(s["p"], _xent(h @ w3 + b3, s["y"]), s["lr"])


def mlp_step():
    return Workload("mlp train step", _mlp_state, _mlp_build)


def _conv(x, w):
    """x (N, C, H, W), w (C*k*k, O) -> (N, O, H-k+1, W-k+1) through window extraction and one matmul."""
    n, c = x.shape[:2]
    k = int(round(math.sqrt(w.shape[0] // c)))
    cols = tt.movement.unfold_windows(x, k)  # (N, C, k, k, oh, ow)
    oh, ow = cols.shape[-2:]
    cols = cols.permute(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * k * k)
    return (cols @ w).reshape(n, oh, ow, w.shape[1]).permute(0, 3, 1, 2)


def _pool(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean((3, 5))


def _lenet_state():
    y = RNG.integers(0, 10, 64)
    return {"x": tt.tensor(_arr(64, 3, 32, 32)), "y": tt.tensor(np.eye(10, dtype=np.float32)[y]),
            "p": _params([(3 * 25, 6), (6 * 25, 16), (400, 120), (1, 120), (120, 84), (1, 84), (84, 10),
                          (1, 10)]), "lr": tt.tensor(LR)}


def _lenet_build(s):
    c1, c2, f1, b1, f2, b2, f3, b3 = s["p"]
    h = _pool(_conv(s["x"], c1).relu())
    h = _pool(_conv(h, c2).relu()).reshape(64, 400)
    h = (h @ f1 + b1).relu()
    h = (h @ f2 + b2).relu()
    return _sgd_step(s["p"], _xent(h @ f3 + b3, s["y"]), s["lr"])


def lenet_step():
    return Workload("lenet5 train step", _lenet_state, _lenet_build)


WORKLOADS = {"gelu": gelu, "softmax": softmax, "layernorm": layernorm, "mlp": mlp_step, "lenet": lenet_step}
