"""`python -m tinytorch.course.thinking N`: the figure of module N's "ML Systems Thinking" section, measured on
the student's machine (medians of a few runs; the numbers are the machine's, the ratios are the lesson).

Each figure lives in its own file, tinytorch/course/figures/mNN.py, whose `figure()` prints it."""
from __future__ import annotations

import importlib
import pkgutil
import sys

from . import figures


def available() -> list:
    """The module numbers that have a figure file."""
    return sorted(int(m.name[1:]) for m in pkgutil.iter_modules(figures.__path__) if m.name[:1] == "m"
                  and m.name[1:].isdigit())


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    number = int(argv[0]) if argv and argv[0].isdigit() else 0
    if number not in available():
        raise SystemExit(f"python -m tinytorch.course.thinking N: N is one of {available()} (the modules whose "
                         f"figure is built), got {argv[0] if argv else 'nothing'}")
    importlib.import_module(f"{figures.__name__}.m{number:02d}").figure()
    return 0


if __name__ == "__main__":
    sys.exit(main())
