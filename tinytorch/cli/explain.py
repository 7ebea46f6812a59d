"""`tinytorch explain` (not built yet)."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("explain", help="(not built yet)")
    p.set_defaults(func=run)


def run(args) -> int:
    raise SystemExit("tinytorch explain: not built yet")
