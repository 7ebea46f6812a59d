"""What the compiler does to whole training steps: kernels, memory plan and pass-by-pass counts.

For each model workload, run two steps (compiled-numpy), take the Program the second step ran (the one
every later step reuses), and report its kernel count, planned arena peak against the bytes with no
reuse and the liveness lower bound (tinytorch.plan's memory_plan), and each pass's count before ->
after (the rows tinytorch.explain prints). `python3 benchmarks/run.py --plans [--markdown]`.
"""
from __future__ import annotations

import tinytorch as tt
from harness import backend, captured_programs

DEFAULT = ("mlp", "lenet", "gpt")


def program_of(w, backend_name="numpy"):
    """The Program(s) one step of workload `w` runs once warm."""
    state = w.setup()
    with backend(backend_name):
        tt.realize(*[o for o in w.step(state) if isinstance(o, tt.Tensor)])
        progs: list = []
        with captured_programs(progs):
            tt.realize(*[o for o in w.step(state) if isinstance(o, tt.Tensor)])
    return progs


def rows(workloads):
    out = []
    for w in workloads:
        progs = program_of(w)
        for i, p in enumerate(progs):
            mp = p.memory_plan
            assert mp.verify(), f"{w.name}: the memory plan has overlapping live buffers"
            name = w.name if len(progs) == 1 else f"{w.name} [{i}]"
            passes = {r.name: r for r in p.passes}
            out.append({"workload": name, "kernels": len(p.kernels), "peak": mp.peak_bytes,
                        "no_reuse": mp.no_reuse_bytes, "lower": mp.lower_bound_bytes, "passes": passes,
                        "flops": p.flops})
    return out


def table(rs):
    names = [n for n in ("fold", "dce", "fuse") if any(n in r["passes"] for r in rs)]
    head = ["workload", "kernels", "planned peak MB", "no-reuse MB", "lower bound MB", "peak / no-reuse"]
    head += [f"{n} ({next(r['passes'][n].unit for r in rs if n in r['passes'])})"
             .replace("(kernels)", "(nodes -> kernels)") for n in names]
    body = []
    for r in rs:
        cells = [r["workload"], str(r["kernels"]), f"{r['peak'] / 1e6:.2f}", f"{r['no_reuse'] / 1e6:.2f}",
                 f"{r['lower'] / 1e6:.2f}", f"{r['peak'] / r['no_reuse']:.2f}" if r["no_reuse"] else "-"]
        for n in names:
            p = r["passes"].get(n)
            cells.append(f"{p.before} -> {p.after}" + ("" if p.enabled else " (off)") if p else "-")
        body.append(cells)
    return head, body
