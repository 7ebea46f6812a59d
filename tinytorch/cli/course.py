"""`tinytorch course list | start N [DIR] | check N [DIR] | solution N [REGION] [DIR] | export --nbgrader DIR`:
the course cut from the framework's own source (tinytorch/course/)."""
from __future__ import annotations

import argparse

from ..course import modules, nbgrader_export, workspace

DEFAULT_DIR = "tinytorch-course"

EPILOG = """examples:
  tinytorch course list                       the twenty modules and which are ready
  tinytorch course start 1 my-course          a workspace with module 1's regions stubbed
  tinytorch course check 1 my-course          grade it with the framework's own tests (hints on failure)
  tinytorch course solution 1 m01.broadcast_two my-course    restore one region's reference code
  tinytorch course export --nbgrader nb       the NBGrader source tree of the complete modules"""


def add_parser(sub) -> None:
    p = sub.add_parser("course", help="the twenty-module course: start a workspace, check it, see a solution",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="the modules, their exercise regions and status").set_defaults(func=run_list)
    s = actions.add_parser("start", help="write a workspace with module N's regions stubbed")
    s.add_argument("number", type=int)
    s.add_argument("dir", nargs="?", default=DEFAULT_DIR)
    s.set_defaults(func=run_start)
    c = actions.add_parser("check", help="run module N's grading tests on the workspace")
    c.add_argument("number", type=int)
    c.add_argument("dir", nargs="?", default=DEFAULT_DIR)
    c.set_defaults(func=run_check)
    o = actions.add_parser("solution", help="restore the reference code of module N's regions (or one region)")
    o.add_argument("number", type=int)
    o.add_argument("rest", nargs="*", metavar="[REGION] [DIR]")
    o.set_defaults(func=run_solution)
    e = actions.add_parser("export", help="write the NBGrader source tree of the complete modules")
    e.add_argument("--nbgrader", required=True, metavar="DIR")
    e.set_defaults(func=run_export)


def run_list(args) -> int:
    for m in modules.MODULES:
        print(f"{m.number:2}  {m.title:46} {', '.join(m.regions)}")
    return 0


def run_start(args) -> int:
    stubbed = workspace.start(args.number, args.dir)
    m = modules.module(args.number)
    print(f"workspace {args.dir}: module {m.number} ({m.title}); write these regions:")
    for r in stubbed:
        print(f"  {r.name:22} {r.path}:{r.begin + 1}")
    print(f"read {m.chapter}, then run: tinytorch course check {m.number} {args.dir}")
    return 0


def run_check(args) -> int:
    report = workspace.check(args.number, args.dir)
    print(report.text())
    return 0 if report.ok else 1


def run_solution(args) -> int:
    rest = list(args.rest)
    region = rest.pop(0) if rest and "." in rest[0] and rest[0].startswith("m") else None
    target = rest[0] if rest else DEFAULT_DIR
    for r in workspace.solution(args.number, target, region):
        print(f"restored {r.name} in {target}/{r.path}")
    return 0


def run_export(args) -> int:
    for path in nbgrader_export.export(args.nbgrader):
        print(path)
    return 0
