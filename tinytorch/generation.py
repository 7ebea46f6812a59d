"""Autoregressive generation for a causal language model: a preallocated KV cache, sampling, the decode loop.

The KV cache holds, per layer, keys and values of shape (B, H, block_size, D) in Buffers allocated once and
written in place with `Tensor.assign`. The position of the token being decoded is DATA, an int64 input
(shape (1,)), never a Python constant: the new key/value row is written at that position with a one-hot
`where` over the position dim, and attention masks keys beyond it with `arange(block_size) <= pos`. So the
graph of a decode step is the same for every position: it compiles into one Program, reused for any number
of tokens, and `tinytorch.compile` replays it without rebuilding the graph (a few Python calls per token).

`where` rather than a scatter: the one-hot select rewrites the whole (B, H, S, D) cache, which costs what the
attention that follows costs anyway (it reads every cached key and value), fuses into one elementwise kernel,
and needs no index arithmetic; a scatter would write one row but its index is data-dependent.

The prefill runs the prompt (B, T) through the model once, with ordinary causal attention over its own keys,
and writes them into the cache zero-padded to block_size (one Program per prompt length). Sampling runs inside
the compiled step too: temperature, top_k and top_p mask the logits, then the Gumbel-max trick,
argmax(logits - log(-log(u))) with u uniform, draws exactly from softmax(logits); u comes from a `rand` whose
seed is an int64 input, so a new seed per token never recompiles. temperature=0 is greedy (argmax).

Beyond block_size (nanoGPT crops the context to its last block_size tokens): the cache cannot slide without
recomputing every key (positions are absolute), so each further token is a prefill of the last block_size
tokens, exactly nanoGPT's cropped forward; the cache only speeds up the first block_size tokens.
"""
from __future__ import annotations

import numpy as np

from . import compiler as C
from . import dtypes
from .capture import compile as capture
from .creation import RNG, SEED_HIGH, arange, zeros
from .elementwise import as_tensor, where
from .lazy import realize
from .movement import pad
from .reduce import argmax
from .tensor import Tensor
from .autograd import no_grad
from .tensor_base import wrap


class LayerCache:
    """One layer's keys and values, (B, H, S, D) each, and the cache's position input while decoding."""

    def __init__(self, owner: "KVCache", shape, dtype):
        self.owner = owner
        self.k = zeros(*shape, dtype=dtype).realize()
        self.v = zeros(*shape, dtype=dtype).realize()

    def prefill(self, k, v) -> None:
        """Write the prompt's keys and values at positions 0..T-1 (the rest zero: masked while decoding)."""
        rest = self.k.shape[2] - k.shape[2]
        self.k.assign(pad(k, (0, 0, 0, rest)))
        self.v.assign(pad(v, (0, 0, 0, rest)))

    def decode(self, k, v):
        """Write one step's (B, H, 1, D) key and value at the position; return every key and value and the
        (1, 1, 1, S) bool mask of the keys that take part (those at or before the position)."""
        # BEGIN EXERCISE m20.kv_cache_write
        # STUB: return k, v, None  # nothing cached: the new token attends to itself alone
        slots = arange(self.k.shape[2], dtype=dtypes.int64)
        pos = self.owner.pos
        at = (slots == pos).reshape(1, 1, -1, 1)
        mask = (slots <= pos).reshape(1, 1, 1, -1)
        self.k.assign(where(at, k, self.k))
        self.v.assign(where(at, v, self.v))
        return self.k, self.v, mask  # read through the assigns, so the step's Program performs them
        # END EXERCISE m20.kv_cache_write


class KVCache:
    """Per-layer caches for a batch of `batch` sequences of at most `block_size` tokens."""

    def __init__(self, n_layer: int, batch: int, n_head: int, block_size: int, head_dim: int, dtype=np.float32):
        self.block_size = block_size
        self.layers = [LayerCache(self, (batch, n_head, block_size, head_dim), dtype) for _ in range(n_layer)]
        self.pos = None

    def at(self, pos: Tensor) -> "KVCache":
        """Decode at position `pos` (an int64 tensor of shape (1,), realized: it is the step's input)."""
        self.pos = pos
        return self

    def prefilling(self) -> "KVCache":
        self.pos = None
        return self


def sample(logits, temperature: float = 1.0, top_k=None, top_p=None, seed=None):
    """(B, V) logits -> (B, 1) int64 next tokens; temperature 0 is greedy. `seed` is an int64 tensor ()."""
    if temperature == 0.0:
        return argmax(logits, -1, keepdim=True)
    logits = logits / float(temperature)
    if top_k is not None:
        logits = _keep_top_k(logits, int(top_k))
    if top_p is not None:
        logits = _keep_top_p(logits, float(top_p))
    u = wrap(C.build("rand", seed._node, arg=(tuple(logits.shape), logits.dtype)))
    gumbel = -(-(u.clamp(min=1e-20)).log()).log()
    return argmax(logits + gumbel, -1, keepdim=True)


