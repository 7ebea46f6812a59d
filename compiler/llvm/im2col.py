"""The native window copy of a convolution tile (im2col), for the conv routines of compiler/ops/conv.py.

NumPy copies a 6-d strided window view with inner loops of `ow` elements and needs the padded input
copied first; this loop reads the unpadded input, writes zeros where a window hangs over the border, and
copies each window row as one unit-stride run (vectorized at O3). One function per dtype, generic over
the geometry (passed as numbers), compiled once per process (and kept in the native disk cache):

    void NAME(T* dst, T* src, i64* p, i64* bounds)

p = (m, C, kh, kw, oh, ow, src strides in elements: image, channel, row, column, sw, sh, dh, dw, pt, pl,
k_major); bounds = the valid output rows per window row i (ylo[kh], yhi[kh]) and valid output columns per
window column j (xlo[kw], xhi[kw]), computed in Python (`_bounds`). dst is (m, C, kh, kw, oh, ow), or with
k_major (C, kh, kw, m, oh, ow).
"""
from __future__ import annotations

import ctypes
import threading
import weakref

import numpy as np
from llvmlite import ir

from ...runtime import native_loader
from . import jit
from . import mathfns as M
from .loops import counted_loop

PLACEHOLDER = "tt_im2col_symbol"
_TYPES = {np.dtype("float32"): M.F32, np.dtype("float64"): M.F64}
_FIELDS = ("m", "C", "kh", "kw", "oh", "ow", "s_img", "s_c", "s_h", "s_w", "sw", "sh", "dh", "dw", "pt", "pl",
           "k_major")
_COPIERS = weakref.WeakValueDictionary()  # dtype -> _Copier, while some Program's routine holds it
_LOCK = threading.Lock()


def _module(t) -> str:
    mod = ir.Module(name="tinytorch_im2col")
    ptr = t.as_pointer()
    fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [ptr, ptr, M.I64.as_pointer(), M.I64.as_pointer()]),
                     name=f"{PLACEHOLDER}_{'f32' if t == M.F32 else 'f64'}")
    dst, src, p, bounds = fn.args
    for a in (dst, src):
        a.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    v = {name: b.load(b.gep(p, [ir.Constant(M.I64, k)]), name=name) for k, name in enumerate(_FIELDS)}
    zero = ir.Constant(t, 0.0)
    i0 = ir.Constant(M.I64, 0)
    L = b.mul(v["oh"], v["ow"])

    def bound(k):
        return b.load(b.gep(bounds, [k]))

    def fill(d, lo, hi):
        counted_loop(b, fn, lo, hi, lambda x: b.store(zero, b.gep(d, [x])))

    def per_window(n, c, i, j):
        # the dst row block of window element (c, i, j) of image n
        cij = b.add(b.mul(b.add(b.mul(c, v["kh"]), i), v["kw"]), j)
        block = b.select(b.icmp_signed("!=", v["k_major"], i0),
                         b.add(b.mul(cij, v["m"]), n), b.add(b.mul(b.mul(n, v["C"]), b.mul(v["kh"], v["kw"])), cij))
        d0 = b.gep(dst, [b.mul(block, L)])
        ylo, yhi = bound(i), bound(b.add(v["kh"], i))
        xlo, xhi = bound(b.add(b.mul(v["kh"], ir.Constant(M.I64, 2)), j)), \
            bound(b.add(b.add(b.mul(v["kh"], ir.Constant(M.I64, 2)), v["kw"]), j))
        base = b.add(b.mul(n, v["s_img"]), b.mul(c, v["s_c"]))
        col0 = b.sub(b.mul(j, v["dw"]), v["pl"])  # input column of output column 0
        row0 = b.sub(b.mul(i, v["dh"]), v["pt"])
        step = b.mul(v["sw"], v["s_w"])

        def row(y):
            d = b.gep(d0, [b.mul(y, v["ow"])])
            inside = b.and_(b.icmp_signed(">=", y, ylo), b.icmp_signed("<", y, yhi))
            with b.if_else(inside) as (then, other):
                with then:
                    iy = b.add(b.mul(y, v["sh"]), row0)
                    s = b.gep(src, [b.add(base, b.add(b.mul(iy, v["s_h"]), b.mul(col0, v["s_w"])))])
                    fill(d, i0, xlo)
                    with b.if_else(b.icmp_signed("==", step, ir.Constant(M.I64, 1))) as (unit, strided):
                        with unit:  # a unit-stride run: vectorized
                            counted_loop(b, fn, xlo, xhi, lambda x: b.store(b.load(b.gep(s, [x])), b.gep(d, [x])))
                        with strided:
                            counted_loop(b, fn, xlo, xhi, lambda x: b.store(b.load(b.gep(s, [b.mul(x, step)])),
                                                                            b.gep(d, [x])))
                    fill(d, xhi, v["ow"])
                with other:
                    fill(d, i0, v["ow"])
        counted_loop(b, fn, i0, v["oh"], row)

    counted_loop(b, fn, i0, v["m"], lambda n: counted_loop(
        b, fn, i0, v["C"], lambda c: counted_loop(
            b, fn, i0, v["kh"], lambda i: counted_loop(
                b, fn, i0, v["kw"], lambda j: per_window(n, c, i, j)))))
    b.ret_void()
    return str(mod)


