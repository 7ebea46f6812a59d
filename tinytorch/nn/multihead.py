"""nn.MultiheadAttention, PyTorch's layer with PyTorch's parameter names, so a torch state_dict loads as is.

Parameters: `in_proj_weight` (3E, E) and `in_proj_bias` (3E,) hold the q, k and v projections stacked (or
`q_proj_weight`, `k_proj_weight` (E, kdim), `v_proj_weight` (E, vdim) when kdim/vdim differ from E), and
`out_proj` is a Linear(E, E). Masks follow PyTorch's MHA convention, the opposite of scaled_dot_product_attention's
for bool masks: True in `attn_mask` or `key_padding_mask` means "may NOT attend"; a float mask is added to the
scores. With need_weights=False the attention goes through F.scaled_dot_product_attention (the fused kernel when
the compiler's attention pass finds it); with need_weights=True the weights are computed here and returned,
averaged over heads unless average_attn_weights=False.
"""
from __future__ import annotations

import math

import numpy as np

from ..elementwise import as_tensor, where
from ..reduce import softmax
from . import functional as F
from . import init
from .attention import scaled_dot_product_attention
from .dropout import dropout
from .layers import Linear
from .module import Module
from .parameter import Parameter


def _param(*shape):
    return Parameter(np.zeros(shape, np.float32))


class MultiheadAttention(Module):
    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, kdim=None, vdim=None, dtype=None):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _param(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = _param(embed_dim, embed_dim)
            self.k_proj_weight = _param(embed_dim, self.kdim)
            self.v_proj_weight = _param(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = _param(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """As PyTorch: Xavier-uniform projections, zero biases."""
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if w is not None:
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _project(self, query, key, value):
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            wq, wk, wv = w[:e], w[e:2 * e], w[2 * e:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def _mask(self, attn_mask, key_padding_mask, n, L, S, dtype):
        """One additive float mask broadcastable to (N, H, L, S), or None."""
        out = None
        if attn_mask is not None:
            m = as_tensor(attn_mask)
            if m.ndim == 3:
                if m.shape != (n * self.num_heads, L, S):
                    raise ValueError(f"MultiheadAttention: a 3-D attn_mask must be (N*num_heads, L, S) = "
                                     f"{(n * self.num_heads, L, S)}, got {m.shape}")
                m = m.reshape(n, self.num_heads, L, S)
            elif m.shape != (L, S):
                raise ValueError(f"MultiheadAttention: a 2-D attn_mask must be (L, S) = {(L, S)}, got {m.shape}")
            out = _additive(m, dtype)
        if key_padding_mask is not None:
            k = as_tensor(key_padding_mask)
            if k.shape != (n, S):
                raise ValueError(f"MultiheadAttention: key_padding_mask must be (N, S) = {(n, S)}, got {k.shape}")
            k = _additive(k, dtype).reshape(n, 1, 1, S)
            out = k if out is None else out + k
        return out

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True, attn_mask=None,
                average_attn_weights: bool = True, is_causal: bool = False):
        """(attn_output, attn_weights or None), shaped as PyTorch's: output (L, N, E) or (N, L, E) with
        batch_first; weights (N, L, S), or (N, H, L, S) when average_attn_weights=False."""
        query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: is_causal=True is only a hint that attn_mask is the causal "
                               "mask, as in PyTorch; pass attn_mask too (e.g. nn.Transformer's causal mask)")
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = as_tensor(key_padding_mask).unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        if query.ndim != 3 or query.shape[-1] != self.embed_dim:
            raise ValueError(f"MultiheadAttention: query must be (L, N, E) ((N, L, E) with batch_first=True) "
                             f"with E = embed_dim {self.embed_dim}, got {tuple(query.shape)}")
        n, L, _ = query.shape
        S = key.shape[1]
        h, d = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)
        q, k, v = (t.reshape(n, t.shape[1], h, d).transpose(1, 2) for t in (q, k, v))
        mask = self._mask(attn_mask, key_padding_mask, n, L, S, q.dtype)
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d))
            w = softmax(scores if mask is None else scores + mask, -1)
            y = (dropout(w, p) if p > 0.0 else w) @ v
            weights = w.mean(1) if average_attn_weights else w
            if unbatched:
                weights = weights.squeeze(0)
        else:
            y = scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = self.out_proj(y.transpose(1, 2).reshape(n, L, self.embed_dim))
        if unbatched:
            y = y.squeeze(0)
        elif not self.batch_first:
            y = y.transpose(0, 1)
        return y, weights

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"


def _additive(mask, dtype):
    """PyTorch MHA masks as a float to add: a bool True (masked out) is -inf; a float mask as is."""
    if mask.dtype.kind == "b":
        return where(mask, as_tensor(-math.inf, dtype), as_tensor(0.0, dtype))
    return mask.to(dtype)
