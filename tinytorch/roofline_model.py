"""The roofline: this machine's memory bandwidth and peak FLOP/s, and each profiled kernel placed against them.

`tinytorch.roofline()` measures once per process (then reads its cache): bandwidth as the bytes a big
`np.copyto` reads and writes per second, peak as the FLOP/s of a big float32 matmul with BLAS held to
TINYTORCH_NUM_THREADS threads (through threadpoolctl when it is installed). The figures are also kept in
`$TINYTORCH_CACHE_DIR/roofline.json` (written to a temp file, then renamed), keyed by the machine and the
thread count; a file that does not parse or does not match is measured over.

A kernel of F FLOPs moving B bytes in t seconds has arithmetic intensity F/B; the most it can attain is
min(peak, F/B * bandwidth) FLOP/s, i.e. it needs at least max(F/peak, B/bandwidth) seconds, and the fraction it
achieved is that floor over t (which also places a kernel of no FLOPs, a copy, by its bytes alone).
`Roofline.plot(prof, path)` draws it with matplotlib (the `plots` extra); nothing else needs matplotlib.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import platform
import time
from dataclasses import dataclass

import numpy as np

from .runtime import config
from .runtime.native_loader import _write_atomically

COPY_BYTES = 128 * 2**20  # each of source and destination: well past any last-level cache
MATMUL_N = 1536  # float32 n x n @ n x n: 7 GFLOP, long enough for BLAS to reach its peak
REPEATS = 3  # best of: the fastest run is the one least disturbed by the rest of the machine
CACHE_FILE = "roofline.json"
_MEMORY: dict = {}


@dataclass(frozen=True)
class Point:
    """A kernel on the roofline (its runs summed)."""
    key: str
    ops: str
    seconds: float
    flops: int
    bytes: int
    intensity: float  # FLOPs per byte
    achieved_flops: float  # FLOP/s
    achieved_bytes: float  # bytes/s
    attainable_flops: float  # min(peak, intensity * bandwidth)
    fraction: float  # max(F/peak, B/bandwidth) / seconds
    bound: str  # "memory" or "compute": which roof is the lower at its intensity


@dataclass(frozen=True)
class Roofline:
    bandwidth: float  # bytes/s, read + written
    peak_flops: float  # FLOP/s
    threads: int
    source: str = "measured"  # or the path of the cache file it was read from

    @property
    def ridge(self) -> float:
        """The intensity (FLOPs/byte) where the memory roof meets the compute roof."""
        return self.peak_flops / self.bandwidth

    def place(self, prof) -> list:
        """One Point per kernel of the profile `prof`, in the order of `prof.totals()` (most time first)."""
        # BEGIN EXERCISE m15.place
        points = []
        for t in prof.totals():
            intensity = t.flops / t.bytes if t.bytes else float("inf")
            attainable = min(self.peak_flops, intensity * self.bandwidth)
            floor_s = max(t.flops / self.peak_flops, t.bytes / self.bandwidth)
            points.append(Point(t.key, t.ops, t.seconds, t.flops, t.bytes, intensity,
                                t.flops / t.seconds if t.seconds else 0.0, t.bytes / t.seconds if t.seconds else 0.0,
                                attainable, floor_s / t.seconds if t.seconds else 0.0,
                                "compute" if intensity >= self.ridge else "memory"))
        return points
        # END EXERCISE m15.place

    def table(self, prof=None, row_limit: int | None = None) -> str:
        head = (f"roofline ({self.source}): memory {self.bandwidth / 1e9:.1f} GB/s, peak {self.peak_flops / 1e9:.1f} "
                f"GFLOP/s on {self.threads} threads, ridge {self.ridge:.1f} FLOP/byte")
        if prof is None:
            return head
        lines = [head, f"{'kernel':<9} {'ops':<32} {'ms':>8} {'FLOP/B':>7} {'GFLOP/s':>8} {'GB/s':>7} "
                       f"{'roof GFLOP/s':>12} {'bound':>7} {'of roof':>7}"]
        for p in self.place(prof)[:row_limit]:
            lines.append(f"{p.key:<9} {p.ops:<32.32} {p.seconds * 1e3:>8.3f} {p.intensity:>7.2f} "
                         f"{p.achieved_flops / 1e9:>8.2f} {p.achieved_bytes / 1e9:>7.2f} "
                         f"{p.attainable_flops / 1e9:>12.2f} {p.bound:>7} {100 * p.fraction:>6.1f}%")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def plot(self, prof, path) -> None:
        """Draw the roofline and the profile's kernels (log-log) to `path` (needs matplotlib: the `plots` extra)."""
        try:
            import matplotlib
        except ImportError:
            raise ImportError("Roofline.plot needs matplotlib: pip install 'tinytorch[plots]' (the tables work "
                              "without it)") from None
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        points = [p for p in self.place(prof) if p.flops and p.bytes]
        xs = np.logspace(-2, max(3.0, np.log10(max([p.intensity for p in points] + [self.ridge])) + 1), 200)
        fig, ax = plt.subplots(figsize=(7, 5))
        ax.loglog(xs, np.minimum(self.peak_flops, xs * self.bandwidth) / 1e9, "k-", label="roof")
        for p in points:
            ax.loglog(p.intensity, p.achieved_flops / 1e9, "o")
            ax.annotate(p.key, (p.intensity, p.achieved_flops / 1e9), fontsize=7)
        ax.set_xlabel("arithmetic intensity (FLOP/byte)")
        ax.set_ylabel("GFLOP/s")
        ax.set_title(f"{self.bandwidth / 1e9:.1f} GB/s, {self.peak_flops / 1e9:.0f} GFLOP/s, {self.threads} threads")
        fig.savefig(path)
        plt.close(fig)


