"""`tinytorch profile` (not built yet)."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("profile", help="(not built yet)")
    p.set_defaults(func=run)


def run(args) -> int:
    raise SystemExit("tinytorch profile: not built yet")
