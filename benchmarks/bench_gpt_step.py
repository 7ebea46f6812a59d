"""A small GPT's training step and prefill, TinyTorch against PyTorch eager, same weights, one run.

    python3 benchmarks/bench_gpt_step.py                 # issue 11's sizes: 4 layers, 4 heads, 128 wide, T 128, B 32
    python3 benchmarks/bench_gpt_step.py --quick         # a tiny model, to check it runs
    python3 benchmarks/bench_gpt_step.py --profile       # and the 15 slowest kernels of one plain step
    python3 benchmarks/bench_gpt_step.py --threads 1 --clock cpu   # CPU time on one thread each side

The model is nanoGPT's (token + position embedding, pre-norm blocks of causal self-attention through
`F.scaled_dot_product_attention(is_causal=True)` and a GELU MLP, final LayerNorm, an untied head without bias),
built here from `tinytorch.nn` parts and again in `torch.nn` with the weights copied over. Rows, each a median
over alternating repeats with both sides pinned to 2 threads (`harness.pin_threads`):

- `train step`: zero_grad, forward, cross-entropy over the vocabulary, backward, AdamW step (plain: the graph is
  built in Python every step; captured: `tt.compile`, as `Trainer` runs it);
- `prefill`: forward of (1, prefill) tokens with block_size = prefill, no grad.

It prints a table and never asserts; the first step's loss of both sides is printed so a wrong model shows.
On a shared machine other jobs' load swings wall times several-fold, and each side's threads wait on
descheduled helpers (PyTorch's more than ours); `--threads 1 --clock cpu` counts each side's work instead
(`time.process_time`, as benchmarks/bench_cpu_time.py), which the load barely moves.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

import tinytorch as tt
import tinytorch.nn.functional as F
from harness import pin_threads
from tinytorch import nn, optim

SIZES = {"full": dict(vocab=65, block=128, layers=4, heads=4, width=128, batch=32, prefill=512),
         "quick": dict(vocab=65, block=16, layers=2, heads=2, width=32, batch=4, prefill=32)}


# ------------------------------------------------------------------ the model, twice

class Attention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.c_attn, self.c_proj = nn.Linear(width, 3 * width), nn.Linear(width, width)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (y.reshape(b, t, self.heads, c // self.heads).transpose(1, 2) for y in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln_1, self.attn, self.ln_2 = nn.LayerNorm(width), Attention(width, heads), nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab, block, layers, heads, width):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, width), nn.Embedding(block, width)
        self.h = nn.ModuleList([Block(width, heads) for _ in range(layers)])
        self.ln_f, self.lm_head = nn.LayerNorm(width), nn.Linear(width, vocab, bias=False)
        self.pos = tt.arange(block)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(self.pos[:t])
        for blk in self.h:
            x = blk(x)
        return self.lm_head(self.ln_f(x))


def torch_gpt(vocab, block, layers, heads, width):
    """The same model in torch.nn, same parameter names."""
    import torch
    from torch import nn as tnn

    class TAttention(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn, self.c_proj = tnn.Linear(width, 3 * width), tnn.Linear(width, width)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.c_attn(x).split(c, dim=2)
            q, k, v = (y.view(b, t, heads, c // heads).transpose(1, 2) for y in (q, k, v))
            y = tnn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))

    class TBlock(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn, self.ln_2 = tnn.LayerNorm(width), TAttention(), tnn.LayerNorm(width)
            self.mlp = tnn.Sequential(tnn.Linear(width, 4 * width), tnn.GELU(), tnn.Linear(4 * width, width))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class TGPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = tnn.Embedding(vocab, width), tnn.Embedding(block, width)
            self.h = tnn.ModuleList([TBlock() for _ in range(layers)])
            self.ln_f, self.lm_head = tnn.LayerNorm(width), tnn.Linear(width, vocab, bias=False)

        def forward(self, idx):
            t = idx.shape[1]
            x = self.wte(idx) + self.wpe(torch.arange(t))
            for blk in self.h:
                x = blk(x)
            return self.lm_head(self.ln_f(x))

    return TGPT()


def build(size, seed=0):
    """(tinytorch model, torch model) with equal weights."""
    import torch
    tt.manual_seed(seed)
    cfg = {k: size[k] for k in ("vocab", "block", "layers", "heads", "width")}
    model = GPT(**cfg)
    tmodel = torch_gpt(**cfg)
    tmodel.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in model.state_dict().items()})
    return model, tmodel


# ------------------------------------------------------------------ the steps

def tt_train(model, x, y, vocab):
    opt = optim.AdamW(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss
    return step


def torch_train(tmodel, x, y, vocab):
    import torch
    opt = torch.optim.AdamW(tmodel.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(tmodel(x).view(-1, vocab), y.view(-1))
        loss.backward()
        opt.step()
        return loss
    return step


def step_runners(size):
    """name -> (tinytorch step, torch step) for every row."""
    import torch
    rng = np.random.default_rng(1)
    shape = (size["batch"], size["block"])
    xn, yn = (rng.integers(0, size["vocab"], shape).astype(np.int64) for _ in range(2))
    rows = {}
    model, tmodel = build(size)
    plain = tt_train(model, tt.tensor(xn), tt.tensor(yn), size["vocab"])
    rows["train step (plain)"] = (lambda: plain().item(),
                                  _torch_item(torch_train(tmodel, torch.from_numpy(xn), torch.from_numpy(yn),
                                                          size["vocab"])))
    model, tmodel = build(size)
    captured = tt.compile(tt_train(model, tt.tensor(xn), tt.tensor(yn), size["vocab"]))
    rows["train step (captured)"] = (lambda: captured().item(),
                                     _torch_item(torch_train(tmodel, torch.from_numpy(xn), torch.from_numpy(yn),
                                                             size["vocab"])))
    pre = dict(size, block=size["prefill"])
    model, tmodel = build(pre)
    model.eval(), tmodel.eval()
    pn = rng.integers(0, size["vocab"], (1, size["prefill"])).astype(np.int64)
    px, tpx = tt.tensor(pn), torch.from_numpy(pn)

    def tt_prefill():
        with tt.no_grad():
            return float(model(px).numpy()[0, -1, 0])

    def torch_prefill():
        with torch.no_grad():
            return float(tmodel(tpx)[0, -1, 0])
    rows[f"prefill {size['prefill']} tokens"] = (tt_prefill, torch_prefill)
    return rows


def _torch_item(step):
    return lambda: step().item()


def measure(size, repeats, warmup=3, clock=time.perf_counter):
    """Per row: (tinytorch ms, torch ms, first values of both), medians over alternating runs."""
    out = {}
    for name, (tt_fn, torch_fn) in step_runners(size).items():
        first = (tt_fn(), torch_fn())
        for _ in range(warmup - 1):
            tt_fn(), torch_fn()
        a, b = [], []
        for _ in range(repeats):
            for fn, into in ((tt_fn, a), (torch_fn, b)):
                t = clock()
                fn()
                into.append((clock() - t) * 1e3)
        out[name] = (statistics.median(a), statistics.median(b), first)
    return out


def profile(size, top=15):
    """The slowest kernels of one plain training step (after warm-up)."""
    rng = np.random.default_rng(1)
    shape = (size["batch"], size["block"])
    xn, yn = (rng.integers(0, size["vocab"], shape).astype(np.int64) for _ in range(2))
    model, _ = build(size)
    step = tt_train(model, tt.tensor(xn), tt.tensor(yn), size["vocab"])
    for _ in range(3):
        step().item()
    with tt.profile() as prof:
        step().item()
    print(prof.table(sort_by="time")[: 200 * top] if hasattr(prof, "table") else prof)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a tiny model (checks that it runs)")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--profile", action="store_true", help="print where one plain step's kernel time goes")
    ap.add_argument("--threads", type=int, default=2, help="threads of each side (BLAS, our loops, torch)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="wall time, or the process's CPU time")
    args = ap.parse_args(argv)
    pin_threads(args.threads)
    size = SIZES["quick" if args.quick else "full"]
    print("GPT " + ", ".join(f"{k} {v}" for k, v in size.items()) + f"; backend {tt.get_backend()}, "
          f"{args.clock} time, medians of {args.repeats} alternating runs, {args.threads} thread(s) each side")
    print(f"{'row':28s} {'tinytorch ms':>13s} {'torch ms':>10s} {'ratio':>7s}   first value tt / torch")
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    for name, (a, b, first) in measure(size, args.repeats, clock=clock).items():
        print(f"{name:28s} {a:13.2f} {b:10.2f} {a / b:6.2f}x   {first[0]:.5f} / {first[1]:.5f}")
    if args.profile:
        profile(size)


if __name__ == "__main__":
    main()
