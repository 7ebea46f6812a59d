"""Module 7's figure: what the Trainer's captured step buys, and whether memory stays flat. The same MLP step on
the digits, run by `Trainer.train_step` three ways: captured (compile=True, the default: the step's graph is
traced once and replayed), uncaptured (the lazy graph is rebuilt and looked up in the compile cache every step)
and eager (every op runs as it is called). Then the resident memory of a long captured run, sampled as it goes:
a leak (a graph or a buffer kept per step) would make it climb."""
from __future__ import annotations

import itertools

import psutil

import tinytorch as tt
from tinytorch import data as D, nn, optim
from tinytorch.data import transforms as T
from tinytorch.train import Trainer

from .common import median_step_ms

BATCH, HIDDEN = 64, 128
STEPS = 60  # timed steps per mode, after WARMUP
WARMUP = 5
LONG = 600  # steps of the memory run
MB = 1 << 20


def _trainer(compile):
    tt.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10))
    loader = D.DataLoader(D.Digits(train=True), BATCH, shuffle=True, seed=0, drop_last=True,
                          transform=T.Compose([T.Scale(1 / 16), T.Flatten()]))
    return Trainer(model, optim.Adam(model.parameters(), lr=1e-3), loader, progress=False, compile=compile), loader


def _batches(loader, n):
    return list(itertools.islice(itertools.cycle(list(loader)), n))


def _step_ms(compile, eager=False):
    trainer, loader = _trainer(compile)
    batches = _batches(loader, WARMUP + STEPS)
    with tt.eager(eager):
        return median_step_ms(trainer, batches, WARMUP)


def figure():
    print(f"Trainer.train_step of a 64-{HIDDEN}-{HIDDEN}-10 MLP with Adam on the digits, batch {BATCH} "
          f"(median of {STEPS} steps):")
    for name, compile, eager in (("captured (compile=True)", True, False), ("uncaptured (compile=False)", False, False),
                                 ("eager", False, True)):
        print(f"  {name:<28}{_step_ms(compile, eager):8.3f} ms/step")
    trainer, loader = _trainer(True)
    process = psutil.Process()
    marks = {WARMUP, LONG // 4, LONG // 2, 3 * LONG // 4, LONG}
    row = []
    for i, (x, y) in enumerate(_batches(loader, LONG), 1):
        trainer.train_step(x, y)
        if i in marks:
            row.append(f"step {i}: {process.memory_info().rss / MB:.1f}")
    print(f"resident memory of the captured run (MiB): {'; '.join(row)}")
