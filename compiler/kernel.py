"""Kernel objects: what one fused unit of work is, independent of the backend that runs it.

A kernel has one output (its root) and a list of fused ops in order. Every
operand of an op is a `Ref`: an external input (a graph input or another
kernel's output), an embedded constant, or an earlier op of the same kernel,
each seen through a chain of movement ops. The chain on an external input is
also summarized as a `View` (shape, element strides, offset over the source's
contiguous layout) so a native backend can lower the kernel as one loop nest
with index arithmetic instead of copies. Kernels hold `Info`s, never Nodes, so
a cached Program does not keep its first graph alive.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from . import ir


def contiguous_strides(shape) -> tuple:
    """Element strides of a C-order array of `shape`."""
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return tuple(reversed(strides))


@dataclass(frozen=True)
class View:
    """Strided view of a contiguous source: element (i0, i1, ...) lives at offset + sum(i_k * strides[k])."""
    shape: tuple
    strides: tuple
    offset: int = 0

    @staticmethod
    def contiguous(shape) -> "View":
        return View(tuple(shape), contiguous_strides(shape), 0)

    def apply(self, info) -> "View | None":
        """This view after one movement op, or None where no strided view exists (the op must copy)."""
        op, arg = info.op, info.arg
        if op == "detach":
            return self
        if op == "permute":
            return View(tuple(self.shape[i] for i in arg), tuple(self.strides[i] for i in arg), self.offset)
        if op == "expand":
            return View(tuple(arg), tuple(0 if s != d else st for s, d, st in zip(self.shape, arg, self.strides)),
                        self.offset)
        if op == "slice":
            off = self.offset + sum(start * st for (start, _, _), st in zip(arg, self.strides))
            return View(tuple(info.shape), tuple(st * step for (_, _, step), st in zip(arg, self.strides)), off)
        if op == "unfold":
            (_, _), (sh, sw), (dh, dw) = arg
            s = self.strides
            return View(tuple(info.shape), s[:-2] + (s[-2] * dh, s[-1] * dw, s[-2] * sh, s[-1] * sw), self.offset)
        if op == "reshape":
            return self._reshape(tuple(arg))
        return None

    def _reshape(self, shape):
        """Strides for `shape` over the same memory, or None (PyTorch's computeStride, from the last dim)."""
        if math.prod(self.shape) == 0 or not self.shape:
            return View.contiguous(shape)._with_offset(self.offset)
        out = [0] * len(shape)
        view_d = len(shape) - 1
        base = self.strides[-1]
        tensor_numel = view_numel = 1
        for d in range(len(self.shape) - 1, -1, -1):
            tensor_numel *= self.shape[d]
            if d == 0 or (self.shape[d - 1] != 1 and self.strides[d - 1] != tensor_numel * base):
                while view_d >= 0 and (view_numel < tensor_numel or shape[view_d] == 1):
                    out[view_d] = view_numel * base
                    view_numel *= shape[view_d]
                    view_d -= 1
                if view_numel != tensor_numel:
                    return None
                if d > 0:
                    base = self.strides[d - 1]
                    tensor_numel = view_numel = 1
        if view_d != -1:
            return None
        return View(tuple(shape), tuple(out), self.offset)

    def _with_offset(self, off):
        return View(self.shape, self.strides, off)


def chain_view(base_shape, chain) -> "View | None":
    v = View.contiguous(base_shape)
    for info in chain:
        v = v.apply(info) if v is not None else None
    return v


@dataclass(frozen=True)
class Ref:
    """An operand: kind 'in' (external input index), 'c' (embedded constant index) or 't' (op index in this
    kernel), seen through `chain`, the movement ops applied to it in order."""
    kind: str
    index: int
    chain: tuple = ()


@dataclass(frozen=True)
class KOp:
    info: ir.Info
    srcs: tuple  # of Ref


@dataclass(frozen=True)
class KInput:
    slot: int  # the Program slot this input is read from
    base: ir.Info  # what the slot holds (shape, dtype)
    chain: tuple  # movement ops applied (the first consumer's chain; others are on their Refs)
    view: "View | None"


@dataclass(frozen=True, eq=False)
class Kernel:
    """One fused kernel: ops in order (the last is the root), external inputs, embedded constants, output.
    Immutable: kernelize makes it, the memory plan may make a copy that writes in place of an input, and
    each lowering returns its own record (`Lowered`) instead of writing here."""
    index: int
    ops: tuple
    inputs: tuple
    consts: tuple  # embedded arrays (folded constants, broadcast scalars)
    out_slot: int
    out_kind: str  # "arena" (internal temporary), "output" (a fresh array the user keeps), "target" (assign)
    flops: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    row_axes: tuple = ()  # a row kernel (passes/rowfuse.py): the trailing axes its reductions reduce
    inplace_of: int = -1  # input index whose arena buffer the output reuses, or -1

    @property
    def root(self) -> ir.Info:
        return self.ops[-1].info

    @property
    def shape(self):
        return self.root.shape

    @property
    def dtype(self):
        return self.root.dtype

    @property
    def op(self) -> str:
        return "+".join(self.op_names)

    @property
    def op_names(self) -> list:
        return [o.info.op for o in self.ops]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    def describe(self) -> str:
        return f"kernel {self.index} ({self.op} -> {self.dtype}{list(self.shape)})"

    def summary(self, lowered: "Lowered | None" = None) -> str:
        how = f"  {lowered.backend}{'  chunked' if lowered.chunk_rows else ''}" if lowered else ""
        return (f"k{self.index:<3} {self.op:<40.40} {ir._SHORT.get(self.dtype.name, self.dtype.name)}"
                f"{list(self.shape)}  flops={self.flops}  read={self.bytes_read}  written={self.bytes_written}{how}")


@dataclass(frozen=True)
class Lowered:
    """What a lowering made of one kernel, for explain, TINYTORCH_DEBUG=4 and tests."""
    backend: str
    code: tuple  # the generated code, as text lines
    chunk_rows: int = 0  # numpy: >0 runs in blocks of this many rows of axis 0 (small scratch); 0: whole arrays
    scratch_bytes: int = 0  # numpy: scratch outside the arena, at most, while it runs
