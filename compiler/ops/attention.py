"""Attention as ops of their own: `attention` (FlashAttention's forward) and `attention_grad` (its backward).

softmax(q kᵀ · scale + mask) v composed from matmul, max, exp, sum and div materializes the (..., L, S)
score matrix, and training keeps it (and the probabilities) alive until the backward: memory grows as T².
These ops never hold more than one (block × block) tile of scores per thread. The forward streams over
blocks of keys with an online softmax (a running row max m, a running row sum l, an accumulator rescaled by
exp(m_old - m_new) whenever the max grows), BLAS for each tile's q·kᵀ and p·v. The backward recomputes each
tile's probabilities from q, k and the row's logsumexp instead of keeping them: p = exp(s - lse),
dv += pᵀ·dO, dp = dO·vᵀ, ds = p ∘ (dp - D) with D = rowsum(dO ∘ O), dq += ds·k·scale, dk += dsᵀ·q·scale.

`attention(q, k, v[, mask])`: q (*B, L, E), k (*B, S, E), v (*B, S, Ev), mask (*B, L, S) bool (True takes
part) or of q's dtype (added to the scores); equal batch dims (the frontend broadcasts with free `expand`s).
arg `(scale, causal, block)`: causal masks key j > query i (top-left aligned, PyTorch's `is_causal`) and
skips the tiles wholly above the diagonal; `block` is the tile edge. The result is PACKED, (*B, L, Ev + 1):
the attention output, then one more column holding each row's logsumexp, which the backward needs (a
second op would recompute the whole forward to get it; a second output is not something a node has). The
frontend and the attention pass only ever expose the `slice` [..., :Ev]; the lse column is treated as a
constant (its gradient is ignored), which is exact since nothing reads it but `attention_grad`.

`attention_grad(q, k, v, out, g[, mask])`, out the packed forward result and g the gradient of it, is the
three gradients packed flat, (*B, L*E + S*E + S*Ev): dq, dk, dv in that order (one pass over the tiles
computes all three; `attention`'s VJP slices and reshapes them out). Its own VJP is not implemented:
double backward through attention raises (switch the attention pass off to get the composed form).

A row whose keys are all masked gives 0 and zero gradients, as PyTorch's SDPA (its safe softmax); the
naive composed graph gives NaN there. Both backends call the routines here (`OpDef.into`).
"""
from __future__ import annotations

import math

import numpy as np

from ...runtime import blas, parallel
from ...runtime.widen import widened
from .table import build, declare, shapes

BLOCK = 128  # the default tile edge: a 128 x 128 float32 tile of scores (64 KiB) stays in L2 with its operands
GROUP_BYTES = 1 << 20  # the score tiles of one group of batch indices, computed by one batched BLAS call
# Below this many bytes of (*batch, L, S) scores the composed form is faster: its softmax is one native kernel
# and the streaming routine's per-tile NumPy calls cost more than the matrix (measured on a 4-layer, 128-wide GPT,
# CPU time, 1 thread: a batch-32 T-128 training step, 8 MiB of scores a layer, 410 ms composed vs 530 streamed;
# 200-token decoding 1000 vs 430 tokens/s; a 512-token prefill, 4 MiB, even). At T = 2048 (64 MiB for 4 heads) the
# streaming op is faster and plans 24-63x less memory. Tests and benchmarks set it to 0 to stream every size.
FUSE_MIN_SCORE_BYTES = 32 << 20


def worth_streaming(batch: tuple, L: int, S: int, itemsize: int) -> bool:
    """Whether attention over (*batch, L, S) scores runs as the streaming `attention` op (else composed)."""
    n = itemsize * L * S
    for d in batch:
        n *= d
    return n >= FUSE_MIN_SCORE_BYTES


def _batch(srcs) -> tuple:
    return tuple(srcs[0].shape[:-2])


def _check_mask(op, srcs, mask, L, S):
    if mask.shape != _batch(srcs) + (L, S):
        raise ValueError(f"{op}: the mask {tuple(mask.shape)} must be (*batch, L, S) = {_batch(srcs) + (L, S)}; "
                         f"broadcast it first (F.scaled_dot_product_attention does)")
    if mask.dtype.kind != "b" and mask.dtype != srcs[0].dtype:
        raise TypeError(f"{op}: a mask is bool or of the queries' dtype {srcs[0].dtype.name}, "
                        f"got {mask.dtype.name}")


