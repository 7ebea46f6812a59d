"""The profiler: `with tinytorch.profile() as prof:` records every kernel run of every Program inside the block.

It watches the runtime's timing hooks (`runtime.timing.kernel_runs`): while it watches, each runner times
each kernel (a native Program runs each stage as a call of its own then, so every second goes to the kernel
it was spent in; a kernel of several stages, a matmul and its epilogue say, is one run of `calls` calls).
When the block ends each run is matched with its Program (from the Program cache) for the kernel's fused ops,
FLOPs and bytes; a Program evicted meanwhile keeps its kernel names and counts no FLOPs or bytes. A timed
call that runs several kernels at once (none does today) is one run of all of them: its time is not split.

`prof.table(sort_by=...)` sums the runs per kernel; `prof.export_chrome_trace(path)` writes the Chrome trace
event format (Perfetto, chrome://tracing): one complete ("X") event per kernel run.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

from .compiler.realizer import cached_programs
from .runtime import timing

US = 1e6  # the trace format counts microseconds


@dataclass(frozen=True)
class KernelRun:
    """One run of one kernel (or of the kernels one call ran together): which (`program` label, `kernel`, "k3"),
    what it fuses, when, how long, how much."""
    program: str
    kernel: str
    ops: str  # the fused ops, "matmul+add+maximum"
    description: str  # "kernel 3 (matmul -> float32[64, 10])"
    start_s: float  # since the profile began
    seconds: float
    calls: int  # timed calls it took (a native kernel may run as several stages)
    flops: int
    bytes_read: int
    bytes_written: int
    thread: int

    @property
    def key(self) -> str:
        return f"{self.program}:{self.kernel}"

    @property
    def bytes(self) -> int:
        return self.bytes_read + self.bytes_written


def rate(amount: float, seconds: float, unit: float = 1e9) -> float:
    """`amount` per second in units of `unit` (GFLOP/s, GB/s); 0 for no time."""
    return amount / seconds / unit if seconds > 0 else 0.0


@dataclass(frozen=True)
class KernelTotal:
    """A kernel's runs summed: the row of `Profile.table`."""
    key: str
    ops: str
    runs: int
    seconds: float
    flops: int
    bytes: int
    first_s: float

    @property
    def gflops(self) -> float:
        return rate(self.flops, self.seconds)

    @property
    def gbs(self) -> float:
        return rate(self.bytes, self.seconds)


SORT_KEYS = {"time": lambda t: -t.seconds, "runs": lambda t: -t.runs, "flops": lambda t: -t.flops,
             "bytes": lambda t: -t.bytes, "gflops": lambda t: -t.gflops, "gbs": lambda t: -t.gbs,
             "order": lambda t: t.first_s}


