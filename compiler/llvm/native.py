"""`compile_kernel(spec)`: a spec in, a callable `fn(out, *inputs)` over NumPy arrays out.

The call checks once, cheaply, what the machine code cannot: the output's shape and dtype, each input's
dtype, that every array is C-contiguous (views index from the array's first element) and that the output
does not overlap an input (the pointers are declared noalias). It does not check that each View stays
inside its array; that is the compiler's job, and TINYTORCH_CHECK_BOUNDS=1 compiles kernels that check
every address and raise IndexError naming the kernel instead of touching memory outside an array.
TINYTORCH_DEBUG=4 prints each kernel's LLVM IR when it is built.
"""
from __future__ import annotations

import ctypes
import os
import sys

import numpy as np

from . import codegen, jit, parallel
from .spec import ElementwiseKernel

CHECK_ENV, DEBUG_ENV = "TINYTORCH_CHECK_BOUNDS", "TINYTORCH_DEBUG"
DEBUG_IR_LEVEL = 4


def env_int(name: str) -> int:
    """An integer environment setting (TINYTORCH_DEBUG, TINYTORCH_CHECK_BOUNDS); unset or malformed is 0."""
    try:
        return int(os.environ.get(name, "0") or 0)
    except ValueError:
        return 0


class NativeKernel:
    def __init__(self, spec):
        self.spec = spec
        self.check_bounds = env_int(CHECK_ENV) > 0
        gen = codegen.generate(spec, self.check_bounds, jit.function_attributes())
        if env_int(DEBUG_ENV) >= DEBUG_IR_LEVEL:
            print(f"; ---- kernel {spec.name}\n{gen.ir}", file=sys.stderr)
        self.generated = gen
        self.loaded = jit.compile_ir(gen.ir, spec.name, codegen.SYMBOL)
        n = 1 + len(spec.inputs)
        argtypes = [ctypes.c_void_p] * n + [ctypes.c_int64] * (2 + (n if self.check_bounds else 0))
        self._cfunc = ctypes.CFUNCTYPE(ctypes.c_int32, *argtypes)(self.loaded.address)
        self.shape = spec.shape
        self.dtypes = (spec.out_dtype,) + spec.inputs

    def __call__(self, out: np.ndarray, *inputs: np.ndarray) -> np.ndarray:
        name = self.spec.name
        if len(inputs) != len(self.spec.inputs):
            raise TypeError(f"kernel {name!r} takes {len(self.spec.inputs)} inputs, got {len(inputs)}")
        if out.shape != self.shape:
            raise ValueError(f"kernel {name!r}: out has shape {out.shape}, expected {self.shape}")
        arrays = (out,) + inputs
        for i, (a, dt) in enumerate(zip(arrays, self.dtypes)):
            if a.dtype != dt or not a.flags.c_contiguous:
                what = "out" if i == 0 else f"input {i - 1}"
                raise TypeError(f"kernel {name!r}: {what} must be a C-contiguous {dt} array, "
                                f"got {a.dtype}{list(a.shape)} (contiguous={a.flags.c_contiguous})")
            if i and np.may_share_memory(out, a):
                raise ValueError(f"kernel {name!r}: out overlaps input {i - 1}")
        if not out.flags.writeable:
            raise ValueError(f"kernel {name!r}: out is read-only")
        if out.size == 0 or self.generated.work == 0:
            if out.size and not isinstance(self.spec, ElementwiseKernel):
                raise ValueError(f"kernel {name!r}: reducing over an empty axis")
            return out
        ptrs = [a.ctypes.data for a in arrays]
        tail = [a.size for a in arrays] if self.check_bounds else []
        codes = parallel.run(self._cfunc, ptrs, self.generated.outer_extent, self.generated.work, tail)
        bad = max(codes)
        if bad:
            what = "out" if bad == 1 else f"input {bad - 2}"
            raise IndexError(f"kernel {name!r}: an address fell outside {what} "
                             f"({arrays[bad - 1].size} elements); its View is wrong")
        return out


def compile_kernel(spec) -> NativeKernel:
    return NativeKernel(spec)