def _check_qkv(op, q, k, v):
    if q.ndim < 2 or q.ndim != k.ndim or q.ndim != v.ndim or q.shape[:-2] != k.shape[:-2] or \
            q.shape[:-2] != v.shape[:-2] or q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{op}: cannot attend with q, k, v {shapes((q, k, v))}; need (*B, L, E), (*B, S, E), "
                         f"(*B, S, Ev) with equal batch dims")
    if q.dtype.kind != "f" or q.dtype != k.dtype or q.dtype != v.dtype:
        raise TypeError(f"{op}: q, k, v must share one floating dtype, got {q.dtype.name}, {k.dtype.name}, "
                        f"{v.dtype.name}")


def _rule(srcs, arg):
    if len(srcs) not in (3, 4):
        raise ValueError(f"attention: takes q, k, v and an optional mask, got {len(srcs)} operands")
    q, k, v = srcs[:3]
    _check_qkv("attention", q, k, v)
    if len(srcs) == 4:
        _check_mask("attention", srcs, srcs[3], q.shape[-2], k.shape[-2])
    return q.shape[:-1] + (v.shape[-1] + 1,), q.dtype


def _grad_rule(srcs, arg):
    if len(srcs) not in (5, 6):
        raise ValueError(f"attention_grad: takes q, k, v, out, g and an optional mask, got {len(srcs)} operands")
    q, k, v, out, g = srcs[:5]
    _check_qkv("attention_grad", q, k, v)
    packed = q.shape[:-1] + (v.shape[-1] + 1,)
    if out.shape != packed or g.shape != packed or out.dtype != q.dtype or g.dtype != q.dtype:
        raise ValueError(f"attention_grad: out {tuple(out.shape)} and its gradient {tuple(g.shape)} must both be "
                         f"the packed attention result {packed} of dtype {q.dtype.name}")
    if len(srcs) == 6:
        _check_mask("attention_grad", srcs, srcs[5], q.shape[-2], k.shape[-2])
    L, S, E, Ev = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
    return _batch(srcs) + (L * E + S * E + S * Ev,), q.dtype


# ---------------------------------------------------------------- the routines (both backends call these)
# Each works on a group of G batch indices at once (leading axis G; batched BLAS), G sized so that the
# group's score tiles fit GROUP_BYTES: a GPT's 128 (batch, head) pairs at T = 128 are a few calls, not 128.

def _tile_mask(s, mask, causal, r0, c0):
    """Apply the mask to the score tiles s (G, rows r0.., cols c0..) in place."""
    if mask is not None:
        m = mask[:, r0:r0 + s.shape[1], c0:c0 + s.shape[2]]
        if m.dtype.kind == "b":
            np.copyto(s, -np.inf, where=~m)
        else:
            s += m
    if causal and c0 + s.shape[2] - 1 > r0:  # the tile crosses the diagonal: mask key j > query i
        above = np.arange(c0, c0 + s.shape[2])[None, :] > np.arange(r0, r0 + s.shape[1])[:, None]
        np.copyto(s, -np.inf, where=above)


def _forward_rows(out, q, k, v, mask, scale, causal, block, r0, r1):
    """out[:, r0:r1] (the Ev columns and the lse column) of a group, over key tiles with an online softmax."""
    G, n, S, Ev = q.shape[0], r1 - r0, k.shape[1], v.shape[2]
    qs = q[:, r0:r1] * np.asarray(scale, q.dtype)
    # BEGIN EXERCISE m19.online_softmax
    m = np.full((G, n, 1), -np.inf, q.dtype)
    l = np.zeros((G, n, 1), q.dtype)
    acc = np.zeros((G, n, Ev), q.dtype)
    s_buf = np.empty((G, n, min(block, S)), q.dtype)
    for c0 in range(0, min(S, r1) if causal else S, block):  # causal: no query before r1 sees a key past it
        c1 = min(S, c0 + block)
        s = np.matmul(qs, k[:, c0:c1].transpose(0, 2, 1), out=s_buf[:, :, :c1 - c0])
        _tile_mask(s, mask, causal, r0, c0)
        m_new = np.maximum(m, s.max(axis=2, keepdims=True))
        shift = np.where(m_new == -np.inf, 0, m_new)  # a row masked so far: exp(-inf - 0) = 0, not NaN
        alpha = np.exp(m - shift)
        s -= shift
        p = np.exp(s, out=s)
        l *= alpha
        l += p.sum(axis=2, keepdims=True)
        acc *= alpha
        acc += p @ v[:, c0:c1]
        m = m_new
    empty = l == 0  # every key masked: 0, as PyTorch's safe softmax
    np.divide(acc, np.where(empty, 1, l), out=out[:, r0:r1, :Ev])
    with np.errstate(divide="ignore"):
        out[:, r0:r1, Ev:] = np.where(empty, -np.inf, np.where(m == -np.inf, 0, m) + np.log(l))
    # END EXERCISE m19.online_softmax


