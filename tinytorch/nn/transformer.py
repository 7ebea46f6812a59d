"""A GPT in tinytorch.nn, nanoGPT's architecture with nanoGPT's parameter names, so its checkpoints load.

    transformer.wte, transformer.wpe          token and position embeddings
    transformer.h.{i}.ln_1, .attn.c_attn, .attn.c_proj, .ln_2, .mlp.c_fc, .mlp.c_proj    pre-norm blocks
    transformer.ln_f, lm_head                 final LayerNorm and the head (tied to wte by default)

`forward(idx, targets=None)` returns (logits, loss) as nanoGPT: with targets, the logits of every position and
the mean cross-entropy (targets of -1 ignored); without, the logits of the last position only, (B, 1, V).
`generate` (tinytorch/generation.py) decodes with a compiled KV cache. Initialisation is nanoGPT's: N(0, 0.02)
weights, zero biases, and the residual projections scaled by 1/sqrt(2 n_layer).
"""
from __future__ import annotations

import math

from ..capture import compile as capture
from ..creation import arange
from ..generation import Decoder, KVCache
from . import init
from .attention import scaled_dot_product_attention
from .container import ModuleDict, ModuleList
from .layers import Dropout, Embedding, GELU, Linear
from .losses import cross_entropy
from .module import Module
from .normalization import LayerNorm
from .utils import clip_grad_norm_

INIT_STD = 0.02  # nanoGPT's (and GPT-2's) weight init scale


class CausalSelfAttention(Module):
    """Multi-head causal self-attention with one fused q/k/v projection (c_attn) and an output one (c_proj)."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"CausalSelfAttention: n_embd {n_embd} must be divisible by n_head {n_head}")
        self.n_embd, self.n_head, self.dropout = n_embd, n_head, dropout
        self.c_attn = Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = Dropout(dropout)

    def forward(self, x, cache=None):
        """x (B, T, C). `cache` (a generation.LayerCache): while prefilling, write this layer's keys and values
        into it; while decoding (T = 1), attend over every cached key up to the cache's position."""
        # BEGIN EXERCISE m20.self_attention
        b, t, c = x.shape
        q, k, v = (y.reshape(b, t, self.n_head, c // self.n_head).transpose(1, 2)
                   for y in self.c_attn(x).split(self.n_embd, dim=2))
        if cache is not None and cache.owner.pos is not None:
            k, v, mask = cache.decode(k, v)
            y = scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:
            if cache is not None:
                cache.prefill(k, v)
            p = self.dropout if self.training else 0.0
            y = scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(b, t, c)))
        # END EXERCISE m20.self_attention


class MLP(Module):
    def __init__(self, n_embd: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.c_fc = Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = GELU()
        self.c_proj = Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(Module):
    """Pre-norm transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln_2 = LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x, cache=None):
        # BEGIN EXERCISE m20.block_forward
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp(self.ln_2(x))
        # END EXERCISE m20.block_forward


class GPT(Module):
    def __init__(self, vocab_size: int, block_size: int, n_layer: int, n_head: int, n_embd: int,
                 dropout: float = 0.0, bias: bool = True, tie_weights: bool = True):
        super().__init__()
        self.vocab_size, self.block_size = vocab_size, block_size
        self.n_layer, self.n_head, self.n_embd = n_layer, n_head, n_embd
        self.transformer = ModuleDict(dict(
            wte=Embedding(vocab_size, n_embd),
            wpe=Embedding(block_size, n_embd),
            drop=Dropout(dropout),
            h=ModuleList([Block(n_embd, n_head, dropout, bias) for _ in range(n_layer)]),
            ln_f=LayerNorm(n_embd, bias=bias)))
        self.lm_head = Linear(n_embd, vocab_size, bias=False)
        if tie_weights:
            self.transformer.wte.weight = self.lm_head.weight
        self._init_weights()
        self._decoder = Decoder(self)

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (Linear, Embedding)):
                init.normal_(m.weight, 0.0, INIT_STD)
            if isinstance(m, Linear) and m.bias is not None:
                init.zeros_(m.bias)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                init.normal_(p, 0.0, INIT_STD / math.sqrt(2 * self.n_layer))

    def _hidden(self, idx, cache=None, pos=None):
        """idx (B, T) -> final hidden states (B, T, C); positions pos.. (a tensor) while decoding, else 0.."""
        b, t = idx.shape
        if t > self.block_size:
            raise ValueError(f"GPT: a sequence of {t} tokens is longer than block_size {self.block_size}; "
                             f"crop it to the last {self.block_size} tokens (idx[:, -{self.block_size}:])")
        positions = arange(t, dtype=idx.dtype) if pos is None else pos
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(positions))
        for i, block in enumerate(self.transformer.h):
            x = block(x, None if cache is None else cache.layers[i])
        return self.transformer.ln_f(x)

    def forward(self, idx, targets=None):
        x = self._hidden(idx)
        if targets is None:
            return self.lm_head(x[:, -1:, :]), None
        logits = self.lm_head(x)
        loss = cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def _logits(self, idx, cache=None):
        """(B, V) logits of the last position; with a cache, prefill it (cache.pos None) or decode one token."""
        pos = None if cache is None else cache.pos
        x = self._hidden(idx, cache, pos)
        return self.lm_head(x[:, -1, :])

    def new_cache(self, batch: int) -> KVCache:
        return KVCache(self.n_layer, batch, self.n_head, self.block_size, self.n_embd // self.n_head,
                       self.lm_head.weight.dtype)

    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k=None, top_p=None,
                 use_cache: bool = True, generator=None):
        """idx (B, T) int64 -> (B, T + max_new_tokens): sample each next token from the model (temperature 0:
        greedy). With use_cache, a compiled KV-cache decode step, one Program for any number of tokens."""
        return self._decoder.generate(idx, max_new_tokens, temperature, top_k, top_p, use_cache, generator)

    def train_step(self, optimizer, grad_clip: float = 1.0):
        """nanoGPT's step, captured with tinytorch.compile: step(x, y) runs forward with targets, backward,
        clips the gradient norm at grad_clip (None: no clipping), steps `optimizer`, returns the loss."""
        def step(x, y):
            _, loss = self(x, y)
            optimizer.zero_grad()
            loss.backward()
            if grad_clip is not None:
                clip_grad_norm_(self.parameters(), grad_clip)
            optimizer.step()
            return loss

        return capture(step)

    def extra_repr(self):
        return f"block_size={self.block_size}"
