"""CPU instructions per plain training step, counted by valgrind: the Python overhead, free of timing noise.

`python benchmarks/step_instructions.py [--opt adam sgd] [--steps 20]`  (needs `valgrind` on PATH)

Wall-clock timings on a shared machine move by 10-40% between runs; an instruction count does not. A child
process trains a small MLP (784-16-16-10 at batch 8, numpy backend, so the kernels are a small part and the
count is mostly Python: graph building, autograd, the optimizer's update, the hazard scan, the cache lookup
and dispatch) for 5 steps, then for 5 + N steps, each under `valgrind --tool=callgrind`; the difference over
N is the instructions of one cached step (import and the first compile cancel out). Compare two versions of
the code by running this in each. It prints a table and asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

CHILD = """
import sys
import numpy as np
import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch import nn
tt.set_backend("numpy")
tt.manual_seed(0)
rng = np.random.default_rng(0)
x, y = tt.tensor(rng.standard_normal((8, 784)).astype(np.float32)), tt.tensor(rng.integers(0, 10, 8))
model = nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 10))
opt = tt.optim.Adam(model.parameters(), lr=1e-3) if sys.argv[2] == "adam" else \\
    tt.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
for _ in range(int(sys.argv[1])):
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
"""
WARMUP = 5


def instructions(steps: int, opt: str) -> int:
    """Instructions valgrind counts for a child process that runs `steps` steps."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", CHILD,
           str(steps), opt]
    run = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, TINYTORCH_BACKEND="numpy"))
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode or not found:
        raise RuntimeError(f"valgrind run failed ({run.returncode}):\n{run.stderr[-2000:]}")
    return int(found.group(1))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--opt", nargs="*", default=["adam", "sgd"], choices=["adam", "sgd"])
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        sys.exit("step_instructions.py needs valgrind on PATH")
    print(f"{'optimizer':<12}{'M instructions per step':>26}")
    for opt in args.opt:
        per_step = (instructions(WARMUP + args.steps, opt) - instructions(WARMUP, opt)) / args.steps
        print(f"{opt:<12}{per_step / 1e6:>26.2f}", flush=True)


if __name__ == "__main__":
    main()
