"""The native backend's code generator: kernel specs -> llvmlite IR loop nests -> host machine code.

Importing this package fills the op table's `llvm` slots (scalar.py). Entry point: `compile_kernel`.
"""
from . import scalar  # noqa: F401  (installs the lowerings)
from .native import NativeKernel, compile_kernel
from .spec import ElementwiseKernel, ReduceKernel, ScalarOp, View, validate

__all__ = ["compile_kernel", "NativeKernel", "ElementwiseKernel", "ReduceKernel", "ScalarOp", "View", "validate"]
