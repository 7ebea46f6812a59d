"""1957 and 1969: Rosenblatt's perceptron, and the XOR problem a single layer cannot solve.

The perceptron's rule is: on a mistake, add the input (times the sign of the true class) to the weights. That is
exactly plain SGD with learning rate 1 and batches of one on the perceptron criterion max(0, -t * (w.x + b))
(t = +1 or -1): its gradient is -t * x on a mistake and zero otherwise. So the stage is an ordinary training
loop whose loss is that criterion, and the convergence theorem (separable data: finitely many mistakes) is what
the figure checks, first on separable 2-D points, then on the 8x8 digits 0 and 1.

XOR (the 1969 objection): a single linear layer separates at most three of its four points; a hidden layer of
tanh units, trained by backpropagation, gets all four.
"""
from __future__ import annotations

import numpy as np

from .. import cat, data as D, nn, optim
from ..data import transforms as T
from . import data
from .stage import Stage

POINTS, POINTS_TEST, POINTS_MARGIN = 400, 100, 0.1
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0], dtype=np.int64)
XOR_REPEATS = 64     # full-batch steps per epoch
XOR_HIDDEN = 4


class Perceptron(nn.Module):
    """One linear threshold unit. Its two logits are -s/2 and +s/2 (s = w.x + b), so argmax is the unit's
    threshold decision and the classifier's accuracy reads it as any other."""

    def __init__(self, n_in: int):
        super().__init__()
        self.unit = nn.Linear(n_in, 1)

    def forward(self, x):
        s = self.unit(x) * 0.5
        return cat([-s, s], dim=1)


def perceptron_criterion(logits, y):
    """mean max(0, -t * s), t = +1 for class 1 and -1 for class 0: Rosenblatt's rule as a loss."""
    s = logits[:, 1] - logits[:, 0]
    t = y.float() * 2 - 1
    return (-(t * s)).relu().mean()


def separable_points(seed: int):
    """2-D points on both sides of a random line, none closer to it than POINTS_MARGIN (train, test)."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi)
    normal = np.array([np.cos(angle), np.sin(angle)], dtype=np.float32)
    x = rng.uniform(-1, 1, (4 * POINTS, 2)).astype(np.float32)
    s = x @ normal - np.float32(rng.uniform(-0.3, 0.3))
    keep = np.abs(s) > POINTS_MARGIN
    x, y = x[keep][:POINTS], (s[keep][:POINTS] > 0).astype(np.int64)
    cut = POINTS - POINTS_TEST
    return D.TensorDataset(x[:cut], y[:cut]), D.TensorDataset(x[cut:], y[cut:])


def zeros_and_ones(settings):
    """The digits 0 and 1 of the 8x8 set, its fixed 80/20 split."""
    def pick(train):
        ds = data.open_dataset(lambda: D.Digits(settings.root, train=train))
        keep = np.flatnonzero(ds.targets <= 1)
        return D.TensorDataset(ds.data[keep], ds.targets[keep].astype(np.int64))
    return pick(True), pick(False)


def perceptron_stages(settings):
    stages = []
    for name, (train, test), tf in (("separable points", separable_points(settings.seed), None),
                                     ("digits 0 vs 1", zeros_and_ones(settings), T.Compose([T.Scale(1 / 16),
                                                                                              T.Flatten()]))):
        train_dl, test_dl = data.loaders(train, test, settings, 1, tf, tf, quick_train=32)
        n_in = int(np.prod(train[0][0].shape))
        model = Perceptron(n_in)
        stages.append(Stage(name, model, optim.SGD(model.parameters(), lr=1.0), train_dl, test_dl,
                            loss_fn=perceptron_criterion))
    return stages


def xor_stages(settings):
    repeats = XOR_REPEATS // 4 if settings.quick else XOR_REPEATS
    train = D.TensorDataset(np.tile(XOR_X, (repeats, 1)), np.tile(XOR_Y, repeats))
    test = D.TensorDataset(XOR_X, XOR_Y)
    stages = []
    for name, model in (("single layer", nn.Linear(2, 2)),
                        ("two layers", nn.Sequential(nn.Linear(2, XOR_HIDDEN), nn.Tanh(), nn.Linear(XOR_HIDDEN, 2)))):
        train_dl = D.DataLoader(train, len(XOR_X), shuffle=False, seed=settings.seed)
        test_dl = D.DataLoader(test, len(XOR_X), seed=settings.seed)
        stages.append(Stage(name, model, optim.Adam(model.parameters(), lr=0.05), train_dl, test_dl))
    return stages
