"""1989 and 1998: LeCun's LeNet-1 and LeNet-5, as published: 5x5 convolutions, tanh, 2x2 average-pool
subsampling, on MNIST (LeNet-5 read the digits centred in 32x32) and on CIFAR-10 (three channels, 32x32)."""
from __future__ import annotations

from .. import nn, optim
from . import data
from .stage import Stage

BATCH, LR = 64, 1e-3
LENET1_MAPS = (4, 12)
LENET5_MAPS, LENET5_HIDDEN = (6, 16), (120, 84)
KERNEL = 5


def _features(channels, maps):
    """conv 5x5 -> tanh -> average pool 2, once per entry of `maps`."""
    layers = []
    for c_in, c_out in zip((channels, *maps[:-1]), maps):
        layers += [nn.Conv2d(c_in, c_out, KERNEL), nn.Tanh(), nn.AvgPool2d(2)]
    return layers


def _side(size: int, n_convs: int) -> int:
    for _ in range(n_convs):
        size = (size - KERNEL + 1) // 2
    return size


def lenet1(channels: int, size: int) -> nn.Sequential:
    side = _side(size, len(LENET1_MAPS))
    return nn.Sequential(*_features(channels, LENET1_MAPS), nn.Flatten(), nn.Linear(LENET1_MAPS[-1] * side * side, 10))


def lenet5(channels: int, size: int) -> nn.Sequential:
    side = _side(size, len(LENET5_MAPS))
    a, b = LENET5_HIDDEN
    return nn.Sequential(*_features(channels, LENET5_MAPS), nn.Flatten(),
                         nn.Linear(LENET5_MAPS[-1] * side * side, a), nn.Tanh(), nn.Linear(a, b), nn.Tanh(),
                         nn.Linear(b, 10))


def _stages(build, settings, mnist_pad: int):
    if settings.dataset == "mnist":
        tf, channels, size = data.mnist_tf(pad=mnist_pad), 1, 28 + 2 * mnist_pad
    else:
        tf, channels, size = data.cifar_tf(), 3, 32
    train, test = data.loaders(*data.image_sets(settings), settings, BATCH, tf, tf)
    model = build(channels, size)
    return [Stage(settings.dataset, model, optim.Adam(model.parameters(), lr=LR), train, test)]


def lenet1_stages(settings):
    return _stages(lenet1, settings, mnist_pad=0)


def lenet5_stages(settings):
    return _stages(lenet5, settings, mnist_pad=2)
