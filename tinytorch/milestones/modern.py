"""A small modern CNN (the 2010s recipe): VGG-style 3x3 convolutions with BatchNorm and ReLU, random crops and
flips, SGD with Nesterov momentum and weight decay under a one-cycle learning rate, on CIFAR-10."""
from __future__ import annotations

from .. import nn, optim
from ..data import transforms as T
from . import data
from .stage import Stage

WIDTHS = ((32, 32), (64, 64), (128, 128))  # a max pool after each pair: 32 -> 16 -> 8 -> 4
BATCH, MAX_LR, MOMENTUM, WEIGHT_DECAY = 128, 0.1, 0.9, 5e-4
CROP_PADDING = 4


def vgg(widths=WIDTHS, classes: int = 10) -> nn.Sequential:
    layers, c = [], 3
    for block in widths:
        for w in block:
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            c = w
        layers.append(nn.MaxPool2d(2))
    side = 32 >> len(widths)
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * side * side, classes))


def cnn_modern_stages(settings):
    augment = (T.RandomCrop(32, padding=CROP_PADDING, seed=settings.seed + 1),
               T.RandomHorizontalFlip(seed=settings.seed + 2))
    train, test = data.loaders(*data.image_sets(settings), settings, BATCH, data.cifar_tf(augment=augment),
                               data.cifar_tf())
    model = vgg()
    opt = optim.SGD(model.parameters(), lr=MAX_LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY)
    sched = optim.lr_scheduler.OneCycleLR(opt, MAX_LR, epochs=settings.epochs, steps_per_epoch=len(train))
    return [Stage("cifar10", model, opt, train, test, scheduler=sched, augment=augment)]
