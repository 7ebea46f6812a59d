"""The native backend's code generator: kernels -> llvmlite IR loop nests -> host object code.

Importing this package fills the op table's `llvm` slots (scalar.py).
"""
from . import scalar  # noqa: F401  (installs the lowerings)
