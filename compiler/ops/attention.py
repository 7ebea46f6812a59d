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

import numpy as np

from ...runtime import blas, parallel
from .table import build, declare, shapes

BLOCK = 128  # the default tile edge: a 128 x 128 float32 tile of scores (64 KiB) stays in L2 with its operands


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

def _tile_mask(s, mask, causal, r0, c0):
    """Apply the mask to the score tile s (rows r0.., cols c0..) in place."""
    if mask is not None:
        m = mask[r0:r0 + s.shape[0], c0:c0 + s.shape[1]]
        if m.dtype.kind == "b":
            np.copyto(s, -np.inf, where=~m)
        else:
            s += m
    if causal and c0 + s.shape[1] - 1 > r0:  # the tile crosses the diagonal: mask key j > query i
        rows = np.arange(r0, r0 + s.shape[0])[:, None]
        np.copyto(s, -np.inf, where=np.arange(c0, c0 + s.shape[1])[None, :] > rows)


def _key_end(causal, r1, S) -> int:
    """One past the last key any of the queries before r1 sees."""
    return min(S, r1) if causal else S


def _forward_rows(out, q, k, v, mask, scale, causal, block, r0, r1):
    """out[r0:r1] (its Ev columns and the lse column) of one batch index, over key tiles with an online softmax."""
    n, S, Ev = r1 - r0, k.shape[0], v.shape[1]
    qs = q[r0:r1] * np.asarray(scale, q.dtype)
    m = np.full(n, -np.inf, q.dtype)
    l = np.zeros(n, q.dtype)
    acc = np.zeros((n, Ev), q.dtype)
    s_buf = np.empty((n, block), q.dtype)
    for c0 in range(0, _key_end(causal, r1, S), block):
        c1 = min(S, c0 + block)
        s = np.matmul(qs, k[c0:c1].T, out=s_buf[:, :c1 - c0])
        _tile_mask(s, mask, causal, r0, c0)
        m_new = np.maximum(m, s.max(axis=1))
        shift = np.where(m_new == -np.inf, 0, m_new)  # a row masked so far: exp(-inf - 0) = 0, not NaN
        alpha = np.exp(m - shift)
        s -= shift[:, None]
        p = np.exp(s, out=s)
        l *= alpha
        l += p.sum(axis=1)
        acc *= alpha[:, None]
        acc += p @ v[c0:c1]
        m = m_new
    empty = l == 0  # every key masked: 0, as PyTorch's safe softmax
    np.divide(acc, np.where(empty, 1, l)[:, None], out=out[r0:r1, :Ev])
    with np.errstate(divide="ignore"):
        out[r0:r1, Ev] = np.where(empty, -np.inf, np.where(m == -np.inf, 0, m) + np.log(l))


def _each_batch(batch: tuple, body):
    """body(index) for every index of the batch dims, split across the runtime's threads, BLAS on one thread
    meanwhile (runtime/blas.py: a BLAS fork per small call stalls on a loaded machine)."""
    idx = list(np.ndindex(*batch))
    threads = parallel.num_threads() if blas.available() else 1
    with blas.single_threaded():
        parallel.split(lambda a, b: [body(i) for i in idx[a:b]], len(idx), threads)


def attention_into(out, q, k, v, *rest, arg, copy_windows=None):
    """out (*B, L, Ev + 1): attention of q, k, v (and the mask in `rest`), then each row's logsumexp."""
    scale, causal, block = arg
    mask = rest[0] if rest else None
    L = q.shape[-2]
    per_rows = [(r0, min(L, r0 + block)) for r0 in range(0, L, block)]

    def body(i):
        for r0, r1 in per_rows:
            _forward_rows(out[i], q[i], k[i], v[i], None if mask is None else mask[i], scale, causal, block, r0, r1)
    _each_batch(q.shape[:-2], body)
    return out


def _backward_one(dq, dk, dv, q, k, v, o, g, lse, mask, scale, causal, block):
    """The three gradients of one batch index: key tiles outside (dk, dv accumulate in registers of the
    tile), query tiles inside (dq accumulates across key tiles)."""
    L, S = q.shape[0], k.shape[0]
    D = np.einsum("ij,ij->i", g, o)
    lse = np.where(lse == -np.inf, np.inf, lse)  # a fully masked row: p = exp(s - inf) = 0
    sc = np.asarray(scale, q.dtype)
    dq[...] = 0
    for c0 in range(0, S, block):
        c1 = min(S, c0 + block)
        kb, vb = k[c0:c1], v[c0:c1]
        dkb, dvb = dk[c0:c1], dv[c0:c1]
        dkb[...] = 0
        dvb[...] = 0
        for r0 in range(c0 if causal else 0, L, block):  # causal: queries before c0 see none of these keys
            r1 = min(L, r0 + block)
            s = (q[r0:r1] * sc) @ kb.T
            _tile_mask(s, mask, causal, r0, c0)
            s -= lse[r0:r1, None]
            p = np.exp(s, out=s)
            dvb += p.T @ g[r0:r1]
            dp = g[r0:r1] @ vb.T
            dp -= D[r0:r1, None]
            dp *= p
            dp *= sc  # ds * scale: the gradient of the scores before the scale
            dq[r0:r1] += dp @ kb
            dkb += dp.T @ q[r0:r1]


def attention_grad_into(out, q, k, v, packed, g, *rest, arg, copy_windows=None):
    """out (*B, L*E + S*E + S*Ev): dq, dk, dv of attention, flat, recomputing the scores tile by tile."""
    scale, causal, block = arg
    mask = rest[0] if rest else None
    L, S, E, Ev = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
    a, b = L * E, L * E + S * E

    def body(i):
        flat = out[i]
        _backward_one(flat[:a].reshape(L, E), flat[a:b].reshape(S, E), flat[b:].reshape(S, Ev), q[i], k[i], v[i],
                      packed[i][:, :Ev], g[i][:, :Ev], packed[i][:, Ev], None if mask is None else mask[i],
                      scale, causal, block)
    _each_batch(q.shape[:-2], body)
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


declare("attention", "window", _rule, _new(attention_into), _vjp, into=attention_into)
declare("attention_grad", "window", _grad_rule, _new(attention_grad_into), _grad_vjp, into=attention_grad_into)
