"""Run the benchmark suite and print its tables.

    python3 benchmarks/run.py                         # every workload, every column, 5 repeats
    python3 benchmarks/run.py gelu softmax --repeats 9
    python3 benchmarks/run.py --backends eager,compiled-numpy,torch
    python3 benchmarks/run.py --quick                 # small sizes: a smoke run in seconds
    python3 benchmarks/run.py --markdown              # Markdown tables (for README.md)
    python3 benchmarks/run.py --plans                 # kernels, memory plans, pass counts of model steps
    python3 benchmarks/run.py --compile-time          # MLP step's first compile, fresh process, cold/warm cache

Columns: eager (TinyTorch eager mode, NumPy op by op), numpy (hand-written), compiled-numpy,
compiled-llvm ("n/a" until that backend exists), torch (PyTorch eager, 2 threads). Times are
medians; ratios are computed from medians of the same run.
"""
from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import harness  # noqa: E402
import plans  # noqa: E402
import report  # noqa: E402
from workloads import WORKLOADS  # noqa: E402


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model})"


def header(args) -> str:
    llvm = "available" if harness.llvm_available() else "not available (column n/a)"
    return (f"{datetime.date.today().isoformat()}, {machine()}, Python {platform.python_version()}, "
            f"{harness.THREADS} threads for BLAS, llvm and torch, repeats {args.repeats}{', quick sizes' if args.quick else ''}; llvm backend {llvm}")


def run_suite(names, columns, repeats, quick, markdown, out=print, compile_times=True) -> list:
    """Measure each workload in every column; print the time table, the compiler table, copy bandwidth and
    (with the mlp workload) the first-compile table from fresh processes."""
    rows = [harness.measure(WORKLOADS[n](quick=quick), repeats, columns) for n in names]
    out(report.render(*report.time_table(rows, columns), markdown=markdown))
    out("")
    out(report.render(*report.compiler_table(rows, columns), markdown=markdown))
    big = 1 << 25 if quick else 1 << 28
    out("")
    out(f"np.copyto on {big >> 20} MB: {harness.copy_gbs(2 * big, repeats):.1f} GB/s (read + written)")
    for e in report.errors(rows):
        out(f"error: {e}")
    if compile_times and "mlp" in names:
        out("")
        out(compile_table(columns, quick, markdown))
    return rows


def compile_table(columns, quick, markdown) -> str:
    import compile_time
    backs = [c for c in columns if c.startswith("compiled-") and (c != "compiled-llvm" or harness.llvm_available())]
    return report.render(*compile_time.table(compile_time.measure(backs, quick)), markdown=markdown)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help=f"workloads (default: all): {', '.join(WORKLOADS)}")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--backends", default=",".join(harness.COLUMNS),
                    help=f"comma-separated columns: {', '.join(harness.COLUMNS)} (aliases: llvm, cnp)")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--plans", action="store_true", help="kernels, memory plans and pass counts of model steps")
    ap.add_argument("--compile-time", action="store_true", help="first compile of the MLP step, fresh processes")
    args = ap.parse_args(argv)
    unknown = [n for n in args.names if n not in WORKLOADS]
    if unknown:
        ap.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    columns = harness.normalize_columns(args.backends.split(","))
    harness.pin_threads()
    print(header(args) + "\n")
    if args.plans:
        names = args.names or list(plans.DEFAULT)
        print(report.render(*plans.table(plans.rows([WORKLOADS[n](quick=args.quick) for n in names])),
                            markdown=args.markdown))
        return
    if args.compile_time:
        print(compile_table(columns, args.quick, args.markdown))
        return
    run_suite(args.names or list(WORKLOADS), columns, args.repeats, args.quick, args.markdown)


if __name__ == "__main__":
    main()