def measure_bandwidth(nbytes: int = COPY_BYTES, repeats: int = REPEATS) -> float:
    """Bytes per second that `np.copyto` reads plus writes, best of `repeats`."""
    src = np.ones(nbytes // 4, np.float32)
    dst = np.zeros_like(src)
    best = min(_timed(lambda: np.copyto(dst, src)) for _ in range(repeats))
    return 2 * src.nbytes / best


def measure_peak(n: int = MATMUL_N, repeats: int = REPEATS, threads: int | None = None) -> float:
    """FLOP/s of an n x n float32 matmul with BLAS held to `threads`, best of `repeats`."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), np.float32) for _ in range(2))
    out = np.empty((n, n), np.float32)
    with _blas_threads(threads or config.get("TINYTORCH_NUM_THREADS")):
        np.matmul(a, b, out=out)  # BLAS's first call starts its threads
        best = min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(repeats))
    return 2 * n ** 3 / best


def roofline(refresh: bool = False) -> Roofline:
    """This machine's Roofline, measured once (then from memory or the disk cache; `refresh` measures again).
    `roofline().table(prof)` places a profile's kernels on it, `.place(prof)` gives them as Points."""
    threads = config.get("TINYTORCH_NUM_THREADS")
    key = _machine_key(threads)
    rl = None if refresh else _MEMORY.get(key) or _read_disk(key)
    if rl is None:
        rl = Roofline(measure_bandwidth(), measure_peak(threads=threads), threads)
        _write_disk(key, rl)
    _MEMORY[key] = rl
    return rl


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


@contextlib.contextmanager
def _blas_threads(n: int):
    try:
        import threadpoolctl
    except ImportError:  # BLAS runs on however many threads it was started with
        yield
        return
    with threadpoolctl.threadpool_limits(n, user_api="blas"):
        yield


def _machine_key(threads: int) -> str:
    return f"{platform.machine()}/{platform.processor() or '?'}/{os.cpu_count()} cpus/{threads} threads"


def _cache_path() -> pathlib.Path:
    return pathlib.Path(config.get("TINYTORCH_CACHE_DIR")) / CACHE_FILE


def _read_disk(key: str):
    path = _cache_path()
    try:
        entry = json.loads(path.read_text()).get(key)
        bw, peak = float(entry["bandwidth"]), float(entry["peak_flops"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if not (bw > 0 and peak > 0 and np.isfinite(bw) and np.isfinite(peak)):
        return None
    return Roofline(bw, peak, int(entry["threads"]), str(path))


def _write_disk(key: str, rl: Roofline) -> None:
    """Best effort: a cache that cannot be written costs one measurement per process."""
    path = _cache_path()
    try:
        entries = json.loads(path.read_text())
        entries = entries if isinstance(entries, dict) else {}
    except (OSError, ValueError):
        entries = {}
    entries[key] = {"bandwidth": rl.bandwidth, "peak_flops": rl.peak_flops, "threads": rl.threads}
    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_atomically(path, json.dumps(entries).encode())
