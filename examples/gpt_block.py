"""A GPT-style transformer block built from tinytorch.nn layers, compiled as one Program.

    python examples/gpt_block.py                 # B=4, T=128, C=256, 4 heads: kernels, memory plan, timing
    python examples/gpt_block.py --explain       # and the full explain report (IR, passes, kernels, plan)

x -> LayerNorm -> causal self-attention (q, k, v Linear; softmax(q k^T / sqrt(d) + mask) v; output
projection) -> residual -> LayerNorm -> MLP (C -> 4C, GELU, 4C -> C) -> residual. The causal mask is
a (T, T) input buffer of 0 and -1e9 (data, so every call reuses one cached Program). The benchmarks
(benchmarks/models.py) import `Block` from here and check it against the same block in PyTorch.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

import tinytorch as tt
from tinytorch import nn


def causal_mask(t: int) -> np.ndarray:
    """(T, T) float32: 0 where a query may look (key <= query), -1e9 above the diagonal."""
    return np.triu(np.full((t, t), -1e9, np.float32), k=1)


class CausalSelfAttention(nn.Module):
    def __init__(self, c: int, n_head: int):
        super().__init__()
        assert c % n_head == 0, f"embedding {c} must divide by heads {n_head}"
        self.n_head = n_head
        self.q, self.k, self.v, self.proj = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)

    def forward(self, x, mask):
        b, t, c = x.shape
        h, d = self.n_head, c // self.n_head

        def heads(y):  # (B, T, C) -> (B, H, T, D)
            return y.reshape(b, t, h, d).permute(0, 2, 1, 3)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d)) + mask
        y = att.softmax(-1) @ v  # (B, H, T, D)
        return self.proj(y.permute(0, 2, 1, 3).reshape(b, t, c))


class Block(nn.Module):
    def __init__(self, c: int = 256, n_head: int = 4):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(c), CausalSelfAttention(c, n_head)
        self.ln2 = nn.LayerNorm(c)
        self.mlp = nn.Sequential(nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c))

    def forward(self, x, mask):
        x = x + self.attn(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--embed", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--explain", action="store_true", help="print the full explain report")
    args = ap.parse_args(argv)

    tt.manual_seed(0)
    block = Block(args.embed, args.heads).eval()
    x = tt.tensor(np.random.default_rng(0).standard_normal((args.batch, args.seq, args.embed), np.float32))
    mask = tt.tensor(causal_mask(args.seq))
    with tt.no_grad():
        y = block(x, mask)
        prog = tt.plan(y)
        if args.explain:
            print(tt.explain(y))
        t0 = time.perf_counter()
        y.realize()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        block(x, mask).realize()
        second = time.perf_counter() - t0
    mp = prog.memory_plan
    print(f"GPT block B={args.batch} T={args.seq} C={args.embed} heads={args.heads}: output {tuple(y.shape)}")
    print(f"  {len(prog.kernels)} kernels; arena peak {mp.peak_bytes / 1e6:.2f} MB "
          f"(no reuse {mp.no_reuse_bytes / 1e6:.2f} MB, lower bound {mp.lower_bound_bytes / 1e6:.2f} MB)")
    print("  passes: " + "; ".join(f"{r.name} {r.before}->{r.after} {r.unit}" for r in prog.passes))
    print(f"  compile {prog.compile_s * 1e3:.1f} ms; first run {first * 1e3:.1f} ms; a second call (graph built "
          f"again, Program from the cache) {second * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
