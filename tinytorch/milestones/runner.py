"""Run a milestone: train each stage with a progress bar and a line per epoch, checkpoint every epoch, resume an
interrupted run, and append the final figures to the results file once.

Layout under OUT/RUN (RUN is the milestone's name, plus the dataset when it is not the default, plus
"-quick"): one folder per stage holding `epoch_NNNN.npz` checkpoints (model, optimizer, scheduler, epoch,
tinytorch's RNG, the augmentations' generators; written by `tinytorch.save`: temp file, then rename) and
`metrics.jsonl`; and `done.json`, the record appended to the results file. Rerunning the same command
continues from the latest checkpoint (a finished stage is not trained again), or, when `done.json` says the
run already finished with these epochs, only reports it: a resumed run appends its result exactly once.
Wall time is the training and evaluation time of every epoch, summed across resumes.
"""
from __future__ import annotations

import datetime
import json
import math
import pathlib
import re
import shutil
import statistics
import time

from ..backend import get_backend
from ..creation import manual_seed
from ..train import Trainer
from . import provenance, results, transformer
from .data import CIFAR_NOTE
from .registry import VAL_LOSS, Milestone
from .stage import Settings, Stage

QUICK_EPOCHS = 2


class ScheduleMismatch(ValueError):
    """A checkpoint's learning-rate schedule was planned for another number of epochs."""


class StageTrainer(Trainer):
    """`Trainer` plus a scheduler stepped after every batch, the augmentations' random state in the checkpoint,
    and a memory sample per step."""

    def __init__(self, stage: Stage, directory: pathlib.Path, epochs: int, progress: bool, memory):
        super().__init__(stage.model, stage.optimizer, stage.train, stage.test, loss_fn=stage.loss_fn,
                         metrics_path=directory / "metrics.jsonl", checkpoint_dir=directory, progress=progress,
                         compile=stage.compile)
        self.stage, self.epochs, self.memory = stage, epochs, memory

    def train_epoch(self) -> dict:
        self.step_s = []
        row = super().train_epoch()
        return {**row, "step_ms": round(1e3 * statistics.median(self.step_s), 2) if self.step_s else None}

    def train_step(self, x, y):
        t0 = time.perf_counter()
        out = super().train_step(x, y)
        if self.stage.scheduler is not None:
            self.stage.scheduler.step()
        self.step_s.append(time.perf_counter() - t0)
        self.memory.sample()
        return out

    def checkpoint_state(self) -> dict:
        sched = self.stage.scheduler
        return {**super().checkpoint_state(), "planned_epochs": self.epochs,
                "scheduler": sched.state_dict() if sched is not None else None,
                "augment": [t.rng.bit_generator.state for t in self.stage.augment]}

    def load_checkpoint_state(self, state: dict) -> None:
        if self.stage.scheduler is not None and state["planned_epochs"] != self.epochs:
            raise ScheduleMismatch(
                f"{self.checkpoint_dir}: this run's learning-rate schedule was planned for {state['planned_epochs']} "
                f"epochs, not {self.epochs}; rerun with --epochs {state['planned_epochs']} to continue it, or add "
                f"--fresh to start over")
        super().load_checkpoint_state(state)
        if self.stage.scheduler is not None:
            self.stage.scheduler.load_state_dict(state["scheduler"])
        for t, rng_state in zip(self.stage.augment, state["augment"]):
            t.rng.bit_generator.state = rng_state


def run_name(m: Milestone, settings: Settings) -> str:
    name = m.name if settings.dataset == m.default_dataset else f"{m.name}-{settings.dataset}"
    return name + ("-quick" if settings.quick else "")


def settings_for(m: Milestone, dataset=None, root=None, download=False, quick=False, epochs=None, seed=0):
    if dataset is not None and dataset not in m.datasets:
        raise ValueError(f"{m.name} trains on {' or '.join(m.datasets)}, not {dataset!r}")
    if epochs is not None and epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {epochs}")
    default = QUICK_EPOCHS if quick and m.epochs is not None else m.epochs
    return Settings(dataset or m.default_dataset, root, download, quick, epochs or default, seed)


