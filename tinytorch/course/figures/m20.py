"""Module 20's figure: what the KV cache buys when generating. Without it every new token runs the whole
context through the model again (the keys and values of every earlier token recomputed: work per token grows
with the context); with it a token is one step over one position that reads the cached keys and values.
Tokens per second of greedy decoding, a small char-sized GPT, with and without the cache, at two lengths."""
from __future__ import annotations

import numpy as np

import tinytorch as tt

from ... import nn
from .common import median_ms

VOCAB, BLOCK, LAYERS, HEADS, WIDTH = 65, 256, 4, 4, 128  # a Tiny Shakespeare char model's shape
PROMPT = 8
LENGTHS = (50, 100)  # new tokens per generate call
REPEATS = 3


def figure():
    tt.manual_seed(0)
    model = nn.GPT(VOCAB, BLOCK, LAYERS, HEADS, WIDTH).eval()
    idx = tt.tensor(np.random.default_rng(0).integers(0, VOCAB, (1, PROMPT)))
    print(f"GPT {LAYERS} layers, width {WIDTH}, {HEADS} heads, vocab {VOCAB}; greedy decoding after a "
          f"{PROMPT}-token prompt (median of {REPEATS}, after one untimed call that compiles)")
    for n in LENGTHS:
        rates = {}
        for cache in (True, False):
            ms = median_ms(lambda: model.generate(idx, n, temperature=0.0, use_cache=cache), REPEATS)
            rates[cache] = n / (ms / 1e3)
        print(f"{n:>4} new tokens: with the KV cache {rates[True]:8.1f} tokens/s, without {rates[False]:8.1f} "
              f"tokens/s ({rates[True] / rates[False]:.1f}x)")