class _Copier:
    """The window copy of one dtype; it holds its loaded module, so the native code lives exactly as long as a
    Program whose routines hold this copier (an evicted Program frees it, as it frees its own code)."""

    def __init__(self, module, fn, dtype):
        self.module, self.fn, self.dtype = module, fn, dtype

    def __call__(self, dst, x, khw, ohw, arg, k_major=False):
        if not dst.flags.c_contiguous or dst.dtype != self.dtype or x.dtype != self.dtype:
            raise TypeError(f"im2col: needs a C-contiguous {self.dtype} destination and input, got "
                            f"{dst.dtype} {dst.shape} and {x.dtype} {x.shape}")
        m, C, H, W = x.shape
        (pt, _, pl, _), (sh, sw), (dh, dw) = arg[:3]
        strides = [s // x.itemsize for s in x.strides]
        p = np.array([m, C, khw[0], khw[1], ohw[0], ohw[1], *strides, sw, sh, dh, dw, pt, pl, int(k_major)],
                     np.int64)
        bounds = _bounds(H, W, khw, ohw, arg)
        self.fn(dst.ctypes.data, x.ctypes.data, p.ctypes.data, bounds.ctypes.data)
        return dst


def copier(dtype):
    """`copy(dst, x, khw, ohw, arg, k_major)`: the windows of images x (m, C, H, W), any strides, zero
    padded as arg says, into the contiguous array dst; None for a dtype without a native loop."""
    dtype = np.dtype(dtype)
    t = _TYPES.get(dtype)
    if t is None:
        return None
    with _LOCK:
        found = _COPIERS.get(dtype)
        if found is None:
            name = f"{PLACEHOLDER}_{'f32' if t == M.F32 else 'f64'}"
            obj = jit.object_code(_module(t), f"im2col_{dtype.name}", PLACEHOLDER)
            module = native_loader.load(obj.key, obj.code, {name: name.replace(PLACEHOLDER, obj.prefix)})
            fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                  ctypes.c_void_p)(module.addresses[name])
            found = _COPIERS[dtype] = _Copier(module, fn, dtype)
        return found


def _bounds(H, W, khw, ohw, arg):
    """ylo[kh], yhi[kh], xlo[kw], xhi[kw]: the output rows (columns) whose window row i (column j) lies inside
    the unpadded input."""
    (pt, _, pl, _), (sh, sw), (dh, dw) = arg[:3]

    def span(size, out, stride, dil, pad, k):
        first = pad - k * dil  # output o reads input o*stride - first
        lo = max(0, -(-first // stride)) if first > 0 else 0
        hi = min(out, (size - 1 + first) // stride + 1) if size - 1 + first >= 0 else 0
        return lo, max(lo, hi)
    ys = [span(H, ohw[0], sh, dh, pt, i) for i in range(khw[0])]
    xs = [span(W, ohw[1], sw, dw, pl, j) for j in range(khw[1])]
    return np.array([y[0] for y in ys] + [y[1] for y in ys] + [x[0] for x in xs] + [x[1] for x in xs], np.int64)
