"""TINYTORCH_DEBUG: what the compiler tells you while it works, read from the environment at each realize.

1: one line per realize (kernels, compile ms or "cached", run ms, arena peak bytes)
2: and each kernel's time
3: and the IR before and after the passes (on compile)
4: and the generated code of every kernel (for numpy: its op list)
"""
from __future__ import annotations

import sys

from ..runtime import config


def level() -> int:
    return config.get("TINYTORCH_DEBUG")


def _out(line: str) -> None:
    print(line, file=sys.stderr)


def compiled(prog) -> None:
    lvl = level()
    if lvl >= 3:
        _out("IR before:\n" + prog.listing)
        _out("passes:\n" + "\n".join(r.row() for r in prog.passes))
        _out("IR after:\n" + prog.listing_after)
    if lvl >= 4:
        for low in prog.lowered:
            _out("\n".join(low.code))


def ran(prog, cached: bool) -> None:
    lvl = level()
    if lvl < 1:
        return
    comp = "cached" if cached else f"compile {prog.compile_s * 1e3:.1f} ms"
    cost = prog.lowering_cost
    if cost and not cached:
        comp += (f" (llvm: emit {cost['emit_s'] * 1e3:.1f} ms, object {cost['object']} "
                 f"{cost['compile_s'] * 1e3:.1f} ms)")
    runner = prog.runner
    _out(f"realize: {len(prog.kernels)} kernels, {comp}, run {runner.last_run_s * 1e3:.2f} ms, "
         f"arena peak {prog.memory_plan.peak_bytes} B")
    if lvl >= 2:
        for k, low, s in zip(prog.kernels, prog.lowered, runner.kernel_s):
            _out(f"  {s * 1e3:8.3f} ms  {k.summary(low)}")
