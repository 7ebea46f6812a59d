"""First-compile time of the MLP training step in a fresh process, with a cold and then a warm disk cache.

The parent makes a fresh temporary TINYTORCH_CACHE_DIR and runs a child process twice per backend:
the first child compiles from nothing (cold: for llvm, LLVM builds every kernel's object code), the
second finds the object code on disk (warm). The numpy backend has no disk cache, so its two runs
should agree. Each child reports: the first step's wall time (graph build + compile + run), the
compiler's own compile seconds (tinytorch.stats()), and a cached step's wall time.

    python benchmarks/compile_time.py [--backends compiled-numpy,compiled-llvm] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent


def child(backend: str, quick: bool) -> dict:
    sys.path.insert(0, str(HERE))
    t0 = time.perf_counter()
    import tinytorch as tt
    from harness import backend as use_backend
    import models
    import_s = time.perf_counter() - t0
    w = models.mlp_step(quick)
    state = w.setup()
    with use_backend(backend):
        t0 = time.perf_counter()
        tt.realize(*w.step(state))
        first = time.perf_counter() - t0
        stats = dict(tt.stats())
        t0 = time.perf_counter()
        tt.realize(*w.step(state))
        second = time.perf_counter() - t0
    out = {"import_s": import_s, "first_step_s": first, "compile_s": stats.get("compile_s", float("nan")),
           "cached_step_s": second}
    try:
        from tinytorch.compiler.llvm import jit
        out["llvm_jit"] = dict(jit.STATS)
    except ImportError:  # the llvm package is optional for this report
        pass
    return out


def measure(backends, quick: bool) -> list:
    """[(backend, cache state, child's report)], running each child in a fresh interpreter."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="tt_compile_bench_") as cache:
        env = dict(os.environ, TINYTORCH_CACHE_DIR=cache)
        env.pop("TINYTORCH_DEBUG", None)
        for b in backends:
            for state in ("cold disk cache", "warm disk cache"):
                cmd = [sys.executable, str(HERE / "compile_time.py"), "--child", b] + (["--quick"] if quick else [])
                res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
                if res.returncode:
                    rows.append((b, state, {"error": res.stderr.strip().splitlines()[-1:]}))
                else:
                    rows.append((b, state, json.loads(res.stdout.strip().splitlines()[-1])))
    return rows


def table(rows):
    head = ["backend", "disk cache", "first step ms (build+compile+run)", "compile ms", "cached step ms",
            "import tinytorch ms"]
    body = []
    for b, state, r in rows:
        if "error" in r:
            body.append([b, state, "err: " + " ".join(r["error"]), "", "", ""])
            continue
        body.append([b, state.split()[0], f"{r['first_step_s'] * 1e3:.1f}", f"{r['compile_s'] * 1e3:.1f}",
                     f"{r['cached_step_s'] * 1e3:.2f}", f"{r['import_s'] * 1e3:.0f}"])
    return head, body


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", metavar="BACKEND", help=argparse.SUPPRESS)
    ap.add_argument("--backends", default="compiled-numpy,compiled-llvm")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child.replace("compiled-", ""), args.quick)))
        return
    sys.path.insert(0, str(HERE))
    from harness import llvm_available
    from report import render
    names = [b for b in args.backends.split(",") if b != "compiled-llvm" or llvm_available()]
    print(render(*table(measure(names, args.quick)), markdown=args.markdown))


if __name__ == "__main__":
    main()
