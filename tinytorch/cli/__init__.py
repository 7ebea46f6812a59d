"""The `tinytorch` command: one module per subcommand, each with `add_parser(subparsers)` that registers it and
sets `func(args) -> int` (the exit status). `main` is the console script (and `python -m tinytorch`)."""
from .main import main

__all__ = ["main"]
