"""The native backend's code generator: each stage of a Program's kernels -> an llvmlite function
(kernelgen.py, driven by compiler/lower_llvm.py) -> host object code (jit.py), which the runtime loads and
runs (runtime/native_runner.py).
"""
