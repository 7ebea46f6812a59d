"""The native backend's code generator: each stage of a Program's kernels -> an llvmlite function
(kernelgen.py, driven by compiler/lower_llvm.py) -> host machine code (jit.py), run by parallel.py.

Importing this package fills the op table's `llvm` slots (scalar.py).
"""
from . import scalar  # noqa: F401  (installs the lowerings)
