"""Runtime: buffers and the executor that runs a compiled Program.

The runtime imports neither the compiler nor the frontend; it only knows
arrays, buffers and lists of steps.
"""
from .buffer import Buffer
from .executor import run_steps, KernelError
from .arena import Arena

__all__ = ["Buffer", "run_steps", "KernelError", "Arena"]
