"""Command-line tools over the library, one module each, each a set of functions returning rows plus a thin
argparse layer (`add_arguments`, `run`, `main`) that the `tinytorch` command mounts too:
`python -m tinytorch.tools.memory ...` (optimizer state, gradient accumulation, the memory report of a step) and
`python -m tinytorch.tools.profile ...` (the profiler table and roofline of a step). Beside them, the jobs and
helpers the commands share: `train_mlp` (the MLP job of examples/train_mlp.py and `tinytorch demo`),
`step_graph` (one training step built lazily, and its summary), `models` (named models and optimizers) and
`checkout` (the folders beside the package in a checkout)."""
