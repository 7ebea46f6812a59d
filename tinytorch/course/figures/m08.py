"""Module 8's figure: is the loader or the step the bottleneck? The time the DataLoader takes to make one
CIFAR-10 batch (index, transform, copy into a tensor), with no transform, with the usual normalization and with
augmentation (random crop and flip), against the time of a training step that consumes it, for an MLP and a
small CNN. A loader slower than the step leaves the compiled step waiting: that is when it pays to prefetch in
another process."""
from __future__ import annotations

import itertools
import statistics
import time

import tinytorch as tt
from tinytorch import data as D, nn, optim
from tinytorch.data import transforms as T
from tinytorch.train import Trainer

from ...milestones.data import CIFAR_MEAN, CIFAR_STD
from .common import median_step_ms

BATCH = 128
BATCHES = 40  # timed batches per loader and steps per model
WARMUP = 3


def _loader(ds, transform):
    return D.DataLoader(ds, BATCH, shuffle=True, seed=0, drop_last=True, transform=transform)


def _loader_ms(ds, transform) -> float:
    loader = iter(_loader(ds, transform))
    times = []
    for _ in range(BATCHES):
        t = time.perf_counter()
        next(loader)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def _step_ms(ds, model) -> float:
    tf = T.Compose([T.ToTensor(), T.Normalize(CIFAR_MEAN, CIFAR_STD)])
    batches = list(itertools.islice(_loader(ds, tf), WARMUP + BATCHES))
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=1e-3), [], progress=False)
    return median_step_ms(trainer, batches, WARMUP)


def figure():
    ds = D.CIFAR10(train=False)  # the 10,000 test images: as big per batch as the training set's
    norm = [T.ToTensor(), T.Normalize(CIFAR_MEAN, CIFAR_STD)]
    augment = [T.ToTensor(), T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.Normalize(CIFAR_MEAN, CIFAR_STD)]
    tt.manual_seed(0)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 256), nn.ReLU(), nn.Linear(256, 10))
    cnn = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(32 * 8 * 8, 10))
    rows = [("loader: no transform (uint8 images)", _loader_ms(ds, None)),
            ("loader: ToTensor + Normalize", _loader_ms(ds, T.Compose(norm))),
            ("loader: + RandomCrop(32, 4) + flip", _loader_ms(ds, T.Compose(augment))),
            ("step: MLP 3072-256-10, Adam", _step_ms(ds, mlp)),
            ("step: CNN conv16-conv32-linear, Adam", _step_ms(ds, cnn))]
    print(f"CIFAR-10, batch {BATCH}: median ms per batch over {BATCHES}")
    for name, ms in rows:
        print(f"  {name:<40}{ms:9.2f} ms")
