"""The GPT against PyTorch eager, same weights, pinned threads: a training step, a 512-token prefill, and
200 decoded tokens at batch 1 with the KV cache (issue 11's speed targets: <= 1.2x, <= 1.0x, >= 2x tokens/s).

    python benchmarks/bench_gpt.py [--backend numpy|llvm] [--repeats 5] [--threads 2] [--quick]

Training: nanoGPT's step (forward with targets, backward, clip_grad_norm_ 1.0, AdamW) on the issue's config,
4 layers, 4 heads, 128 wide, context 128, batch 32, vocab 65; ours captured with tinytorch.compile.
Prefill: a (1, 512) prompt through a block_size-512 model of the same width, filling the KV cache, to the first
sampled token (`generate(idx, 1)`). Decode: 200 greedy tokens after an 8-token prompt; PyTorch's cache is
written here by hand (preallocated (B, H, S, D) per layer, sliced at the position), its loop is eager Python.
Times are medians of alternating runs (ours, then PyTorch's, per repeat) in ms; prints a table, asserts nothing.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as TF

import tinytorch as tt
from tinytorch import nn, optim

import harness  # benchmarks/, next to this file

VOCAB = 65  # Tiny Shakespeare's characters


class TorchGPT(torch.nn.Module):
    """nanoGPT's architecture and names, with a hand-written KV cache for decoding."""

    def __init__(self, block, n_layer, h, c):
        super().__init__()
        self.block_size, self.n_head, self.c = block, h, c
        layer = lambda: torch.nn.ModuleDict(dict(  # noqa: E731
            ln_1=torch.nn.LayerNorm(c), ln_2=torch.nn.LayerNorm(c),
            attn=torch.nn.ModuleDict(dict(c_attn=torch.nn.Linear(c, 3 * c), c_proj=torch.nn.Linear(c, c))),
            mlp=torch.nn.ModuleDict(dict(c_fc=torch.nn.Linear(c, 4 * c), c_proj=torch.nn.Linear(4 * c, c)))))
        self.transformer = torch.nn.ModuleDict(dict(
            wte=torch.nn.Embedding(VOCAB, c), wpe=torch.nn.Embedding(block, c),
            h=torch.nn.ModuleList([layer() for _ in range(n_layer)]), ln_f=torch.nn.LayerNorm(c)))
        self.lm_head = torch.nn.Linear(c, VOCAB, bias=False)
        self.transformer.wte.weight = self.lm_head.weight

    def forward(self, idx, targets=None, cache=None, pos=0):
        b, t = idx.shape
        h, d = self.n_head, self.c // self.n_head
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(pos, pos + t))
        for i, blk in enumerate(self.transformer.h):
            q, k, v = (y.view(b, t, h, d).transpose(1, 2) for y in blk.attn.c_attn(blk.ln_1(x)).split(self.c, 2))
            if cache is not None:
                cache[i][0][:, :, pos:pos + t] = k
                cache[i][1][:, :, pos:pos + t] = v
                k, v = cache[i][0][:, :, :pos + t], cache[i][1][:, :, :pos + t]
            y = TF.scaled_dot_product_attention(q, k, v, is_causal=t > 1)
            x = x + blk.attn.c_proj(y.transpose(1, 2).reshape(b, t, self.c))
            x = x + blk.mlp.c_proj(TF.gelu(blk.mlp.c_fc(blk.ln_2(x))))
        logits = self.lm_head(self.transformer.ln_f(x))
        if targets is None:
            return logits[:, -1]
        return TF.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))

    @torch.no_grad()
    def generate(self, idx, n):
        h, d = self.n_head, self.c // self.n_head
        cache = [(torch.zeros(idx.shape[0], h, self.block_size, d), torch.zeros(idx.shape[0], h, self.block_size, d))
                 for _ in self.transformer.h]
        nxt = self(idx, cache=cache).argmax(-1, keepdim=True)
        out = [idx, nxt]
        for i in range(n - 1):
            nxt = self(nxt, cache=cache, pos=idx.shape[1] + i).argmax(-1, keepdim=True)
            out.append(nxt)
        return torch.cat(out, 1)


