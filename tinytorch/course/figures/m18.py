"""Module 18's figure: what a vocabulary costs and buys. On Tiny Shakespeare, tokens per character of the char
tokenizer and of byte-level BPE at a few vocabulary sizes (fewer tokens: a longer text fits one context, and
attention's cost grows as its square), against the embedding table each one needs (vocab x n_embd float32s).

The corpus is found where every dataset is ($TINYTORCH_DATA, then ~/.cache/tinytorch)."""
from __future__ import annotations

import time

from ...text import ByteLevelBPE, CharTokenizer, load_text

N_EMBD = 384  # nanoGPT's Shakespeare-char width
BPE_VOCABS = (512, 1024)
GPT2_VOCAB = 50257  # for scale: GPT-2's table, not trained here
FLOAT32 = 4


def _row(name, vocab, tokens, chars, seconds):
    table = vocab * N_EMBD * FLOAT32
    print(f"{name:<14} vocab {vocab:>6,}  tokens {tokens:>9,}  tokens/char {tokens / chars:5.3f}  "
          f"chars per 256-token context {256 * chars / tokens:6.0f}  embedding {table / 2**20:7.2f} MiB  "
          f"(trained in {seconds:5.2f} s)")


def figure():
    text = load_text("tinyshakespeare")
    chars = len(text)
    print(f"Tiny Shakespeare: {chars:,} characters; embedding tables at n_embd {N_EMBD}, float32")
    t = time.perf_counter()
    char = CharTokenizer.from_text(text)
    seconds = time.perf_counter() - t
    _row("char", char.vocab_size, len(char.encode(text)), chars, seconds)
    for vocab in BPE_VOCABS:
        t = time.perf_counter()
        bpe = ByteLevelBPE.train(text, vocab)
        seconds = time.perf_counter() - t
        _row(f"byte BPE {vocab}", bpe.vocab_size, len(bpe.encode(text)), chars, seconds)
    print(f"(GPT-2's vocabulary of {GPT2_VOCAB:,} would need {GPT2_VOCAB * N_EMBD * FLOAT32 / 2**20:.1f} MiB at this "
          f"width)")
