"""The native float16 <-> float32 conversion (`runtime/half.py`) is NumPy's `astype`, bit for bit: every
float16 bit pattern widened, random float32 bit patterns (NaNs with payloads, signaling ones, subnormals, values
that overflow to inf or round to zero) narrowed, ties rounded to even; layouts, tails shorter than a vector and
the threaded split; and the float32 chunks of `runtime/widen.py` give the float32 routine's result rounded once:
exactly for the convolutions (chunks of images, the weight gradient's tiles), up to the last float32 bit for
products (chunks of rows or columns are other BLAS calls)."""
import numpy as np
import pytest

from tinytorch.compiler.llvm import im2col
from tinytorch.compiler.ops import conv
from tinytorch.runtime import gemm, half, widen

pytestmark = pytest.mark.skipif(not half.available(), reason="no F16C (or llvmlite) on this machine")


def _bits(a):
    return a.view(np.uint16 if a.itemsize == 2 else np.uint32)


def test_every_float16_widens_as_numpy():
    src = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    got = half.convert(src, np.empty(src.shape, np.float32))
    np.testing.assert_array_equal(_bits(got), _bits(src.astype(np.float32)))


def test_random_float32_bit_patterns_narrow_as_numpy(rng):
    src = rng.integers(0, 1 << 32, 1 << 20, dtype=np.uint64).astype(np.uint32).view(np.float32)
    edges = np.array([0x7F800001, 0xFF801FFF, 0x7F802000, 0x7FC00001, 0x7FFFFFFF,  # NaNs: signaling, payloads
                      0x477FF000, 0x477FEFFF, 0x47800000, 0x33000000, 0x33000001, 0x387FC000,  # overflow, tiny
                      0x3F801000, 0x3F803000, 0x80000000], np.uint32).view(np.float32)  # ties to even, -0
    src = np.concatenate([src, edges, rng.standard_normal(4097).astype(np.float32) * 7e4])
    with np.errstate(all="ignore"):
        want = src.astype(np.float16)
    got = half.convert(src, np.empty(src.shape, np.float16))
    np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 1000])
def test_lengths_off_the_vector_width(rng, n):
    src = rng.standard_normal(n).astype(np.float16)
    np.testing.assert_array_equal(half.convert(src, np.empty(n, np.float32)), src.astype(np.float32))


def test_layouts_and_threads(rng):
    a = rng.standard_normal((300, 7001)).astype(np.float32)  # 2.1M elements: split across threads
    np.testing.assert_array_equal(half.convert(a, np.empty(a.shape, np.float16), threads=2), a.astype(np.float16))
    t = a[:, :40].astype(np.float16).T  # F-ordered: converted into an F-ordered tile
    tile = widen.widen_tile(t, "test")
    assert tile.flags.f_contiguous and tile.dtype == np.float32
    np.testing.assert_array_equal(tile, t.astype(np.float32))
    h = a.astype(np.float16)
    block = h[:, 100:3000]  # a block of columns: rows of one run each, natively, split across threads
    np.testing.assert_array_equal(half.convert(block, np.empty(block.shape, np.float32), threads=2),
                                  block.astype(np.float32))
    into = np.zeros(h.shape, np.float16)
    half.convert(a[:, 7:40], into[:, 7:40])
    np.testing.assert_array_equal(into[:, 7:40], h[:, 7:40])
    assert not into[:, :7].any() and not into[:, 40:].any()
    s = h[::3, 5:90:2]  # strided: NumPy's copy
    np.testing.assert_array_equal(widen.widen_tile(s, "test"), s.astype(np.float32))
    with pytest.raises(ValueError, match="shapes differ"):
        half.convert(a, np.empty((2, 2), np.float16))


def _f16(rng, *shape):
    return rng.standard_normal(shape).astype(np.float16)


def _as_before(fn, *arrays, out_shape, **kw):
    """The routine in float32 on the whole widened operands, rounded once: what `widened` computed before it
    worked in tiles."""
    out = np.empty(out_shape, np.float32)
    fn(out, *(a.astype(np.float32) for a in arrays), **kw)
    return out.astype(np.float16)


ARGS = [((1, 1, 1, 1), (1, 1), (1, 1)), ((0, 0, 0, 0), (2, 2), (1, 1)), ((0, 0, 0, 0), (1, 1), (1, 1))]


@pytest.mark.parametrize("arg", ARGS)
@pytest.mark.parametrize("O", [4, 20])
@pytest.mark.parametrize("native", [False, True])
def test_convolutions_in_chunks_are_the_whole_float32_routine(rng, monkeypatch, arg, O, native):
    monkeypatch.setattr(widen, "CHUNK_BYTES", 9000)  # several chunks of images
    copy = im2col.copier(np.float32) if native else None
    x, w = _f16(rng, 9, 18, 7, 6), _f16(rng, O, 18, 3, 3)
    oh, ow = conv._out_hw((7, 6), (3, 3), arg)
    y = conv.conv2d_into(np.empty((9, O, oh, ow), np.float16), x, w, arg, copy)
    np.testing.assert_array_equal(y, _as_before(conv.conv2d_into, x, w, arg=arg, copy_windows=copy,
                                                out_shape=y.shape))
    g = _f16(rng, 9, O, oh, ow)
    dx = conv.conv2d_dx_into(np.empty(x.shape, np.float16), g, w, arg + ((7, 6),), copy)
    np.testing.assert_array_equal(dx, _as_before(conv.conv2d_dx_into, g, w, arg=arg + ((7, 6),),
                                                 copy_windows=copy, out_shape=x.shape))
    dw = conv.conv2d_dw_into(np.empty(w.shape, np.float16), x, g, arg + ((3, 3),), copy)
    np.testing.assert_array_equal(dw, _as_before(conv.conv2d_dw_into, x, g, arg=arg + ((3, 3),),
                                                 copy_windows=copy, out_shape=w.shape))


def _ulps(got, want):
    """float16 units in the last place between two float16 arrays of the same signs."""
    return np.abs(got.view(np.int16).astype(np.int32) - want.view(np.int16).astype(np.int32))


@pytest.mark.parametrize("shapes", [((64, 300), (300, 40)), ((3, 33, 16), (3, 16, 50)), ((700, 2000), (2000, 5))])
def test_matmul_in_float32_chunks_is_the_float32_product_rounded_once(rng, monkeypatch, shapes):
    """Chunks of rows (columns) are BLAS calls of other shapes, whose float32 sums can differ in the last bit
    (OpenBLAS's edge kernels; the threaded split of gemm.py does the same): a float16 result is the whole
    float32 product's, or next to it where that bit decided a tie, never a float16 accumulation's."""
    monkeypatch.setattr(widen, "CHUNK_BYTES", 20000)
    a, b = _f16(rng, *shapes[0]), _f16(rng, *shapes[1])
    out_shape = np.matmul(a[..., :1, :], b).shape[:-2] + (a.shape[-2], b.shape[-1])
    got = gemm.matmul(a, b, np.empty(out_shape, np.float16))
    want = _as_before(gemm._matmul_into, a, b, out_shape=out_shape)
    assert _ulps(got, want).max() <= 1 and (got == want).mean() > 0.99
    bt = np.ascontiguousarray(b.swapaxes(-1, -2)).swapaxes(-1, -2)  # an F-ordered (transposed) operand
    np.testing.assert_array_equal(gemm.matmul(a, bt, np.empty(out_shape, np.float16)), got)
