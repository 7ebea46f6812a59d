"""Losses at large logits match PyTorch and stay finite: logsumexp, log_softmax and cross_entropy shift by the
row max, binary_cross_entropy_with_logits rewrites -log(sigmoid(x)) so exp never sees a positive number. The
naive forms (log of a sum of exp, log(1 + exp(-x))) overflow float32 past 88 and give inf or NaN here: these
tests are what tells them apart (the other loss tests use logits of a few units, where both forms agree)."""
import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

SCALES = (1.0, 100.0, 1000.0)  # exp(100) and exp(1000) overflow float32 (its largest is about exp(88.7))


def _logits(scale):
    x = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32) * scale
    x[0] = 0.0  # a row of ties
    x[1, 3] = 4 * scale  # a row with one dominant class
    return x


def _both(fn, tfn, x, *args):
    xt, tx = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = fn(xt, *args), tfn(tx, *[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
    out.sum().backward()
    tout.sum().backward()
    got, want = out.numpy(), tout.detach().numpy()
    assert np.isfinite(got).all(), f"{fn.__name__}: non-finite values {got}"
    assert np.isfinite(xt.grad.numpy()).all(), f"{fn.__name__}: non-finite gradient {xt.grad.numpy()}"
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(want).max()))
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("scale", SCALES)
def test_log_softmax_and_cross_entropy_at_large_logits_match_torch(scale):
    x = _logits(scale)
    y = np.array([0, 3, 6, 2, 1])
    _both(lambda a: tt.logsumexp(a, 1), lambda a: torch.logsumexp(a, 1), x)
    _both(lambda a: F.log_softmax(a, dim=1), lambda a: TF.log_softmax(a, dim=1), x)
    _both(F.cross_entropy, TF.cross_entropy, x, y)


@pytest.mark.parametrize("scale", SCALES)
def test_bce_with_logits_at_large_logits_matches_torch(scale):
    x = _logits(scale)
    t = (np.random.default_rng(1).random(x.shape) > 0.5).astype(np.float32)
    _both(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, x, t)
