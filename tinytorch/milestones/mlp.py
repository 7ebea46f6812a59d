"""1986: the backpropagation MLP, on the digits and MNIST, and the same kind of net on CIFAR-10 (the baseline
whose ~53% motivated convolutional nets for natural images)."""
from __future__ import annotations

from .. import data as D, nn, optim
from ..data import transforms as T
from . import data
from .stage import Stage

MNIST_HIDDEN, CIFAR_HIDDEN, DIGITS_HIDDEN = (512, 256), (512, 256), (128,)


def mlp(sizes) -> nn.Sequential:
    """Linear layers of the given widths with ReLU between them."""
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def mlp1986_stages(settings):
    if settings.dataset == "digits":
        tf = T.Compose([T.Scale(1 / 16), T.Flatten()])
        sets = [data.open_dataset(lambda train=train: D.Digits(settings.root, train=train)) for train in (True, False)]
        train, test = data.loaders(*sets, settings, 64, tf, tf)
        model = mlp((64, *DIGITS_HIDDEN, 10))
        return [Stage("digits", model, optim.Adam(model.parameters(), lr=1e-2), train, test)]
    tf = data.mnist_tf(flatten=True)
    train, test = data.loaders(*data.image_sets(settings), settings, 128, tf, tf)
    model = mlp((784, *MNIST_HIDDEN, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=settings.epochs * len(train))
    return [Stage("mnist", model, opt, train, test, scheduler=sched)]


def mlp_cifar_stages(settings):
    """The README's recipe (examples/train_mlp.py --dataset cifar10 --hidden 512,256 --lr 5e-4, batch 128)."""
    tf = data.cifar_tf(flatten=True)
    train, test = data.loaders(*data.image_sets(settings), settings, 128, tf, tf)
    model = mlp((3072, *CIFAR_HIDDEN, 10))
    return [Stage("cifar10", model, optim.Adam(model.parameters(), lr=5e-4), train, test)]
