"""`tinytorch doctor`: what this machine gives TinyTorch, section by section: Python, NumPy and its BLAS,
llvmlite and LLVM, the host CPU and its vector features, cores, memory, the dot renderer of the pictures, the
native code cache, and the data directories with the datasets found in them (and how to get the missing)."""
from __future__ import annotations

import argparse
import os
import pathlib
import platform
import sys

import numpy as np
import psutil

import tinytorch as tt
from tinytorch import viz
from tinytorch.runtime import config

from . import datasets_status

SECTIONS = ("python", "numpy", "llvm", "cpu", "memory", "renderer", "cache", "data")
# llvmlite's host features that are vector (SIMD) instruction sets, by prefix: x86, then Arm
VECTOR_FEATURES = ("sse", "ssse", "avx", "fma", "f16c", "amx", "vnni", "neon", "sve", "asimd", "dotprod", "i8mm")
MB = 1 << 20

EPILOG = """examples:
  tinytorch doctor
  tinytorch doctor --data-dir /data/sets       # which datasets that folder holds"""


def add_parser(sub) -> None:
    p = sub.add_parser("doctor", help="what this machine has: BLAS, LLVM, CPU, memory, renderer, cache, datasets",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None, metavar="DIR", help="report on DIR instead of the usual search order")
    p.set_defaults(func=run)


def blas() -> list:
    """The BLAS NumPy calls: threadpoolctl's view of the loaded library when installed, else NumPy's build info."""
    try:
        import threadpoolctl
    except ImportError:
        build = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        return [f"{build.get('name', '?')} {build.get('version', '?')} (NumPy's build info; install threadpoolctl "
                f"for the library loaded and its threads)"]
    libs = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    return [f"{i['internal_api']} {i.get('version')} ({i.get('architecture') or '?'}), {i['num_threads']} threads, "
            f"{i['filepath']}" for i in libs] or ["none loaded"]


def cpu_lines() -> list:
    import llvmlite.binding as llvm

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    features = [f[1:] for f in llvm.get_host_cpu_features().flatten().split(",")
                if f.startswith("+") and f[1:].startswith(VECTOR_FEATURES)]
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [f"{model} (LLVM: {llvm.get_host_cpu_name()}, {llvm.get_process_triple()})",
            f"vector features: {' '.join(sorted(features)) or 'none reported'}",
            f"cores: {os.cpu_count()} logical, {psutil.cpu_count(logical=False)} physical, {affinity} usable here; "
            f"TinyTorch threads {config.get('TINYTORCH_NUM_THREADS')}"]


def cache_lines() -> list:
    root = pathlib.Path(config.get("TINYTORCH_CACHE_DIR")).expanduser()
    files = [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []
    size = sum(p.stat().st_size for p in files)
    where = "TINYTORCH_CACHE_DIR" if os.environ.get("TINYTORCH_CACHE_DIR") else "default; set TINYTORCH_CACHE_DIR"
    return [f"{root} ({where})", f"{len(files)} files, {size / MB:.1f} MB of at most "
            f"{config.get('TINYTORCH_CACHE_MAX_MB')} MB (TINYTORCH_CACHE_MAX_MB)"]


def data_lines(root) -> list:
    dirs = datasets_status.directories(root)
    shared = datasets_status.shared_datasets()

    def note(d):
        if d == shared and root is None:
            return " (the repository's shared folder: examples and demo read it when TINYTORCH_DATA is unset)"
        return "" if d.is_dir() else " (absent)"

    lines = [f"searched: {', '.join(str(d) + note(d) for d in dirs)}",
             f"downloads go to {dirs[0]}" + ("" if root else " (TINYTORCH_DATA, else ~/.cache/tinytorch)")]
    for name, where, how in datasets_status.rows(root):
        lines.append(f"{name}: {where}")
        if how:
            lines.append(f"  to get it: {how}")
    return lines


def report(data_dir=None) -> dict:
    """{section: lines}, in SECTIONS order."""
    import llvmlite
    import llvmlite.binding as llvm

    vm = psutil.virtual_memory()
    dot = viz.dot_executable()
    return {
        "python": [f"{platform.python_version()} ({platform.python_implementation()}) at {sys.executable}",
                   f"tinytorch {tt.__version__} at {pathlib.Path(tt.__file__).parent}, backend {tt.get_backend()}"],
        "numpy": [f"numpy {np.__version__}"] + [f"BLAS: {line}" for line in blas()],
        "llvm": [f"llvmlite {llvmlite.__version__}, LLVM {'.'.join(map(str, llvm.llvm_version_info))}"],
        "cpu": cpu_lines(),
        "memory": [f"{vm.total / MB / 1024:.1f} GiB, {vm.available / MB / 1024:.1f} GiB available"],
        "renderer": [f"dot: {dot}" if dot else "dot: none found; pictures are written as .dot text. Install "
                     "Graphviz (apt install graphviz) or `pip install graphviz-pure` for SVG and PNG"],
        "cache": cache_lines(),
        "data": data_lines(data_dir),
    }


def run(args) -> int:
    for section, lines in report(args.data_dir).items():
        print(f"{section}:")
        for line in lines:
            print(f"  {line}")
    return 0