def run(m: Milestone, settings: Settings, out, results_path=None, fresh: bool = False, progress: bool = True,
        echo=print, on_epoch=None) -> dict:
    """Train `m` (or continue it) and append its record to `results_path` (default OUT/results.jsonl) once.
    `on_epoch(stage_name, row)` is called after each epoch's checkpoint is written."""
    out = pathlib.Path(out)
    run_dir = out / run_name(m, settings)
    results_path = pathlib.Path(results_path) if results_path else out / "results.jsonl"
    if fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    done = run_dir / "done.json"
    if done.is_file():
        record = json.loads(done.read_text())
        if record.get("epochs_asked") == settings.epochs:
            echo(f"{m.name}: already finished ({_summary(record)}); its result is in {results_path}. "
                 f"Add --fresh to train it again.")
            return record
    memory = provenance.PeakMemory()
    manual_seed(settings.seed)  # the same initial weights for a run and its resumption
    echo(f"{m.name} ({m.year}): {m.what}; {settings.dataset}, "
         f"{'the 20-minute budget' if settings.epochs is None else f'{settings.epochs} epochs'}, backend "
         f"{get_backend()}{', quick' if settings.quick else ''}; checkpoints in {run_dir}")
    if m.stages is None:
        record = _run_transformer(m, settings, run_dir, progress, echo)
    else:
        record = _run_stages(m, settings, run_dir, progress, echo, on_epoch, memory)
    record.update(milestone=m.name, year=m.year, dataset=settings.dataset, metric=m.metric,
                  seed_figure=m.seed_figure, target=m.target, reached=_reached(m, record["figure"]),
                  epochs_asked=settings.epochs, backend=get_backend(), peak_mb=round(memory.peak_mb, 1),
                  version=provenance.version(), commit=provenance.commit(), quick=settings.quick,
                  finished=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    if settings.dataset == "cifar10":
        record["note"] = CIFAR_NOTE
    results.append(results_path, record)
    done.parent.mkdir(parents=True, exist_ok=True)
    done.write_text(json.dumps(record))
    echo(f"{m.name}: {_summary(record)}; appended to {results_path}")
    return record


def _run_stages(m, settings, run_dir, progress, echo, on_epoch, memory) -> dict:
    figures, losses, wall = {}, {}, 0.0
    stages = m.stages(settings)
    for i, stage in enumerate(stages):
        directory = run_dir / f"{i}-{re.sub(r'[^a-z0-9]+', '-', stage.name.lower()).strip('-')}"
        trainer = StageTrainer(stage, directory, settings.epochs, progress, memory)
        if trainer.resume():
            echo(f"  [{stage.name}] resumed after epoch {trainer.epoch}")

        def line(row, stage=stage):
            echo(f"  [{stage.name}] epoch {row['epoch']}/{settings.epochs}  loss {row['train_loss']:.4f}  "
                 f"train acc {row['train_acc']:.4f}  test acc {row['val_acc']:.4f}  "
                 f"{row['train_s']:.1f}s train ({row['step_ms']:.0f} ms a step, median) + {row['val_s']:.1f}s test")
            if on_epoch is not None:
                on_epoch(stage.name, row)
        trainer.fit(settings.epochs, on_epoch=line)
        figures[stage.name] = trainer.history[-1]["val_acc"]
        losses[stage.name] = [r["train_loss"] for r in trainer.history]
        wall += sum(r["train_s"] + r["val_s"] for r in trainer.history)
    return {"figure": figures[stages[-1].name], "stages": figures, "train_loss": losses, "epochs": settings.epochs,
            "wall_s": round(wall, 1), "step_ms": trainer.history[-1].get("step_ms")}


def _run_transformer(m, settings, run_dir, progress, echo) -> dict:
    args = transformer.parse([])
    for k, v in (transformer.QUICK if settings.quick else transformer.BASE).items():
        setattr(args, k, v)
    args.out, args.resume, args.no_progress, args.seed = str(run_dir), True, not progress, settings.seed
    args.data, args.download = (str(settings.root) if settings.root else None), settings.download
    if settings.quick:
        args.max_steps, args.eval_every, args.eval_batches, args.warmup = transformer.QUICK_STEPS, 10, 2, 5
        args.sample_chars = 40
    elif settings.epochs is not None:
        chars = len(transformer.find_data(settings.root, settings.download).read_text(encoding="utf-8"))
        args.max_steps = math.ceil(settings.epochs * chars * transformer.TRAIN_SPLIT / (args.batch * args.block_size))
    out = transformer.train(args, on_line=echo)
    return {"figure": out["val_loss"], "epochs": round(out["epochs"], 2), "steps": out["steps"],
            "wall_s": round(out["elapsed"], 1), "train_loss": {"steps": out["losses"]}}


def _reached(m: Milestone, figure) -> bool | None:
    if m.target is None or figure is None:
        return None
    return figure <= m.target if m.metric == VAL_LOSS else figure >= m.target


def _summary(record: dict) -> str:
    return (f"{results.figure(record)} {record['metric']} after {record['epochs']:g} epochs, "
            f"{results.wall(record['wall_s'])}")