def _keep_top_k(logits, k: int):
    if not 1 <= k:
        raise ValueError(f"generate: top_k must be >= 1, got {k}")
    k = min(k, logits.shape[-1])
    kth = logits.topk(k, dim=-1)[0][:, -1:]
    return where(logits < kth, as_tensor(-np.inf, logits.dtype), logits)


def _keep_top_p(logits, p: float):
    """Nucleus: keep the smallest set of most likely tokens whose probability reaches p (the first always)."""
    if not 0.0 < p <= 1.0:
        raise ValueError(f"generate: top_p must be in (0, 1], got {p}")
    ordered, _ = logits.sort(dim=-1, descending=True)
    probs = ordered.softmax(-1)
    before = probs.cumsum(-1) - probs  # probability of the tokens ranked above each one
    kept = where(before > p, as_tensor(np.inf, logits.dtype), ordered)
    lowest = kept.min(-1, keepdim=True)[0]  # the least likely token still kept
    return where(logits < lowest, as_tensor(-np.inf, logits.dtype), logits)


class Decoder:
    """generate() for a model with `_logits(idx, cache)` ((B, T) -> (B, V) last-position logits), `block_size`
    and `new_cache(batch)`; keeps the cache and the captured decode step per (batch, sampling) setting."""

    def __init__(self, model):
        self.model = model
        self.steps = {}
        self.caches = {}
        self.weights = None

    def _check_weights(self) -> None:
        """A captured step reads the Buffers it traced; load_state_dict gives the parameters new ones (an
        optimizer's update writes into the same): then the steps must trace again."""
        params = list(self.model.parameters())
        realize(*[p for p in params if not C.is_computed(p._node)])
        weights = tuple(id(C.buffer_of(p._node)) for p in params)
        if weights != self.weights:
            self.steps.clear()
            self.weights = weights

    def _step(self, kind: str, batch: int, how: tuple):
        """The captured prefill(ctx, seed) or decode(tok, pos, seed) step for this batch size and sampling."""
        key = (kind, batch) + how
        if key not in self.steps:
            if batch not in self.caches:
                self.caches[batch] = self.model.new_cache(batch)
            cache, model = self.caches[batch], self.model

            def prefill(ctx, seed):
                nxt = sample(model._logits(ctx, cache.prefilling()), *how, seed=seed)
                realize(nxt, *[t for layer in cache.layers for t in (layer.k, layer.v)])  # one Program
                return nxt

            def decode(tok, pos, seed):
                return sample(model._logits(tok, cache.at(pos)), *how, seed=seed)

            self.steps[key] = capture(prefill if kind == "prefill" else decode)
        return self.steps[key]

    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k=None, top_p=None,
                 use_cache: bool = True, generator=None):
        idx = as_tensor(idx)
        if idx.ndim != 2 or idx.dtype.kind not in "iu":
            raise ValueError(f"generate: idx must be an int64 tensor (B, T) of token ids, got {idx.dtype.name} "
                             f"{tuple(idx.shape)}; add a batch dim with idx[None]")
        if idx.shape[1] < 1:
            raise ValueError("generate: idx needs at least one token per sequence to start from")
        gen = RNG.gen if generator is None else getattr(generator, "gen", generator)
        self._check_weights()
        how = (float(temperature), top_k, top_p)
        block = self.model.block_size
        tokens = idx.numpy().astype(np.int64)
        B = tokens.shape[0]
        with no_grad():
            for i in range(max_new_tokens):
                seed = Tensor(np.array(gen.integers(0, SEED_HIGH), dtype=np.int64), dtype=np.int64)
                n = tokens.shape[1]
                if not use_cache:
                    nxt = sample(self.model._logits(Tensor(tokens[:, -block:], dtype=np.int64)), *how, seed=seed)
                elif i > 0 and n <= block:
                    nxt = self._step("decode", B, how)(Tensor(tokens[:, -1:], dtype=np.int64),
                                                       Tensor(np.array([n - 1], np.int64), dtype=np.int64), seed)
                else:
                    nxt = self._step("prefill", B, how)(Tensor(tokens[:, -block:], dtype=np.int64), seed)
                tokens = np.concatenate([tokens, nxt.numpy().astype(np.int64)], axis=1)
        return Tensor(tokens, dtype=np.int64)
