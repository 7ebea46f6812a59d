"""2-d convolution as ops of their own: `conv2d` and its two gradients, `conv2d_dx` and `conv2d_dw`.

Built from `unfold` + matmul, a convolution materializes the whole im2col matrix (N*oh*ow rows of C*kh*kw)
and keeps it alive until the backward reads it for the weight gradient: many times the activation's size.
These ops compute the same products tile by tile (implicit GEMM, as PyTorch's slow_conv2d): a few images'
window matrix, sized to stay in cache, is copied into scratch and multiplied by BLAS straight into the
output's slice, and the backward builds the tile again from the input instead of keeping it. Layout stays
NCHW: per image, (O, C*kh*kw) @ (C*kh*kw, oh*ow) is the (O, oh, ow) output, so no permute copy either.

arg, plain tuples of ints: `((pt, pb, pl, pr), (sh, sw), (dh, dw))` (the zero padding of each side, stride,
dilation); `conv2d_dx` adds the input's `(H, W)` (a strided window does not determine it), `conv2d_dw` the
kernel's `(kh, kw)`. groups == 1. Both backends call the routines here (`OpDef.into`: `conv2d_into` etc.),
so the NumPy implementation and the native call are one code.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ...runtime import blas, parallel
from ...runtime.scratch import scratch as _scratch
from ...runtime.widen import compute_dtype, first_axis, narrow_into, widen_tile, widened
from .table import build, declare, shapes
from .window import window_out

TILE_BYTES = 1 << 21  # one tile's window matrix: big enough that a BLAS call amortizes, small enough for L2
MIN_GEMM_ROWS = 16  # a GEMM with fewer output rows runs far below BLAS speed (LeNet's 6 channels, dx of C=3)


def _out_hw(hw, khw, arg):
    (pt, pb, pl, pr), (sh, sw), (dh, dw) = arg[:3]
    return (window_out(hw[0] + pt + pb, khw[0], sh, dh), window_out(hw[1] + pl + pr, khw[1], sw, dw))


def _check_dtypes(op, a, b):
    if a.dtype != b.dtype or a.dtype.kind == "b":
        raise TypeError(f"{op}: operands must share a numeric dtype, got {a.dtype.name} and {b.dtype.name}")


def _conv_rule(srcs, arg):
    x, w = srcs
    if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1]:
        raise ValueError(f"conv2d: cannot convolve {shapes(srcs)}; need an (N, C, H, W) input and an "
                         f"(O, C, kh, kw) weight with the same C")
    _check_dtypes("conv2d", x, w)
    oh, ow = _out_hw(x.shape[2:], w.shape[2:], arg)
    if oh < 1 or ow < 1:
        raise ValueError(f"conv2d: a {w.shape[2]}x{w.shape[3]} window does not fit the input {x.shape} with "
                         f"padding {arg[0]}, dilation {arg[2]}; use a smaller kernel or more padding")
    return (x.shape[0], w.shape[0], oh, ow), x.dtype


def _dx_rule(srcs, arg):
    g, w = srcs
    H, W = arg[3]
    if g.ndim != 4 or w.ndim != 4 or g.shape[1] != w.shape[0] or \
            g.shape[2:] != _out_hw((H, W), w.shape[2:], arg):
        raise ValueError(f"conv2d_dx: {shapes(srcs)} are not an output gradient and weight of a convolution "
                         f"of a {H}x{W} input with arg {arg[:3]}")
    _check_dtypes("conv2d_dx", g, w)
    return (g.shape[0], w.shape[1], H, W), g.dtype


def _dw_rule(srcs, arg):
    x, g = srcs
    kh, kw = arg[3]
    if x.ndim != 4 or g.ndim != 4 or x.shape[0] != g.shape[0] or \
            g.shape[2:] != _out_hw(x.shape[2:], (kh, kw), arg):
        raise ValueError(f"conv2d_dw: {shapes(srcs)} are not an input and output gradient of a convolution "
                         f"with a {kh}x{kw} window and arg {arg[:3]}")
    _check_dtypes("conv2d_dw", x, g)
    return (g.shape[1], x.shape[1], kh, kw), x.dtype


# ---------------------------------------------------------------- the routines (both backends call these)

def _tile(per_image: int, n: int) -> int:
    """Images per tile: what fits TILE_BYTES, but at least one tile per thread."""
    return max(1, min(TILE_BYTES // max(per_image, 1), -(-n // parallel.num_threads())))


def _pointwise(khw, arg) -> bool:
    """A 1x1 window, stride 1, no padding: the input itself is the window matrix."""
    return tuple(khw) == (1, 1) and not any(arg[0]) and tuple(arg[1]) == (1, 1)


def _padded(x, pads, tile):
    """x (m, C, H, W) inside a zero border (a scratch array), or x itself without padding."""
    pt, pb, pl, pr = pads
    if not any(pads):
        return x
    m, C, H, W = x.shape
    xp = _scratch("pad", (tile, C, H + pt + pb, W + pl + pr), x.dtype)[:m]
    xp[:, :, :pt], xp[:, :, pt + H:], xp[:, :, :, :pl], xp[:, :, :, pl + W:] = 0, 0, 0, 0
    xp[:, :, pt:pt + H, pl:pl + W] = x
    return xp


def _windows(xp, khw, ohw, arg):
    """(m, C, kh, kw, oh, ow): every window of the padded images, a strided view."""
    # BEGIN EXERCISE m09.windows
    (sh, sw), (dh, dw) = arg[1], arg[2]
    s = xp.strides
    return np.lib.stride_tricks.as_strided(xp, xp.shape[:2] + tuple(khw) + tuple(ohw),
                                           s[:2] + (s[2] * dh, s[3] * dw, s[2] * sh, s[3] * sw), writeable=False)
    # END EXERCISE m09.windows


def _im2col(x, khw, ohw, arg, tile, k_major=False, copy=None):
    """The window matrix of the images x (m, C, H, W) in scratch: (m, K, L), or with `k_major` (K, m, L)
    (so (K, m*L) is one matrix for the weight gradient). `copy`: a native window copy (see `conv2d_into`)."""
    m, C = x.shape[:2]
    K, L = C * khw[0] * khw[1], ohw[0] * ohw[1]
    flat = _scratch("cols", (tile * K * L,), x.dtype)[:m * K * L]
    if copy is not None:
        copy(flat, x, khw, ohw, arg, k_major)
        return flat.reshape((K, m, L) if k_major else (m, K, L))
    win = _windows(_padded(x, arg[0], tile), khw, ohw, arg)
    if k_major:
        cols = flat.reshape(K, m, L)
        np.copyto(cols.reshape((C,) + tuple(khw) + (m,) + tuple(ohw)).transpose(3, 0, 1, 2, 4, 5), win)
    else:
        cols = flat.reshape(m, K, L)
        np.copyto(cols.reshape((m, C) + tuple(khw) + tuple(ohw)), win)
    return cols


def _split(N: int, tile: int, body) -> list:
    """body(n0, n1) over tiles of `tile` images, the tiles split across the runtime's threads, BLAS on one
    thread meanwhile (a BLAS fork per small call stalls on a loaded machine; runtime/blas.py). Returns
    body's results in image order."""
    def run(lo, hi):
        return [body(n0, min(hi, n0 + tile)) for n0 in range(lo, hi, tile)]
    tiles = -(-N // tile)
    threads = parallel.num_threads() if blas.available() else 1
    with blas.single_threaded():
        parts = parallel.split(lambda a, b: run(a * tile, min(N, b * tile)), tiles, threads)
    return [r for part in parts for r in part]


@widened(split=first_axis)  # float16 storage, float32 BLAS, a chunk of images at a time
def conv2d_into(out, x, w, arg, copy_windows=None):
    """out (N, O, oh, ow) = x (N, C, H, W) convolved with w (O, C, kh, kw). `copy_windows(dst, x, khw, ohw,
    arg, k_major)`, which the native backend passes (compiler/llvm/im2col.py), copies a tile's windows in
    place of NumPy; so do the gradients' routines."""
    N, C = x.shape[:2]
    O, khw, ohw = w.shape[0], w.shape[2:], out.shape[2:]
    K, L = C * khw[0] * khw[1], ohw[0] * ohw[1]
    wm, o3 = np.ascontiguousarray(w).reshape(O, K), out.reshape(N, O, L)
    if _pointwise(khw, arg):
        x3 = x.reshape(N, C, L)
        _split(N, _tile(K * L * x.itemsize, N), lambda n0, n1: np.matmul(wm, x3[n0:n1], out=o3[n0:n1]))
        return out
    tile = _tile(K * L * x.itemsize, N)
    if O >= MIN_GEMM_ROWS:  # a GEMM per image, straight into its output
        def per_image(n0, n1):
            np.matmul(wm, _im2col(x[n0:n1], khw, ohw, arg, tile, copy=copy_windows), out=o3[n0:n1])
        _split(N, tile, per_image)
        return out

    def few_outputs(n0, n1):  # one GEMM over the tile's images, (O, m*L), then laid out as (m, O, L)
        m = n1 - n0
        cols = _im2col(x[n0:n1], khw, ohw, arg, tile, True, copy_windows).reshape(K, m * L)
        prod = np.matmul(wm, cols, out=_scratch("prod", (O * tile * L,), x.dtype)[:O * m * L].reshape(O, m * L))
        np.copyto(o3[n0:n1], prod.reshape(O, m, L).transpose(1, 0, 2))
    _split(N, tile, few_outputs)
    return out


@widened(split=first_axis)  # float16 storage, float32 BLAS, a chunk of images at a time
def conv2d_dx_into(out, g, w, arg, copy_windows=None):
    """out (N, C, H, W): the input gradient, each window's gradient W^T @ g added back where it came from."""
    N, O = g.shape[:2]
    C, khw, ohw = w.shape[1], w.shape[2:], g.shape[2:]
    K, L = C * khw[0] * khw[1], ohw[0] * ohw[1]
    wt, g3 = np.ascontiguousarray(w).reshape(O, K).T, g.reshape(N, O, L)
    tile = _tile(K * L * g.itemsize, N)
    if _pointwise(khw, arg):
        o3 = out.reshape(N, C, L)
        _split(N, tile, lambda n0, n1: np.matmul(wt, g3[n0:n1], out=o3[n0:n1]))
        return out
    (pt, pb, pl, pr), (sh, sw), (dh, dw), (H, W) = arg
    full = (dh * (khw[0] - 1) - pt, dh * (khw[0] - 1) - pb, dw * (khw[1] - 1) - pl, dw * (khw[1] - 1) - pr)
    if (sh, sw) == (1, 1) and min(full) >= 0 and C >= MIN_GEMM_ROWS:
        # stride 1: the input gradient is g padded to a full correlation with the flipped, transposed kernel, a
        # forward convolution (one window copy and a GEMM per tile, not a GEMM and kh*kw strided adds)
        flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
        return conv2d_into(out, g, flipped, (full, (1, 1), (dh, dw)), copy_windows)
    if (sh, sw) == (1, 1):
        _split(N, tile, functools.partial(_dx_grid, out, g, wt, tuple(khw), arg, tile))
        return out
    padded = any(arg[0])

    def body(n0, n1):
        m = n1 - n0
        cols = np.matmul(wt, g3[n0:n1], out=_scratch("cols", (tile * K * L,), g.dtype)[:m * K * L]
                         .reshape(m, K, L)).reshape((m, C) + tuple(khw) + tuple(ohw))
        acc = _scratch("dxpad", (tile, C, H + pt + pb, W + pl + pr), g.dtype)[:m] if padded else out[n0:n1]
        acc[...] = 0
        for i in range(khw[0]):
            for j in range(khw[1]):
                acc[:, :, i * dh:i * dh + sh * (ohw[0] - 1) + 1:sh,
                    j * dw:j * dw + sw * (ohw[1] - 1) + 1:sw] += cols[:, :, i, j]
        if padded:
            out[n0:n1] = acc[:, :, pt:pt + H, pl:pl + W]
    _split(N, tile, body)
    return out


def _dx_grid(out, g, wt, khw, arg, tile, n0, n1):
    """Stride 1: the window gradients of images n0..n1 added back on the padded image's grid. g is laid
    on rows of the padded width (zero past ow), so each window offset (i, j) is ONE shifted run of oh * Wp
    pixels, added with long contiguous inner loops instead of rows of ow (4x faster in NumPy)."""
    (pt, pb, pl, pr), _, (dh, dw), (H, W) = arg
    m, O, oh, ow = (n1 - n0,) + g.shape[1:]
    (kh, kw), K, C = khw, wt.shape[0], out.shape[1]
    Hp, Wp = H + pt + pb, W + pl + pr
    grid = _scratch("dxgrid", (tile, O, oh, Wp), g.dtype)[:m]
    grid[..., :ow] = g[n0:n1]
    grid[..., ow:] = 0
    run = oh * Wp
    cols = np.matmul(wt, grid.reshape(m, O, run), out=_scratch("cols", (tile * K * run,), g.dtype)[:m * K * run]
                     .reshape(m, K, run)).reshape(m, C, kh, kw, run)
    acc = _scratch("dxacc", (tile, C, Hp * Wp + dw * (kw - 1)), g.dtype)[:m]
    acc[...] = 0
    for i in range(kh):
        for j in range(kw):
            at = i * dh * Wp + j * dw
            acc[:, :, at:at + run] += cols[:, :, i, j]
    out[n0:n1] = acc[:, :, :Hp * Wp].reshape(m, C, Hp, Wp)[:, :, pt:pt + H, pl:pl + W]


def conv2d_dw_into(out, x, g, arg, copy_windows=None):
    """out (O, C, kh, kw): the weight gradient, sum over images of g (O, L) @ window matrix^T (L, K). Float16
    x and g are widened one tile at a time (`widen_tile`), the tiles' products summed in float32 and rounded
    once into out: `widened` would convert them whole, and the images' sum does not split into chunks."""
    N, C = x.shape[:2]
    O, khw, ohw = g.shape[1], out.shape[2:], g.shape[2:]
    K, L = C * khw[0] * khw[1], ohw[0] * ohw[1]
    wide = compute_dtype(out.dtype)
    g3 = g.reshape(N, O, L)
    tile = _tile((K + O) * L * wide.itemsize, N)

    def body(n0, n1):
        m = n1 - n0
        xs, gs = widen_tile(x[n0:n1], "dw_x"), widen_tile(g3[n0:n1], "dw_g")
        cols = _im2col(xs, khw, ohw, arg, tile, True, copy_windows).reshape(K, m * L)
        if m == 1:
            return np.matmul(gs[0], cols.T)
        gt = _scratch("gt", (O * tile * L,), wide)[:O * m * L].reshape(O, m, L)
        np.copyto(gt, gs.transpose(1, 0, 2))
        return np.matmul(gt.reshape(O, m * L), cols.T)
    parts = _split(N, tile, body)
    acc = parts[0]
    for p in parts[1:]:
        acc += p
    narrow_into(acc, out.reshape(O, K))
    return out


def _new(fn):
    return lambda n, a, b: fn(np.empty(n.shape, n.dtype), a, b, n.arg)


def _conv_vjp(n, g):
    x, w = n.srcs
    return (build("conv2d_dx", g, w, arg=n.arg + (x.shape[2:],)),
            build("conv2d_dw", x, g, arg=n.arg + (w.shape[2:],)))


def _dx_vjp(n, gg):
    g, w = n.srcs
    return build("conv2d", gg, w, arg=n.arg[:3]), build("conv2d_dw", gg, g, arg=n.arg[:3] + (w.shape[2:],))


def _dw_vjp(n, gw):
    x, g = n.srcs
    return build("conv2d_dx", g, gw, arg=n.arg[:3] + (x.shape[2:],)), build("conv2d", x, gw, arg=n.arg[:3])


def _macs(out_shape, window_shape) -> int:
    """2 FLOPs (a multiply-add) per output of the forward convolution and weight of a window."""
    return 2 * math.prod(out_shape) * math.prod(window_shape)


# the three products share one count: each pairs every forward output with every weight of its window
declare("conv2d", "window", _conv_rule, _new(conv2d_into), _conv_vjp, into=conv2d_into,
        flops=lambda n: _macs(n.shape, n.srcs[1].shape[1:]))
declare("conv2d_dx", "window", _dx_rule, _new(conv2d_dx_into), _dx_vjp, into=conv2d_dx_into,
        flops=lambda n: _macs(n.srcs[0].shape, n.srcs[1].shape[1:]))
declare("conv2d_dw", "window", _dw_rule, _new(conv2d_dw_into), _dw_vjp, into=conv2d_dw_into,
        flops=lambda n: _macs(n.srcs[1].shape, n.shape[1:]))
