"""A student's workspace: the framework copied with one module's regions stubbed, graded by its own tests.

`start` copies the repository (the three packages, tests, chapters, docs, examples, benchmarks) into a folder
and stubs module N's regions; on a folder that is already a workspace it only stubs module N's regions, so the
student's earlier modules stay as they wrote them. `check` runs module N's grading tests on the workspace's code
in a subprocess (boot.py makes sure the workspace's tinytorch is the one imported) and reports each test with
a hint when it fails. `solution` puts the reference back into a region.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from . import regions as R
from .modules import module

ROOT = pathlib.Path(__file__).resolve().parents[2]
COPIED = ("tinytorch", "compiler", "runtime", "tests", "chapters", "docs", "examples", "benchmarks",
          "pyproject.toml", "README.md")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache")
STATE = ".course.json"  # marks a folder as a workspace and records the module it was last started for
BOOT = pathlib.Path(__file__).with_name("boot.py")


def reference_regions() -> dict:
    return R.find_all(ROOT)


def _module_regions(number: int, root=ROOT) -> list:
    found = R.find_all(root)
    m = module(number)
    missing = [name for name in m.regions if name not in found]
    if missing:
        raise SystemExit(f"tinytorch course: module {number}'s regions {', '.join(missing)} are not marked in "
                         f"{root}; was the workspace made by `tinytorch course start`?")
    return [found[name] for name in m.regions]


def start(number: int, dest) -> list:
    """Make (or advance) the workspace at `dest` for module `number`; returns the regions stubbed."""
    dest = pathlib.Path(dest).resolve()
    module(number)
    if not (dest / STATE).exists():
        if dest.exists() and any(dest.iterdir()):
            raise SystemExit(f"tinytorch course start: {dest} is not empty and not a course workspace; "
                             f"give an empty or new folder")
        dest.mkdir(parents=True, exist_ok=True)
        for name in COPIED:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, dest / name, ignore=IGNORED)
            elif src.exists():
                shutil.copy2(src, dest / name)
    stubbed = _module_regions(number)
    for r in stubbed:
        R.stub(dest, r)
    (dest / STATE).write_text(json.dumps({"module": number}) + "\n")
    return stubbed


def _existing(workspace, command: str) -> pathlib.Path:
    """The workspace folder, or SystemExit saying how to make one when it holds no framework."""
    workspace = pathlib.Path(workspace).resolve()
    if not (workspace / "tinytorch").is_dir():
        raise SystemExit(f"tinytorch course {command}: {workspace} holds no tinytorch/ folder, so it is not a course "
                         f"workspace; make one with `tinytorch course start N {workspace}`, or give the checkout "
                         f"itself (`.` from its root) to grade the reference")
    return workspace


def solution(number: int, dest, region: str | None = None) -> list:
    """Restore the reference code of module `number`'s regions (or just `region`) in the workspace."""
    module(number)
    dest = _existing(dest, "solution")
    chosen = _module_regions(number)
    if region is not None:
        chosen = [r for r in chosen if r.name == region]
        if not chosen:
            raise SystemExit(f"tinytorch course solution: module {number} has no region {region}; its regions "
                             f"are {', '.join(module(number).regions)}")
    for r in chosen:
        R.restore(dest, r, ROOT)
    return chosen


@dataclasses.dataclass
class Outcome:
    test: str
    outcome: str  # passed, failed, skipped
    message: str
    hint: str


@dataclasses.dataclass
class Report:
    module: int
    workspace: str
    imported: str | None
    outcomes: list
    stubs: list  # names of regions still holding their stub
    exit: int
    output: str
    runs: bool = True  # the short training run was asked for

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and all(o.outcome != "failed" for o in self.outcomes) and self.exit in (0, 5)

    def score(self) -> tuple:
        """(points earned, points possible): a grading test earns its points when every case of it ran and
        none failed; the short run is worth one point."""
        m = module(self.module)
        grades = [(g.test, g.points) for g in m.grading] + ([(m.run, 1)] if m.run and self.runs else [])
        got = 0
        for test, points in grades:
            mine = [o for o in self.outcomes if _owner(o.test, [test]) == test]
            if mine and all(o.outcome != "failed" for o in mine):
                got += points
        return got, sum(p for _, p in grades)

    def text(self) -> str:
        m = module(self.module)
        got, total = self.score()
        lines = [f"module {m.number}: {m.title} -- workspace {self.workspace}"]
        for o in self.outcomes:
            lines.append(f"  {o.outcome.upper():7} {o.test}")
            if o.outcome == "failed":
                lines.append(f"          error: {o.message}")
                lines.append(f"          hint:  {o.hint}")
        if not self.outcomes:
            lines.append("  no test ran: pytest's output follows")
            lines.append(self.output[-3000:])
        for name in self.stubs:
            lines.append(f"  region {name} still holds its stub: write it (chapter {m.chapter})")
        lines.append(f"{'PASSED' if self.ok else 'FAILED'}: {got}/{total} points")
        return "\n".join(lines)


def check(number: int, workspace) -> Report:
    """Run module `number`'s grading tests (and its short run) on the workspace's code."""
    return check_many([number], workspace)[number]


def check_many(numbers, workspace, runs=True) -> dict:
    """{number: Report} for several modules, their tests run in one subprocess (one start-up, not one each);
    `runs=False` leaves out the short training runs."""
    chosen = [module(n) for n in numbers]
    workspace = _existing(workspace, "check")
    found = R.find_all(workspace)
    env = dict(os.environ)
    data = ROOT.parent / "shared" / "datasets"
    if "TINYTORCH_DATA" not in env and data.is_dir():
        env["TINYTORCH_DATA"] = str(data)
    tests = list(dict.fromkeys(t for m in chosen for t in (m.tests() if runs else [g.test for g in m.grading])))
    with tempfile.TemporaryDirectory() as tmp:
        results = pathlib.Path(tmp) / "results.json"
        proc = subprocess.run([sys.executable, str(BOOT), str(workspace), str(results), *tests], env=env,
                              cwd=workspace, capture_output=True, text=True)
        got = json.loads(results.read_text()) if results.exists() else {"exit": proc.returncode, "results": {}}
    reports = {}
    for m in chosen:
        hints = {g.test: g.hint for g in m.grading}
        if m.run and runs:
            hints[m.run] = "the short training run: its loss must fall as the reference's does"
        outcomes = [Outcome(node, r["outcome"], r["message"], hints[_owner(node, hints)])
                    for node, r in got["results"].items() if _owner(node, hints) in hints]
        stubs = [n for n in m.regions if n in found and R.current_body(workspace, found[n]) == found[n].stub_lines()]
        reports[m.number] = Report(m.number, str(workspace), got.get("tinytorch"), outcomes, stubs, got["exit"],
                                   proc.stdout + proc.stderr, runs)
    return reports


def _owner(node, tests):
    """The grading test a node id ran for: itself, or the function whose parameter case it is."""
    return next((t for t in tests if node == t or node.startswith(t + "[")), node)
