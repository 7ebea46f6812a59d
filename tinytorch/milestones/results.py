"""The results file: one JSON object per finished milestone run (JSON lines, appended, never rewritten), and
the table `tinytorch milestones results` prints from it."""
from __future__ import annotations

import json
import os
import pathlib

from .data import CIFAR_NOTE

COLUMNS = ("milestone", "dataset", "figure", "seed's figure", "epochs", "wall", "ms/step", "backend", "peak MB",
           "version", "commit", "finished")


def append(path, record: dict) -> None:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read(path) -> list:
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results file at {path}: run a milestone first (`tinytorch milestones run NAME`), "
                                f"or pass --results PATH")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}, line {n}: not a JSON object ({e}); remove or fix that line") from None
    return rows


def figure(record: dict) -> str:
    value = record.get("figure")
    if value is None:
        return "-"
    if record.get("metric") == "validation loss":
        return f"{value:.3f} nats/char"
    return f"{100 * value:.2f}%" + (" *" if record.get("dataset") == "cifar10" else "")


def wall(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def cells(record: dict) -> tuple:
    return (record["milestone"] + (" (quick)" if record.get("quick") else ""), record.get("dataset", "-"),
            figure(record), record.get("seed_figure", "-"), f"{record.get('epochs', 0):g}",
            wall(record.get("wall_s", 0.0)), f"{record['step_ms']:.0f}" if record.get("step_ms") else "-",
            record.get("backend", "-"), f"{record.get('peak_mb', 0):.0f}",
            record.get("version", "-"), record.get("commit") or "-", record.get("finished", "-"))


def table(records) -> str:
    if not records:
        return "no results yet"
    rows = [COLUMNS] + [cells(r) for r in records]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if any(r.get("dataset") == "cifar10" for r in records):
        lines.append(f"* {CIFAR_NOTE}")
    return "\n".join(lines)