def _pair(block, n_layer=4, h=4, c=128):
    tt.manual_seed(0)
    ours = nn.GPT(VOCAB, block, n_layer, h, c)
    ref = TorchGPT(block, n_layer, h, c)
    ref.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    return ours, ref


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def _alternate(ours, theirs, repeats):
    a, b = [], []
    for _ in range(repeats):
        a.append(_time(ours))
        b.append(_time(theirs))
    return statistics.median(a), statistics.median(b)


def bench_train(repeats, batch, block):
    ours, ref = _pair(block)
    opt = optim.AdamW(ours.parameters(), lr=1e-3)
    topt = torch.optim.AdamW(ref.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, (batch, block)).astype(np.int64)
    y = rng.integers(0, VOCAB, (batch, block)).astype(np.int64)
    xs, ys, xt, yt = tt.tensor(x), tt.tensor(y), torch.from_numpy(x), torch.from_numpy(y)

    step = ours.train_step(opt, grad_clip=1.0)

    def torch_step():
        loss = ref(xt, yt)
        topt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ref.parameters(), 1.0)
        topt.step()

    first = step(xs, ys).item()
    assert abs(first - ref(xt, yt).item()) < 1e-4, "the two models disagree before training"
    for _ in range(3):  # two traces freeze the capture
        step(xs, ys).item()
    torch_step()
    return _alternate(lambda: step(xs, ys).item(), torch_step, repeats)


def bench_prefill(repeats, t):
    ours, ref = _pair(t)
    ours.eval()
    idx = np.random.default_rng(1).integers(0, VOCAB, (1, t)).astype(np.int64)
    want = ref.generate(torch.from_numpy(idx), 1).numpy()
    got = ours.generate(tt.tensor(idx), 1, temperature=0.0).numpy()
    assert (got == want).all(), "prefill: the first tokens differ"
    return _alternate(lambda: ours.generate(tt.tensor(idx), 1, temperature=0.0),
                      lambda: ref.generate(torch.from_numpy(idx), 1), repeats)


def bench_decode(repeats, n, prompt=8):
    ours, ref = _pair(prompt + n)
    ours.eval()
    idx = np.random.default_rng(2).integers(0, VOCAB, (1, prompt)).astype(np.int64)
    want = ref.generate(torch.from_numpy(idx), n).numpy()
    got = ours.generate(tt.tensor(idx), n, temperature=0.0).numpy()
    agree = int((got == want).all(axis=0).sum())
    times = _alternate(lambda: ours.generate(tt.tensor(idx), n, temperature=0.0),
                       lambda: ref.generate(torch.from_numpy(idx), n), repeats)
    return times, agree


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default=tt.get_backend())
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small shapes: a smoke run")
    ap.add_argument("--threads", type=int, default=harness.THREADS,
                    help="threads for both sides (1 is steadier on a loaded machine)")
    args = ap.parse_args(argv)
    harness.pin_threads(args.threads)
    tt.set_backend(args.backend)
    batch, block, prefill, decode = (4, 32, 64, 20) if args.quick else (32, 128, 512, 200)
    rows = []
    ours, theirs = bench_train(args.repeats, batch, block)
    rows.append((f"train step b{batch} T{block}", ours, theirs, ours / theirs, "<= 1.2"))
    ours, theirs = bench_prefill(args.repeats, prefill)
    rows.append((f"prefill {prefill} tokens", ours, theirs, ours / theirs, "<= 1.0"))
    (ours, theirs), agree = bench_decode(args.repeats, decode)
    rows.append((f"decode {decode} tokens b1 (tok/s {decode / ours * 1e3:.0f} vs {decode / theirs * 1e3:.0f})",
                 ours, theirs, theirs / ours, ">= 2 (speedup)"))
    print(f"GPT 4 layers, 4 heads, 128 wide, vocab {VOCAB}; backend {args.backend}; {args.threads} threads; "
          f"medians of {args.repeats}")
    print(f"{'workload':<48} {'tinytorch ms':>13} {'torch ms':>10} {'ratio':>7}  target")
    for name, a, b, r, target in rows:
        print(f"{name:<48} {a:>13.1f} {b:>10.1f} {r:>7.2f}  {target}")
    print(f"decode: greedy tokens equal to PyTorch's at {agree} of {decode + 8} positions")


if __name__ == "__main__":
    main()
