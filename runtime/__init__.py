"""Runtime: buffers, the arena, and the runners that execute what the compiler hands over.

The runtime imports neither the compiler nor the frontend: it knows arrays, buffers, object code and the
immutable executables of executable.py, and it reads its settings through config.py.
"""
from . import config, timing
from .arena import Arena
from .buffer import Buffer
from .errors import KernelError
from .executable import NativeCall, NativeExecutable, NumpyExecutable, NumpyStep, Operand
from .executor import make_runner

__all__ = ["Arena", "Buffer", "KernelError", "NativeCall", "NativeExecutable", "NumpyExecutable", "NumpyStep",
           "Operand", "config", "make_runner", "timing"]
