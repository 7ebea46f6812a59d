"""float16 <-> float32 conversion in native code, for the float32 tiles of float16 routines (`widen.py`).

NumPy's `astype` between float16 and float32 runs at 4-7 ns an element here, and the float16 routines
(matmul, convolutions, attention under autocast) read every operand widened and round every result: a
float16 conv2d spent ~20 ms of its 70 ms converting. LLVM lowers a vector `fpext <16 x half>` / `fptrunc` to
the F16C instructions vcvtph2ps / vcvtps2ph (round to nearest even, subnormals, inf and NaN as IEEE says):
~0.2 ns an element. The runtime owns this code, so it builds its own two functions with llvmlite (the IR is
written vectorized, so it needs no optimization passes, only code generation for the host CPU) and keeps
their object code in the runtime's disk cache (`native_loader`), as the compiler does for its modules:

    void NAME(src*, dst*, i64 n, i64 rows, i64 src_row_stride, i64 dst_row_stride)

converts `rows` runs of n elements (strides in elements), so a column block of a C-ordered matrix converts
natively too.

Without F16C (or llvmlite), LLVM would call compiler-rt helpers MCJIT cannot resolve, so conversion falls
back to NumPy; it does for arrays that are not rows of one contiguous run each, in the same shape.
"""
from __future__ import annotations

import ctypes
import hashlib
import threading

import numpy as np

from . import native_loader, parallel

F16, F32 = np.dtype(np.float16), np.dtype(np.float32)
LANES = 16  # elements per vector step: two AVX registers of float32, one of float16
MIN_THREADED = 1 << 20  # elements below which a conversion stays on the calling thread (waking one: ~0.1 ms)
PLACEHOLDER = "tt_half_symbol"
_NAMES = {(F16, F32): "widen", (F32, F16): "narrow"}
_LOCK = threading.Lock()
_FUNCS: dict = {}  # (src dtype, dst dtype) -> ctypes function; empty dict value None: no native code here


# NaN bits: the quiet bit of each format, the shift between the two mantissas, the exponent-all-ones bound
QUIET = {16: 0x0200, 32: 0x00400000}
MANT_SHIFT = 13
NAN_ABOVE = {16: 0x7C00, 32: 0x7F800000}


