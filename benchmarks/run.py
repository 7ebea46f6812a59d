"""Run benchmark workloads and print the table: `python benchmarks/run.py [name ...] [--repeats N]`."""
from __future__ import annotations

import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from harness import measure, table  # noqa: E402
from workloads import WORKLOADS  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("names", nargs="*", default=list(WORKLOADS), help=f"any of {', '.join(WORKLOADS)}")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    rows = [measure(WORKLOADS[n](), args.repeats) for n in args.names]
    print(table(rows))


if __name__ == "__main__":
    main()
