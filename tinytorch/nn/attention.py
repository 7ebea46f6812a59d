"""Scaled dot-product attention, PyTorch's `F.scaled_dot_product_attention`.

softmax(q kᵀ · scale + mask) v over the last two dims; every dim before them is a batch dim (heads too) and
broadcasts. Without dropout, and when the scores would be large (`worth_streaming`: FUSE_MIN_SCORE_BYTES of
compiler/ops/attention.py), it records one `attention` op (a streaming kernel over key blocks that never holds
the T×T score matrix); with the attention pass switched off the compiler expands it back into the composed
form (see docs/DESIGN.md, "Attention"). Otherwise it is composed here: small score matrices run faster as a
matmul, one fused softmax kernel and a matmul, and dropout needs the materialized probabilities (a random mask
per score), which the streaming kernel never has.
"""
from __future__ import annotations

import math

import numpy as np

from ..compiler.ops.attention import BLOCK, worth_streaming
from ..elementwise import as_tensor, broadcast_shapes, broadcast_to, where
from ..reduce import softmax
from ..tensor_base import TensorBase, op_result
from .constants import const_tensor
from .dropout import dropout
from ..amp.autocast import autocast_op


def _check(q, k, v, attn_mask, is_causal):
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"scaled_dot_product_attention: q, k, v need (..., L, E), (..., S, E), (..., S, Ev); "
                         f"got {q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: q {q.shape} and k {k.shape} must share the last dim, "
                         f"k and v {v.shape} the key dim (-2)")
    if q.dtype.kind != "f" or q.dtype != k.dtype or q.dtype != v.dtype:
        raise TypeError(f"scaled_dot_product_attention: q, k, v must share one floating dtype, got "
                        f"{q.dtype.name}, {k.dtype.name}, {v.dtype.name}")
    if attn_mask is not None and is_causal:
        raise ValueError("scaled_dot_product_attention: pass attn_mask or is_causal=True, not both "
                         "(fold the causal mask into attn_mask)")


@autocast_op("scaled_dot_product_attention")
def scaled_dot_product_attention(query: TensorBase, key: TensorBase, value: TensorBase, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale=None,
                                 enable_gqa: bool = False) -> TensorBase:
    """softmax(query keyᵀ · scale + mask) value, as PyTorch: `attn_mask` bool (True takes part) or float
    (added to the scores), broadcast to (..., L, S); `is_causal` masks key j > query i (top-left aligned);
    `scale` defaults to 1/sqrt(E); `dropout_p` drops attention weights (pass 0.0 when not training)."""
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    _check(q, k, v, attn_mask, is_causal)
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        rep = q.shape[-3] // k.shape[-3]
        k, v = k.repeat_interleave(rep, dim=-3), v.repeat_interleave(rep, dim=-3)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    L, S = q.shape[-2], k.shape[-2]
    if dropout_p == 0.0 and worth_streaming(_batch_of(q, k, v, attn_mask), L, S, q.dtype.itemsize):
        return _fused(q, k, v, attn_mask, is_causal, scale)
    return _composed(q, k, v, attn_mask, dropout_p, is_causal, scale)


def _composed(q, k, v, attn_mask, dropout_p, is_causal, scale) -> TensorBase:
    """The composed form: the (..., L, S) scores materialized, masked, softmaxed (and dropped out), times v. Its own
    undecorated function, so a course notebook can give it the student's code."""
    L, S = q.shape[-2], k.shape[-2]
    # BEGIN EXERCISE m19.sdpa_composed
    scores = (q @ k.transpose(-2, -1)) * scale
    if is_causal:
        attn_mask = const_tensor(np.tril(np.ones((L, S), dtype=bool)))  # a constant: a captured step replays
    if attn_mask is not None:
        attn_mask = as_tensor(attn_mask)
        if attn_mask.dtype.kind == "b":
            scores = where(attn_mask, scores, as_tensor(-math.inf, scores.dtype))
        else:
            scores = scores + attn_mask.to(scores.dtype)
    weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights @ v
    # END EXERCISE m19.sdpa_composed


def _batch_of(q, k, v, mask) -> tuple:
    """The batch dims q, k, v (and the mask) broadcast to."""
    shapes = [q.shape[:-2], k.shape[:-2], v.shape[:-2]]
    if mask is not None:
        shapes.append(mask.shape[:-2] if mask.ndim >= 2 else ())
    return broadcast_shapes(*shapes, op="scaled_dot_product_attention")


def _fused(q, k, v, attn_mask, is_causal, scale) -> TensorBase:
    """One `attention` node over q, k, v (and the mask) broadcast to one batch shape; its result packs each
    row's logsumexp as a last column (for the backward), sliced off here."""
    L, S = q.shape[-2], k.shape[-2]
    mask = None if attn_mask is None else as_tensor(attn_mask)
    batch = _batch_of(q, k, v, mask)
    srcs = [broadcast_to(t, batch + t.shape[-2:]) for t in (q, k, v)]
    if mask is not None:
        if mask.dtype.kind != "b":
            mask = mask.to(q.dtype)
        srcs.append(broadcast_to(mask, batch + (L, S)))
    out = op_result("attention", tuple(srcs), arg=(scale, bool(is_causal), BLOCK))
    return out[..., :v.shape[-1]]