def _function(mod, ir, name: str, src_t, dst_t, cast: str):
    """dst[r, i] = cast(src[r, i]) for r < rows, i < n: LANES at a time, then one at a time. F16C quiets a signaling NaN and
    NumPy keeps it (and its payload, at least 1 where the narrowed payload would be 0, so it stays a NaN), so
    a NaN's quiet bit is taken from its source: bit for bit NumPy's conversion."""
    i64 = ir.IntType(64)
    fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [src_t.as_pointer(), dst_t.as_pointer()] + [i64] * 4),
                     name=f"{PLACEHOLDER}_{name}")
    src0, dst0, n, rows, src_stride, dst_stride = fn.args
    for a in (src0, dst0):
        a.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    sbits, dbits = (16, 32) if cast == "fpext" else (32, 16)

    def like(t, lanes):
        return t if lanes is None else ir.VectorType(t, lanes)

    def const(bits, value, lanes):
        t = like(ir.IntType(bits), lanes)
        return ir.Constant(t, value if lanes is None else [value] * lanes)

    def converted(x, lanes):
        """x's lanes converted, NaNs with NumPy's bits."""
        xi = b.bitcast(x, like(ir.IntType(sbits), lanes))
        yi = b.bitcast(getattr(b, cast)(x, like(dst_t, lanes)), like(ir.IntType(dbits), lanes))
        nan = b.icmp_unsigned(">", b.and_(xi, const(sbits, (1 << (sbits - 1)) - 1, lanes)),
                              const(sbits, NAN_ABOVE[sbits], lanes))
        quiet = b.and_(xi, const(sbits, QUIET[sbits], lanes))
        if cast == "fpext":
            quiet = b.shl(b.zext(quiet, like(ir.IntType(dbits), lanes)), const(dbits, MANT_SHIFT, lanes))
        else:
            quiet = b.trunc(b.lshr(quiet, const(sbits, MANT_SHIFT, lanes)), like(ir.IntType(dbits), lanes))
        fixed = b.or_(b.and_(yi, const(dbits, ~QUIET[dbits] & ((1 << dbits) - 1), lanes)), quiet)
        if cast == "fptrunc":  # a payload all in the dropped bits: NumPy keeps a NaN by setting bit 0
            mant = b.and_(fixed, const(dbits, 0x3FF, lanes))
            fixed = b.select(b.icmp_unsigned("==", mant, const(dbits, 0, lanes)),
                             b.or_(fixed, const(dbits, 1, lanes)), fixed)
        return b.bitcast(b.select(nan, fixed, yi), like(dst_t, lanes))

    def loop(start, stop, step, body):
        head, work, done = (fn.append_basic_block(s) for s in ("head", "work", "done"))
        before = b.block
        b.branch(head)
        b.position_at_end(head)
        i = b.phi(i64)
        i.add_incoming(start, before)
        b.cbranch(b.icmp_unsigned("<", i, stop), work, done)
        b.position_at_end(work)
        body(i)
        i.add_incoming(b.add(i, ir.Constant(i64, step)), b.block)
        b.branch(head)
        b.position_at_end(done)

    def row(r):
        src, dst = b.gep(src0, [b.mul(r, src_stride)]), b.gep(dst0, [b.mul(r, dst_stride)])

        def vector(i):
            vs, vd = ir.VectorType(src_t, LANES), ir.VectorType(dst_t, LANES)
            x = b.load(b.bitcast(b.gep(src, [i]), vs.as_pointer()), align=sbits // 8)
            b.store(converted(x, LANES), b.bitcast(b.gep(dst, [i]), vd.as_pointer()), align=dbits // 8)

        loop(ir.Constant(i64, 0), vec_end, LANES, vector)
        loop(vec_end, n, 1, lambda i: b.store(converted(b.load(b.gep(src, [i])), None), b.gep(dst, [i])))

    vec_end = b.mul(b.udiv(n, ir.Constant(i64, LANES)), ir.Constant(i64, LANES))
    loop(ir.Constant(i64, 0), rows, 1, row)
    b.ret_void()


def _build():
    """{(src, dst): ctypes function} from one module, compiled once per host (or read from the disk cache);
    {} where there is no F16C or no llvmlite."""
    try:
        import llvmlite
        import llvmlite.binding as llvm
        from llvmlite import ir
    except ImportError:
        return {}
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    features = llvm.get_host_cpu_features()
    if not features.get("f16c"):
        return {}
    mod = ir.Module(name="tinytorch_half")
    _function(mod, ir, "widen", ir.HalfType(), ir.FloatType(), "fpext")
    _function(mod, ir, "narrow", ir.FloatType(), ir.HalfType(), "fptrunc")
    text, cpu, flat = str(mod), llvm.get_host_cpu_name(), features.flatten()
    key = hashlib.sha256("\0".join((text, llvm.get_process_triple(), cpu, flat, llvmlite.__version__,
                                    native_loader.FILE_FORMAT)).encode()).hexdigest()
    prefix = f"tt_half_{key[:16]}"
    obj = native_loader.read_cached(key)
    if obj is None:
        parsed = llvm.parse_assembly(text.replace(PLACEHOLDER, prefix))
        parsed.verify()
        tm = llvm.Target.from_triple(llvm.get_process_triple()).create_target_machine(
            cpu=cpu, features=flat, opt=3, reloc="static", codemodel="jitdefault")
        obj = tm.emit_object(parsed)
        native_loader.write_cached(key, obj)
    names = {f"{PLACEHOLDER}_{n}": f"{prefix}_{n}" for n in _NAMES.values()}
    module = native_loader.load(key, obj, names, resident=True)
    proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, *[ctypes.c_int64] * 4)
    funcs = {pair: proto(module.addresses[f"{PLACEHOLDER}_{name}"]) for pair, name in _NAMES.items()}
    return funcs


def _native(src_dtype, dst_dtype):
    with _LOCK:
        if not _FUNCS:
            _FUNCS.update(_build() or {"none": None})
        return _FUNCS.get((np.dtype(src_dtype), np.dtype(dst_dtype)))


def available() -> bool:
    """Whether float16 <-> float32 runs natively on this machine."""
    return _native(F16, F32) is not None


def _rows(a: np.ndarray):
    """(rows, n, row stride in elements) of `a` seen as rows of its last axis, where each is one run, else None."""
    if a.ndim < 2 or a.strides[-1] != a.itemsize:
        return None
    view = a.view()
    try:
        view.shape = (-1, a.shape[-1])  # raises where the leading axes are not one stride
    except AttributeError:
        return None
    return view.shape[0], view.shape[1], view.strides[0] // a.itemsize


def _runs(src: np.ndarray, dst: np.ndarray):
    """(src, dst, rows, n, src stride, dst stride) for the native loop, or None. Arrays both C-ordered are one
    run (cut into rows of whole vectors, for the threads); both F-ordered are seen transposed."""
    if src.flags.c_contiguous and dst.flags.c_contiguous:
        n = src.size
        return src, dst, 1, n, n, n
    if src.flags.f_contiguous and dst.flags.f_contiguous:
        src, dst = src.T, dst.T
    s, d = _rows(src), _rows(dst)
    if s is None or d is None or s[:2] != d[:2]:
        return None
    return src, dst, s[0], s[1], s[2], d[2]


def convert(src: np.ndarray, dst: np.ndarray, threads: int = 1) -> np.ndarray:
    """dst <- src rounded as NumPy's astype rounds (float16 <-> float32), natively where both are rows of
    contiguous runs alike (C- or F-ordered arrays, a block of columns of one), else by NumPy; split across up
    to `threads` of the runtime's threads when it is big (more than one thread only from outside the thread
    pool: its workers must not wait on it)."""
    if src.shape != dst.shape:
        raise ValueError(f"half.convert: shapes differ, {src.shape} into {dst.shape}")
    fn = _native(src.dtype, dst.dtype)
    runs = _runs(src, dst) if fn is not None and src.size else None
    if runs is None:
        np.copyto(dst, src, casting="unsafe")
        return dst
    seen_src, seen_dst, rows, n, ss, ds = runs
    a, b, si, di = seen_src.ctypes.data, seen_dst.ctypes.data, src.itemsize, dst.itemsize
    work = max(1, min(threads, rows * n // MIN_THREADED))
    if rows == 1 and work > 1:  # one run: rows of a whole number of vectors, then the rest
        step = -(-n // work // LANES) * LANES
        rows, full = n // step, n // step * step
        if full < n:
            fn(a + si * full, b + di * full, n - full, 1, 0, 0)
        n, ss, ds = step, step, step
    work = min(work, rows)
    if work == 1:
        fn(a, b, n, rows, ss, ds)
    else:
        parallel.split(lambda lo, hi: fn(a + si * ss * lo, b + di * ds * lo, n, hi - lo, ss, ds), rows, work)
    return dst
