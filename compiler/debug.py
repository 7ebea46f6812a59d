"""TINYTORCH_DEBUG: what the compiler tells you while it works, read from the environment at each realize.

1: one line per realize (kernels, compile ms or "cached", run ms, arena peak bytes)
2: and each kernel's time
3: and the IR before and after the passes (on compile)
4: and the generated code of every kernel (for numpy: its op list)
"""
from __future__ import annotations

import os
import sys


def level() -> int:
    try:
        return int(os.environ.get("TINYTORCH_DEBUG", "0") or 0)
    except ValueError:
        return 0


def _out(line: str) -> None:
    print(line, file=sys.stderr)


def compiled(prog) -> None:
    lvl = level()
    if lvl >= 3:
        _out("IR before:\n" + prog.listing)
        _out("passes:\n" + "\n".join(r.row() for r in prog.passes))
        _out("IR after:\n" + prog.listing_after)
    if lvl >= 4:
        for k in prog.kernels:
            _out("\n".join(k.code))


def ran(prog, cached: bool) -> None:
    lvl = level()
    if lvl < 1:
        return
    comp = "cached" if cached else f"compile {prog.compile_s * 1e3:.1f} ms"
    native = getattr(prog, "native", None)
    if native is not None and not cached:
        comp += (f" (llvm: emit {native.emit_s * 1e3:.1f} ms, "
                 f"{'object from disk cache' if native.loaded.from_disk else 'compile'} {native.compile_s * 1e3:.1f} ms)")
    _out(f"realize: {len(prog.kernels)} kernels, {comp}, run {prog.last_run_s * 1e3:.2f} ms, "
         f"arena peak {prog.memory_plan.peak_bytes} B")
    if lvl >= 2:
        for k, s in zip(prog.kernels, prog.kernel_s):
            _out(f"  {s * 1e3:8.3f} ms  {k.summary()}")
