"""2017: the character GPT on Tiny Shakespeare. This is the one training loop behind both
`examples/train_gpt.py` (its flags: `parse`) and the transformer-2017 milestone (`milestone_run`).

nanoGPT's recipe: AdamW (weight decay on the matrices only, betas 0.9/0.99), linear warmup then a cosine decay
of the learning rate over the time budget (the rate is data fed to the step each call, so it never recompiles),
gradient clipping at 1.0, the training step captured with `tinytorch.compile`. Every --eval-every steps the
validation loss (nats per character, the mean over --eval-batches random windows) is logged with the time,
step and training loss to OUT/log.csv; every --ckpt-every steps a checkpoint is written to OUT/ckpt.npz (temp
file + rename); at the end the weights go to OUT/gpt.safetensors and a sample is printed.
"""
from __future__ import annotations

import argparse
import csv
import math
import pathlib
import sys
import time

import numpy as np
from tqdm import tqdm

from .. import (compile as capture, get_backend, get_rng_state, load, manual_seed, nn, no_grad, optim, save,
                save_weights, set_rng_state, tensor)
from ..text import CharTokenizer, TextDataset, find_text
from . import data

BASE = dict(n_layer=4, n_head=4, n_embd=128, block_size=128, batch=32, dropout=0.0, minutes=20.0)
LONG = dict(n_layer=6, n_head=6, n_embd=192, block_size=256, batch=32, dropout=0.1, minutes=90.0)
QUICK = dict(n_layer=1, n_head=2, n_embd=32, block_size=32, batch=8, dropout=0.0, minutes=5.0)
QUICK_STEPS = 20
TRAIN_SPLIT = 0.9  # the first 90% of the characters train, the rest validate
LOG_FIELDS = ("time_s", "step", "train_loss", "val_loss", "lr")


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--long", action="store_true", help="the bigger, longer configuration (see above)")
    for k in ("n_layer", "n_head", "n_embd", "block_size", "batch"):
        ap.add_argument(f"--{k.replace('_', '-')}", type=int, dest=k)
    ap.add_argument("--dropout", type=float)
    ap.add_argument("--minutes", type=float, help="training time budget (the cosine schedule spans it)")
    ap.add_argument("--max-steps", type=int, help="stop after this many steps even within the budget")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=100, help="warmup steps")
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-batches", type=int, default=20)
    ap.add_argument("--ckpt-every", type=int, default=500)
    ap.add_argument("--sample-chars", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--data", help="directory holding tinyshakespeare.txt")
    ap.add_argument("--download", action="store_true", help="fetch tinyshakespeare.txt if it is missing")
    ap.add_argument("--out", default="runs/gpt", help="directory for the log, checkpoints and weights")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/ckpt.npz")
    ap.add_argument("--no-progress", action="store_true")


def fill_defaults(args, config: dict):
    for k, v in config.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    return args


def parse(argv=None, description: str | None = None):
    ap = argparse.ArgumentParser(description=description or __doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    args = ap.parse_args(argv)
    return fill_defaults(args, LONG if args.long else BASE)


def find_data(explicit, download: bool = False) -> pathlib.Path:
    root = data.data_root(explicit)
    return data.open_dataset(lambda: find_text("tinyshakespeare", root, download=download))


def learning_rate(args, step: int, elapsed: float) -> float:
    """Linear warmup over the first steps, then cosine from lr to min_lr over the time budget."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = min(1.0, elapsed / (args.minutes * 60.0))
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1.0 + math.cos(math.pi * progress))


def make_optimizer(model, args):
    """AdamW with weight decay on the weight matrices and embeddings only (nanoGPT's groups)."""
    params = list(model.parameters())
    decay = [p for p in params if p.ndim >= 2]
    rest = [p for p in params if p.ndim < 2]
    return optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                        {"params": rest, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.99))


def main(argv=None, description: str | None = None) -> int:
    args = parse(argv, description)
    try:
        train(args)
    except data.MissingData as e:
        print(e, file=sys.stderr)
        return 2
    return 0


def train(args, on_line=print) -> dict:
    """Train (or continue, with args.resume) until the budget or --max-steps; returns the final figures:
    val_loss (nats/char), steps, elapsed (s of training), epochs (passes over the training characters)."""
    path = find_data(args.data, getattr(args, "download", False))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path, log_path = out / "ckpt.npz", out / "log.csv"
    text = path.read_text(encoding="utf-8")
    tok = CharTokenizer.from_text(text)
    ds = TextDataset(text=text, tokenizer=tok, split=TRAIN_SPLIT, block_size=args.block_size)
    manual_seed(args.seed)
    model = nn.GPT(tok.vocab_size, args.block_size, args.n_layer, args.n_head, args.n_embd, dropout=args.dropout)
    opt = make_optimizer(model, args)
    step, elapsed, val = 0, 0.0, None
    if args.resume and ckpt_path.exists():
        ck = load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        set_rng_state(ck["rng"])
        step, elapsed, val = int(ck["step"]), float(ck["elapsed"]), ck.get("val_loss")
        on_line(f"resumed from {ckpt_path} at step {step} ({elapsed / 60:.1f} min trained)")
    elif not args.resume or not log_path.exists():
        with open(log_path, "w", newline="") as f:
            csv.writer(f).writerow(LOG_FIELDS)
    n_params = sum(p.numel() for p in model.parameters())
    on_line(f"GPT {args.n_layer} layers, {args.n_head} heads, {args.n_embd} wide, context {args.block_size}, "
            f"{n_params / 1e6:.2f}M parameters, vocab {tok.vocab_size}; batch {args.batch}; "
            f"backend {get_backend()}; budget {args.minutes:g} min")

    train_step = model.train_step(opt, grad_clip=1.0)  # forward, backward, clip, AdamW: captured

    @capture
    def eval_loss(x, y):
        return model(x, y)[1]

    def evaluate() -> float:
        if args.dropout:
            model.eval()  # a mode switch makes the captured train step trace again (twice) afterwards
        with no_grad():
            losses = [eval_loss(*ds.get_batch("val", args.batch)).item() for _ in range(args.eval_batches)]
        if args.dropout:
            model.train()
        return float(np.mean(losses))

    def checkpoint():
        save({"model": model.state_dict(), "optimizer": opt.state_dict(), "rng": get_rng_state(),
              "step": step, "elapsed": elapsed, "val_loss": val,
              "args": {k: v for k, v in vars(args).items() if v is not None}}, ckpt_path)

    budget = args.minutes * 60.0
    bar = tqdm(total=args.max_steps, initial=step, unit="step", disable=args.no_progress, dynamic_ncols=True)
    recent, losses = [], []
    while elapsed < budget and (args.max_steps is None or step < args.max_steps):
        t0 = time.perf_counter()
        lr = learning_rate(args, step, elapsed)
        for g in opt.param_groups:
            g["lr"] = lr
        loss = train_step(*ds.get_batch("train", args.batch)).item()
        elapsed += time.perf_counter() - t0
        step += 1
        recent.append(loss)
        losses.append(loss)
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.1e}", min=f"{elapsed / 60:.1f}")
        if step % args.eval_every == 0 or elapsed >= budget or step == args.max_steps:
            val = evaluate()
            row = (round(elapsed, 1), step, round(float(np.mean(recent)), 4), round(val, 4), f"{lr:.3g}")
            recent = []
            with open(log_path, "a", newline="") as f:
                csv.writer(f).writerow(row)
            bar.write(f"{elapsed / 60:6.2f} min  step {step:6d}  train {row[2]:.4f}  val {val:.4f} nats/char")
        if step % args.ckpt_every == 0:
            checkpoint()
    bar.close()
    checkpoint()
    save_weights(model.state_dict(), out / "gpt.safetensors")
    model.eval()
    start = tensor(np.array([tok.encode("\n")], dtype=np.int64))
    sample = model.generate(start, args.sample_chars, temperature=0.8, top_k=40)
    on_line(f"--- {step} steps, {elapsed / 60:.1f} min; log {log_path}; weights {out / 'gpt.safetensors'}\n")
    on_line(tok.decode(sample.numpy()[0].tolist()))
    chars_per_epoch = len(ds.splits["train"])
    return {"val_loss": val, "steps": step, "elapsed": elapsed, "losses": losses,
            "epochs": step * args.batch * args.block_size / chars_per_epoch, "chars_per_epoch": chars_per_epoch}