class Profile:
    """What `tinytorch.profile()` recorded: `runs` (KernelRun, in the order they ran), `programs` (label ->
    Program), `wall_s` (the block's wall time) and `kernel_s` (the time inside kernels)."""

    def __init__(self):
        self.runs: list = []
        self.programs: dict = {}
        self.wall_s = 0.0
        self._t0 = 0.0
        self._watch = None
        self._raw = None

    def __enter__(self) -> "Profile":
        self._watch = timing.kernel_runs()
        self._raw = self._watch.__enter__()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall_s = time.perf_counter() - self._t0
        self._watch.__exit__(*exc)
        self._collect(self._raw)
        self._raw = None
        return False

    def _collect(self, raw) -> None:
        by_exe = {id(p.executable): p for p in cached_programs()}
        labels = {}
        for run in raw:
            exe = run.runner.exe
            label = labels.get(id(exe))
            if label is None:
                label = labels[id(exe)] = f"p{len(labels)}"
                self.programs[label] = by_exe.get(id(exe))
            per = {}  # the kernels a call ran -> (first start, seconds, calls): a kernel's stages are one run
            for kernels, start, dt in run.calls:
                s, d, n = per.get(kernels, (start, 0.0, 0))
                per[kernels] = (min(s, start), d + dt, n + 1)
            for kernels, (start, dt, n) in per.items():
                self.runs.append(self._run(label, exe, kernels, start - self._t0, dt, n, run.thread))

    def _run(self, label, exe, kernels, start, seconds, calls, thread) -> KernelRun:
        """One KernelRun; a call that ran several kernels at once is one run of all of them (their figures
        summed, named "k3+k4"), since its time cannot be split between them."""
        prog = self.programs[label]
        ks = [prog.kernels[k] for k in kernels] if prog is not None else []
        return KernelRun(label, "+".join(f"k{k}" for k in kernels),
                         "|".join(k.op for k in ks) or "|".join(exe.kernel_names[k] for k in kernels),
                         "; ".join(exe.kernel_names[k] for k in kernels), start, seconds, calls,
                         sum(k.flops for k in ks), sum(k.bytes_read for k in ks), sum(k.bytes_written for k in ks),
                         thread)

    @property
    def kernel_s(self) -> float:
        return sum(r.seconds for r in self.runs)

    def totals(self, sort_by: str = "time") -> list:
        """One KernelTotal per kernel that ran, sorted by `sort_by` (one of SORT_KEYS)."""
        if sort_by not in SORT_KEYS:
            raise ValueError(f"profile table: cannot sort by {sort_by!r}; choose one of {', '.join(SORT_KEYS)}")
        # BEGIN EXERCISE m15.totals
        acc = {}
        for r in self.runs:
            t = acc.get(r.key)
            acc[r.key] = KernelTotal(r.key, r.ops, 1, r.seconds, r.flops, r.bytes, r.start_s) if t is None else \
                KernelTotal(t.key, t.ops, t.runs + 1, t.seconds + r.seconds, t.flops + r.flops, t.bytes + r.bytes,
                            t.first_s)
        return sorted(acc.values(), key=SORT_KEYS[sort_by])
        # END EXERCISE m15.totals

    def table(self, sort_by: str = "time", row_limit: int | None = None) -> str:
        """A printable table, one row per kernel (its runs summed), sorted by `sort_by`."""
        rows = self.totals(sort_by)
        total = self.kernel_s or 1.0
        lines = [f"{'kernel':<9} {'ops':<36} {'runs':>5} {'total ms':>9} {'mean ms':>8} {'%':>5} "
                 f"{'MFLOP':>9} {'MB':>8} {'GFLOP/s':>8} {'GB/s':>7}"]
        for t in rows[:row_limit]:
            lines.append(f"{t.key:<9} {t.ops:<36.36} {t.runs:>5} {t.seconds * 1e3:>9.3f} "
                         f"{t.seconds / t.runs * 1e3:>8.3f} {100 * t.seconds / total:>5.1f} {t.flops / 1e6:>9.2f} "
                         f"{t.bytes / 1e6:>8.2f} {t.gflops:>8.2f} {t.gbs:>7.2f}")
        if row_limit is not None and len(rows) > row_limit:
            lines.append(f"... {len(rows) - row_limit} more kernels")
        lines.append(f"{len(self.runs)} kernel runs of {len(rows)} kernels in {len(self.programs)} programs: "
                     f"{self.kernel_s * 1e3:.3f} ms in kernels of {self.wall_s * 1e3:.3f} ms wall")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def chrome_trace(self) -> dict:
        """The runs as Chrome trace events: one complete event per kernel run (ts and dur in microseconds)."""
        pid = os.getpid()
        events = [{"name": r.ops, "cat": "kernel", "ph": "X", "ts": r.start_s * US, "dur": r.seconds * US,
                   "pid": pid, "tid": r.thread,
                   "args": {"kernel": r.key, "description": r.description, "calls": r.calls, "flops": r.flops,
                            "bytes_read": r.bytes_read, "bytes_written": r.bytes_written}}
                  for r in self.runs]
        return {"traceEvents": events, "displayTimeUnit": "ms"}

    def export_chrome_trace(self, path) -> None:
        """Write `chrome_trace()` as JSON to `path`: open it in https://ui.perfetto.dev or chrome://tracing."""
        with open(path, "w") as f:
            json.dump(self.chrome_trace(), f)


def profile() -> Profile:
    """`with tinytorch.profile() as prof:` records every kernel run inside the block; then `print(prof.table())`."""
    return Profile()
