"""A small training loop: fit a classifier, evaluate it, log metrics, checkpoint each epoch, resume.

One training step is the PyTorch sequence: forward, loss, `zero_grad()`,
`backward()`, `step()`. Nothing is computed until the optimizer step realizes
the update; the loss and the count of correct predictions were built before
it and read the parameters it overwrites, so `realize` computes them in the
same Program (forward + backward + update), and `.item()` afterwards is free.
By default the step is captured (`tinytorch.compile`): after two traced steps
it replays that Program without building the graph in Python, with the same
results. `compile=False` runs every step plainly, as a model or loss whose
step depends on Python values read from tensors must (see `capture.py`).
Metrics go to a JSON-lines file, one object per epoch; checkpoints are
`tinytorch.save` files (never pickles), one per epoch.
"""
from __future__ import annotations

import json
import pathlib
import re
import time

import numpy as np

from . import lazy
from .autograd import no_grad
from .capture import compile as capture
from .checkpointing import with_budget
from .creation import get_rng_state, set_rng_state
from .nn.functional import cross_entropy
from .serialization import load, save
from .tensor import Tensor

_CKPT = re.compile(r"epoch_(\d+)\.npz$")


def _accuracy_count(logits, y):
    return (logits.argmax(-1) == y).sum()


class Trainer:
    def __init__(self, model, optimizer, train_loader, val_loader=None, loss_fn=None, metrics_path=None,
                 checkpoint_dir=None, progress: bool = True, compile: bool = True, memory_budget=None,
                 checkpoint_strategy: str = "mincut"):
        if loss_fn is None:
            loss_fn = cross_entropy
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.train_loader, self.val_loader = train_loader, val_loader
        self.metrics_path = pathlib.Path(metrics_path) if metrics_path else None
        self.checkpoint_dir = pathlib.Path(checkpoint_dir) if checkpoint_dir else None
        self.progress = progress
        self.compile = compile
        if memory_budget is not None:  # gradient checkpointing: the step's planned arena peak fits the budget
            self._step = with_budget(self._step, memory_budget, checkpoint_strategy)
        self._captured = capture(self._step) if compile else None
        self.epoch = 0  # epochs finished
        self.history: list = []

    # ------------------------------------------------------------ one step

    def train_step(self, x, y):
        """Forward, loss, zero_grad, backward, step; returns (loss, correct) as Python numbers."""
        if self._captured is not None and isinstance(x, Tensor) and isinstance(y, Tensor):
            loss, correct = self._captured(x, y)  # (other batches would be Python data the replay cannot see)
        else:
            loss, correct = self._step(x, y)
            lazy.realize(loss, correct)  # already computed by the step's Program unless the optimizer is lazy
        return loss.item(), int(correct.item())

    def _step(self, x, y):
        """The step as tensors (loss, correct): what `tinytorch.compile` captures."""
        # BEGIN EXERCISE m07.step
        logits = self.model(x)
        loss = self.loss_fn(logits, y)
        correct = _accuracy_count(logits.detach(), y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss, correct
        # END EXERCISE m07.step

    # ------------------------------------------------------------ epochs

    def train_epoch(self) -> dict:
        from tqdm import tqdm

        # BEGIN EXERCISE m07.train_epoch
        self.model.train()
        if hasattr(self.train_loader, "set_epoch"):  # the same order as an uninterrupted run, after a resume
            self.train_loader.set_epoch(self.epoch)
        total_loss, correct, seen = 0.0, 0, 0
        t0 = time.perf_counter()
        bar = tqdm(self.train_loader, desc=f"epoch {self.epoch + 1}", leave=False, disable=not self.progress,
                   unit="batch")
        for x, y in bar:
            loss, c = self.train_step(x, y)
            n = len(y)
            total_loss, correct, seen = total_loss + loss * n, correct + c, seen + n
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}", refresh=False)
        return {"train_loss": total_loss / max(seen, 1), "train_acc": correct / max(seen, 1),
                "train_s": time.perf_counter() - t0}
        # END EXERCISE m07.train_epoch

    def evaluate(self, loader) -> dict:
        self.model.eval()
        total_loss, correct, seen = 0.0, 0, 0
        with no_grad():
            for x, y in loader:
                logits = self.model(x)
                loss, c = self.loss_fn(logits, y), _accuracy_count(logits, y)
                lazy.realize(loss, c)
                total_loss, correct, seen = total_loss + loss.item() * len(y), correct + int(c.item()), seen + len(y)
        self.model.train()
        return {"loss": total_loss / max(seen, 1), "acc": correct / max(seen, 1)}

    def fit(self, epochs: int, resume: bool = False, on_epoch=None) -> list:
        """Train until `epochs` epochs are done in total (a resumed run continues where its checkpoint stopped)."""
        if resume:
            self.resume()
        while self.epoch < epochs:
            before = lazy.stats()
            row = {"epoch": self.epoch + 1, **self.train_epoch()}
            if self.val_loader is not None:
                t0 = time.perf_counter()
                val = self.evaluate(self.val_loader)
                row.update(val_loss=val["loss"], val_acc=val["acc"], val_s=time.perf_counter() - t0)
            after = lazy.stats()
            row.update(compiles=after["compiles"] - before["compiles"],
                       cache_hits=after["cache_hits"] - before["cache_hits"])
            self.epoch += 1
            self.history.append(row)
            self._log(row)
            self.save_checkpoint()
            if on_epoch is not None:
                on_epoch(row)
        return self.history

    # ------------------------------------------------------------ metrics and checkpoints

    def _log(self, row: dict) -> None:
        if self.metrics_path is None:
            return
        self.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(row) + "\n")

    def checkpoint_path(self, epoch: int) -> pathlib.Path:
        return self.checkpoint_dir / f"epoch_{epoch:04d}.npz"

    def save_checkpoint(self) -> pathlib.Path | None:
        if self.checkpoint_dir is None:
            return None
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = self.checkpoint_path(self.epoch)
        save(self.checkpoint_state(), path)
        return path

    def checkpoint_state(self) -> dict:
        """What a checkpoint holds; a subclass adds its own entries (a scheduler, say) and reads them back in
        `load_checkpoint_state`."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "epoch": np.array(self.epoch), "rng": get_rng_state()}

    def load_checkpoint_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"])
        self.epoch = int(np.asarray(state["epoch"]))

    def latest_checkpoint(self) -> pathlib.Path | None:
        if self.checkpoint_dir is None or not self.checkpoint_dir.is_dir():
            return None
        found = [(int(m.group(1)), p) for p in self.checkpoint_dir.iterdir() if (m := _CKPT.search(p.name))]
        return max(found)[1] if found else None

    def resume(self, path=None) -> int:
        """Load model, optimizer, RNG and epoch from `path` (default: the latest checkpoint); returns the epoch."""
        path = pathlib.Path(path) if path is not None else self.latest_checkpoint()
        if path is None:
            return self.epoch
        self.load_checkpoint_state(load(path))
        if self.metrics_path is not None and self.metrics_path.is_file():
            rows = [json.loads(line) for line in self.metrics_path.read_text().splitlines() if line.strip()]
            self.history = [r for r in rows if r.get("epoch", 0) <= self.epoch]
        return self.epoch


def fit(model, optimizer, train_loader, epochs: int, **kwargs) -> list:
    """`Trainer(model, optimizer, train_loader, **kwargs).fit(epochs)`: the per-epoch metric rows (pass
    compile=False to run each step uncaptured)."""
    resume = kwargs.pop("resume", False)
    return Trainer(model, optimizer, train_loader, **kwargs).fit(epochs, resume=resume)
