"""Module 5's figure: why log_softmax and not log(softmax). At logits of a few units all three forms agree; at
large logits exp(x) overflows float32 (past about 88.7) and log(exp(x) / sum exp(x)) is NaN, while softmax,
already shifted by the max, underflows to 0 for the losing classes and log(0) = -inf: the loss is inf and its
gradient NaN. log_softmax = x - logsumexp(x), with the max taken out before exp, stays finite throughout."""
from __future__ import annotations

import numpy as np

import tinytorch as tt

SCALES = (1, 10, 30, 100, 1000)
CLASSES, BATCH = 10, 64


def _naive(x):
    e = x.exp()
    return (e / e.sum(-1, keepdim=True)).log()


def _log_of_softmax(x):
    return x.softmax(-1).log()


def _ours(x):
    return x.log_softmax(-1)


def _loss_and_grad(form, logits, y):
    x = tt.tensor(logits, requires_grad=True)
    loss = -form(x).gather(1, tt.tensor(y[:, None])).mean()
    loss.backward()
    return float(loss.item()), x.grad.numpy()


def _exact(logits, y):
    """The loss and its gradient in float64, from the shifted form: the reference for the error column."""
    z = logits.astype(np.float64)
    z = z - z.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    grad = np.exp(logp)
    grad[np.arange(len(y)), y] -= 1
    return -logp[np.arange(len(y)), y].mean(), grad / len(y)


def _cell(loss, grad, want_grad):
    if not np.isfinite(loss) or not np.isfinite(grad).all():
        bad = np.count_nonzero(~np.isfinite(grad))
        return f"{loss:>8.4g}, {bad:>3} grads inf/NaN"
    return f"{loss:>8.4g}, grad err {np.abs(grad - want_grad).max():7.1e}"


def figure():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((BATCH, CLASSES)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    forms = (("log(exp/sum exp)", _naive), ("log(softmax)", _log_of_softmax), ("log_softmax", _ours))
    print(f"cross-entropy of {BATCH} rows of {CLASSES} float32 logits (standard normal times the scale):")
    print("the loss, and the gradient's largest error against float64 (or how many of its "
          f"{BATCH * CLASSES} values are inf or NaN)")
    print(f"{'scale':>6} {'exact loss':>11} " + " ".join(f"{name:>27}" for name, _ in forms))
    for scale in SCALES:
        logits = base * scale
        want_loss, want_grad = _exact(logits, y)
        with np.errstate(all="ignore"):
            cells = [_cell(*_loss_and_grad(form, logits, y), want_grad) for _, form in forms]
        print(f"{scale:>6} {want_loss:>11.4g} " + " ".join(f"{c:>27}" for c in cells))
