"""Where a result came from: TinyTorch's version, the git commit of the checkout it ran from, and the peak
memory of the process (psutil's resident size, sampled by the runner, and the OS's own high-water mark)."""
from __future__ import annotations

import pathlib
import subprocess

import psutil

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
GIT_TIMEOUT_S = 5


def version() -> str:
    from .. import __version__
    return __version__


def commit() -> str | None:
    """The checkout's commit (with '+dirty' when files differ from it), or None outside a git checkout."""
    if not (CHECKOUT / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=GIT_TIMEOUT_S)
        dirty = subprocess.run(["git", "-C", str(CHECKOUT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=GIT_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


class PeakMemory:
    """The largest resident size seen: `sample()` reads psutil; `peak_mb` also asks the OS's high-water mark
    (ru_maxrss) where there is one, which catches peaks between samples."""

    def __init__(self):
        self.process = psutil.Process()
        self.peak = 0
        self.sample()

    def sample(self) -> None:
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        self.sample()
        peak = self.peak
        try:
            import resource
            import sys
            scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
            peak = max(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale)
        except (ImportError, OSError):
            pass
        return peak / 2 ** 20
