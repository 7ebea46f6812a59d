"""Command-line tools over the library, one module each, each a set of functions returning rows plus a thin
argparse `main`: `python -m tinytorch.tools.memory ...` (optimizer state, gradient accumulation, the memory
report of a step) and `python -m tinytorch.tools.profile ...` (the profiler table and roofline of a step)."""
