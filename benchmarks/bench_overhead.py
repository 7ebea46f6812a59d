"""Where the time of one cached training step goes: Python overhead against time inside kernels.

`python benchmarks/bench_overhead.py [--steps N] [--opt adam sgd] [--backend numpy llvm] [--clock wall cpu]`

An MLP 784-256-256-10 at batch 128 (nn.Linear/ReLU, F.cross_entropy, optim.Adam or SGD with momentum) is
trained for a few warm-up steps (the compile happens there), then each measured step is split into phases:

  forward build    zero_grad + model(x) + cross_entropy: lazy nodes only
  backward build   loss.backward(): gradient nodes
  optim build      opt.step() up to its realize: the update (assign) nodes
  hazard scan      lazy.realize's own work: toposort, assigned buffers, live readers of written state
  key + lookup     compiler.realizer.plan: linearize (toposort + structural key) and the cache lookup
  realize misc     compiler.realizer.realize around plan and run: input arrays, storing the results
  run python       Program.run minus the time inside kernels (its timing hooks add ~0.5 us a kernel)
  run kernels      sum of per-kernel times (Program.run(timed=True): the runner's kernel_s)
  settle           lazy._settle: realized tensors become leaves, assigns the next buffer version

The phases are measured by wrapping those functions (a few microseconds each); "step total" is a separate,
unwrapped pass. `--clock cpu` times the phases in this thread's CPU time (`time.thread_time`), which other
processes on a busy machine disturb far less than wall time; it cannot split a run into Python and kernels
(kernels also run on worker threads), so it shows "run (this thread)" instead. The same step under `tinytorch.compile` (captured: traced, then replayed without building a
graph) is timed unwrapped, and again with kernel timing on, to give its Python overhead: step time minus
the time inside kernels. PyTorch eager (2 threads) runs the same model for the reference. All numbers are
medians over the measured steps, in milliseconds.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch import lazy, nn
from tinytorch.compiler import program, realizer
from tinytorch.optim import optimizer as optim_mod

import harness  # benchmarks/, next to this file

BATCH, SIZES = 128, (784, 256, 256, 10)
NOW = time.perf_counter  # --clock cpu: time.thread_time


class Clock:
    """Per-step accumulators for named phases, filled by wrapped functions."""

    def __init__(self):
        self.acc, self.rows = {}, []

    def add(self, name, dt):
        self.acc[name] = self.acc.get(name, 0.0) + dt

    def end_step(self):
        self.rows.append(self.acc)
        self.acc = {}

    def median_ms(self, name):
        return statistics.median(r.get(name, 0.0) for r in self.rows) * 1e3


@contextlib.contextmanager
def timed_attr(clock, owner, attr, name):
    """Replace owner.attr by a wrapper that adds its wall time to `name`; restore it afterwards."""
    fn = getattr(owner, attr)

    def wrapper(*a, **k):
        t = NOW()
        try:
            return fn(*a, **k)
        finally:
            clock.add(name, NOW() - t)
    setattr(owner, attr, wrapper)
    try:
        yield
    finally:
        setattr(owner, attr, fn)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((BATCH, SIZES[0])).astype(np.float32), rng.integers(0, SIZES[-1], BATCH)


def _tt_model(opt_name):
    tt.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(SIZES, SIZES[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(SIZES) - 2 else [])
    model = nn.Sequential(*layers)
    opt = tt.optim.Adam(model.parameters(), lr=1e-3) if opt_name == "adam" else \
        tt.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    return model, opt


def tinytorch_phases(opt_name, steps):
    xa, ya = _data()
    x, y = tt.tensor(xa), tt.tensor(ya)
    model, opt = _tt_model(opt_name)
    clock = Clock()
    captured = []

    def step(split):
        t = NOW()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        t1 = NOW()
        loss.backward()
        t2 = NOW()
        opt.step()  # with split: builds the update, the realize is captured
        t3 = NOW()
        if split:
            lazy.realize(*captured)
            captured.clear()
            clock.add("forward build", t1 - t)
            clock.add("backward build", t2 - t1)
            clock.add("optim build", t3 - t2)
        return loss

    for _ in range(5):  # compile and settle the cache
        step(False)
    compiles = tt.stats()["compiles"]
    total = []
    for _ in range(steps):
        t = NOW()
        step(False)
        total.append(NOW() - t)

    run = program.Program.run

    def timed_run(self, arrays, timed=False):
        t = NOW()
        out = run(self, arrays, timed=NOW is time.perf_counter)
        clock.add("_run", NOW() - t)
        if NOW is time.perf_counter:
            clock.add("run kernels", sum(self.runner.kernel_s))
        clock.add("kernels per step", len(self.kernels))
        return out

    with contextlib.ExitStack() as st:
        st.enter_context(timed_attr(clock, lazy, "realize", "_lazy_realize"))
        st.enter_context(timed_attr(clock, lazy.C, "realize", "_c_realize"))
        st.enter_context(timed_attr(clock, realizer, "plan", "key + lookup"))
        st.enter_context(timed_attr(clock, lazy, "_settle", "settle"))
        program.Program.run = timed_run
        optim_mod.realize = lambda *ts: captured.extend(ts)
        try:
            for _ in range(steps):
                step(True)
                clock.end_step()
        finally:
            optim_mod.realize = lazy.realize
            program.Program.run = run
    for r in clock.rows:
        r["hazard scan"] = r["_lazy_realize"] - r["_c_realize"] - r.get("settle", 0.0)
        r["realize misc"] = r["_c_realize"] - r["key + lookup"] - r["_run"]
        r["run python"] = r["_run"] - r.get("run kernels", 0.0)
    assert tt.stats()["compiles"] == compiles, f"a measured step recompiled: {tt.stats()}"
    return clock, statistics.median(total) * 1e3


def captured_times(opt_name, steps):
    """Median ms of a captured step: (unwrapped total, total with kernel timing on, time inside kernels)."""
    xa, ya = _data()
    x, y = tt.tensor(xa), tt.tensor(ya)
    model, opt = _tt_model(opt_name)

    def train_step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    step = tt.compile(train_step)
    for _ in range(5):
        step(x, y)
    total, timed_total, kernels = [], [], []
    for _ in range(steps):
        t = NOW()
        step(x, y)
        total.append(NOW() - t)
    run, acc = program.Program.run, [0.0]

    def timed_run(self, arrays, timed=False):
        out = run(self, arrays, timed=True)
        acc[0] += sum(self.runner.kernel_s)
        return out
    program.Program.run = timed_run
    try:
        for _ in range(steps):
            acc[0] = 0.0
            t = NOW()
            step(x, y)
            timed_total.append(NOW() - t)
            kernels.append(acc[0])
    finally:
        program.Program.run = run
    assert step.replays >= 2 * steps, "the captured step did not replay"
    return tuple(statistics.median(v) * 1e3 for v in (total, timed_total, kernels))


def torch_phases(opt_name, steps):
    import torch
    torch.set_num_threads(harness.THREADS)
    torch.manual_seed(0)
    xa, ya = _data()
    x, y = torch.from_numpy(xa), torch.from_numpy(ya)
    layers = []
    for i, (a, b) in enumerate(zip(SIZES, SIZES[1:])):
        layers += [torch.nn.Linear(a, b)] + ([torch.nn.ReLU()] if i < len(SIZES) - 2 else [])
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3) if opt_name == "adam" else \
        torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    clock, total = Clock(), []
    for i in range(5 + steps):
        t = NOW()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        t1 = NOW()
        loss.backward()
        t2 = NOW()
        opt.step()
        t3 = NOW()
        if i >= 5:
            clock.add("forward", t1 - t)
            clock.add("backward", t2 - t1)
            clock.add("optim step", t3 - t2)
            clock.end_step()
            total.append(t3 - t)
    return clock, statistics.median(total) * 1e3


TT_PHASES = ("forward build", "backward build", "optim build", "hazard scan", "key + lookup", "realize misc",
             "run python", "settle", "run kernels")
TORCH_PHASES = ("forward", "backward", "optim step")


def report(opt_name, steps, backend="numpy") -> str:
    tt.set_backend(backend)
    clock, total = tinytorch_phases(opt_name, steps)
    cap_total, cap_timed, cap_kernels = captured_times(opt_name, steps)
    tclock, ttotal = torch_phases(opt_name, steps)
    cpu = NOW is not time.perf_counter
    phases = [p for p in TT_PHASES if not (cpu and p == "run kernels")]
    python = sum(clock.median_ms(p) for p in phases if p != "run kernels" and not (cpu and p == "run python"))
    lines = [f"== MLP {'-'.join(map(str, SIZES))} batch {BATCH}, {opt_name}, medians of {steps} steps (ms"
             f"{', cpu time of this thread' if cpu else ''})",
             f"{f'tinytorch compiled ({backend})':<28}{'ms':>8}"]
    lines += [f"  {'run (this thread)' if cpu and p == 'run python' else p:<26}{clock.median_ms(p):>8.3f}"
              for p in phases]
    lines += [f"  {'kernels per step':<26}{clock.median_ms('kernels per step') / 1e3:>8.0f}"]
    lines += [f"  {'sum of python phases' + (' (no run)' if cpu else ''):<26}{python:>8.3f}",
              f"  {'step total (unwrapped)':<26}{total:>8.3f}",
              f"{f'tinytorch captured ({backend})':<28}",
              f"  {'step total (unwrapped)':<26}{cap_total:>8.3f}"]
    if not cpu:  # kernel times are wall times: they split only a wall-clock step
        lines += [f"  {'run kernels':<26}{cap_kernels:>8.3f}",
                  f"  {'python (timed - kernels)':<26}{cap_timed - cap_kernels:>8.3f}"]
    lines += [f"{'pytorch eager (2 threads)':<28}"]
    lines += [f"  {p:<26}{tclock.median_ms(p):>8.3f}" for p in TORCH_PHASES]
    lines += [f"  {'step total':<26}{ttotal:>8.3f}"]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--opt", nargs="*", default=["adam", "sgd"], choices=["adam", "sgd"])
    ap.add_argument("--backend", nargs="*", default=["numpy", "llvm"], choices=list(program.BACKENDS))
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = ap.parse_args(argv)
    global NOW
    NOW = time.thread_time if args.clock == "cpu" else time.perf_counter
    harness.pin_threads()
    for backend in args.backend:
        for name in args.opt:
            print(report(name, args.steps, backend))


if __name__ == "__main__":
    main()