def _flat(a, nb: int, copy: bool):
    """a with its nb batch dims flattened into one: a view where the strides allow (a mask broadcast over every
    batch dim is stride 0 throughout), a copy only if `copy` (q, k, v: linear in size), else None."""
    shape = (-1,) + a.shape[nb:]
    v = a.view()
    try:
        v.shape = shape
        return v
    except AttributeError:
        return a.reshape(shape) if copy else None


def _groups(out, operands, mask, tile: int, body):
    """body(out, *operands, mask), each cut to a group of batch indices (the batch dims flattened), the groups
    split across the runtime's threads, BLAS on one thread meanwhile (runtime/blas.py: a BLAS fork per small
    call stalls on a loaded machine). A mask whose batch dims do not flatten without a copy (that copy would
    be the T×T matrix) is taken one batch index at a time."""
    batch = operands[0].shape[:-2]
    nb, n = len(batch), int(np.prod(batch, dtype=np.int64))
    flats = [_flat(out, nb, False)] + [_flat(a, nb, True) for a in operands]
    mf = None if mask is None else _flat(mask, nb, False)
    threads = parallel.num_threads() if blas.available() else 1
    size = 1 if mask is not None and mf is None else max(1, min(GROUP_BYTES // max(tile, 1), -(-n // threads)))

    def run(lo, hi):
        for g0 in range(lo, hi, size):
            g1 = min(hi, g0 + size)
            m = None if mask is None else mf[g0:g1] if mf is not None else mask[np.unravel_index(g0, batch)][None]
            body(*[f[g0:g1] for f in flats], m)
    with blas.single_threaded():
        parallel.split(lambda a, b: run(a * size, min(n, b * size)), -(-n // size), threads)


def _tile_bytes(q, k, block) -> int:
    return min(block, q.shape[-2]) * min(block, k.shape[-2]) * q.itemsize


@widened  # float16 storage, float32 BLAS
def attention_into(out, q, k, v, *rest, arg, copy_windows=None):
    """out (*B, L, Ev + 1): attention of q, k, v (and the mask in `rest`), then each row's logsumexp."""
    scale, causal, block = arg
    L = q.shape[-2]

    def body(o, qg, kg, vg, mg):
        for r0 in range(0, L, block):
            _forward_rows(o, qg, kg, vg, mg, scale, causal, block, r0, min(L, r0 + block))
    _groups(out, (q, k, v), rest[0] if rest else None, _tile_bytes(q, k, block), body)
    return out


def _backward(dq, dk, dv, q, k, v, o, g, lse, mask, scale, causal, block):
    """The three gradients of a group: key tiles outside (dk, dv of the tile accumulate), query tiles inside
    (dq accumulates across key tiles)."""
    L, S = q.shape[1], k.shape[1]
    D = np.einsum("gij,gij->gi", g, o)[:, :, None]
    lse = np.where(lse == -np.inf, np.inf, lse)  # a fully masked row: p = exp(s - inf) = 0
    sc = np.asarray(scale, q.dtype)
    qs = q * sc
    dq[...] = 0
    for c0 in range(0, S, block):
        c1 = min(S, c0 + block)
        kb, vb = k[:, c0:c1], v[:, c0:c1]
        dkb, dvb = dk[:, c0:c1], dv[:, c0:c1]
        dkb[...] = 0
        dvb[...] = 0
        for r0 in range(c0 if causal else 0, L, block):  # causal: queries before c0 see none of these keys
            r1 = min(L, r0 + block)
            s = qs[:, r0:r1] @ kb.transpose(0, 2, 1)
            _tile_mask(s, mask, causal, r0, c0)
            s -= lse[:, r0:r1]
            p = np.exp(s, out=s)
            dvb += p.transpose(0, 2, 1) @ g[:, r0:r1]
            dp = g[:, r0:r1] @ vb.transpose(0, 2, 1)
            dp -= D[:, r0:r1]
            dp *= p
            dp *= sc  # ds * scale: the gradient of the scores before the scale
            dq[:, r0:r1] += dp @ kb
            dkb += dp.transpose(0, 2, 1) @ q[:, r0:r1]


@widened  # float16 storage, float32 BLAS
def attention_grad_into(out, q, k, v, packed, g, *rest, arg, copy_windows=None):
    """out (*B, L*E + S*E + S*Ev): dq, dk, dv of attention, flat, recomputing the scores tile by tile."""
    scale, causal, block = arg
    L, S, E, Ev = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
    a, b = L * E, L * E + S * E

    def body(o, qg, kg, vg, pack, grad, mg):
        G = o.shape[0]
        _backward(o[:, :a].reshape(G, L, E), o[:, a:b].reshape(G, S, E), o[:, b:].reshape(G, S, Ev), qg, kg, vg,
                  pack[:, :, :Ev], grad[:, :, :Ev], pack[:, :, Ev:], mg, scale, causal, block)
    _groups(out, (q, k, v, packed, g), rest[0] if rest else None, _tile_bytes(q, k, block), body)
    return out


def _new(fn):
    return lambda n, *arrays: fn(np.empty(n.shape, n.dtype), *arrays, arg=n.arg)


# ---------------------------------------------------------------- gradients as graph nodes

def unpack_grads(n, flat):
    """dq, dk, dv (graph nodes) out of attention_grad's flat result `flat`, for attention node `n`."""
    batch, at, grads = _batch(n.srcs), 0, []
    for src in n.srcs[:3]:
        size = src.shape[-2] * src.shape[-1]
        part = build("slice", flat, arg=tuple((0, d, 1) for d in batch) + ((at, at + size, 1),))
        grads.append(build("reshape", part, arg=tuple(src.shape)))
        at += size
    return grads


def _vjp(n, g):
    q, k, v = n.srcs[:3]
    rest = n.srcs[3:]
    flat = build("attention_grad", q, k, v, n, g, *rest, arg=n.arg)
    return tuple(unpack_grads(n, flat)) + (None,) * len(rest)


def _grad_vjp(n, gg):
    raise NotImplementedError("attention_grad: double backward through the fused attention is not implemented; "
                              "switch the attention pass off (tt.set_passes(disabled=['attention'])) to "
                              "differentiate the composed form")


SOFTMAX_FLOPS = 4  # per score: scale (or mask), subtract the running max, exp, add to the row sum


def _flops(n) -> int:
    """Every score of the full L x S matrix (a causal mask's skipped tiles are counted too): q.k (2E), its
    softmax, and p.v (2Ev)."""
    q, k, v = n.srcs[:3]
    return math.prod(n.shape[:-2]) * q.shape[-2] * k.shape[-2] * (2 * q.shape[-1] + 2 * v.shape[-1] + SOFTMAX_FLOPS)


def _grad_flops(n) -> int:
    """Per score: recompute q.k (2E) and its softmax, dP = dO.v (2Ev), dV += p dO (2Ev), dS, dQ += dS k (2E),
    dK += dS q (2E)."""
    q, k, v = n.srcs[:3]
    return math.prod(n.shape[:-1]) * q.shape[-2] * k.shape[-2] * (6 * q.shape[-1] + 4 * v.shape[-1]
                                                                  + 2 * SOFTMAX_FLOPS)


declare("attention", "window", _rule, _new(attention_into), _vjp, into=attention_into, flops=_flops)
declare("attention_grad", "window", _grad_rule, _new(attention_grad_into), _grad_vjp, into=attention_grad_into,
        flops=_grad_flops)
