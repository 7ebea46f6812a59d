"""Train an MLP classifier on real data and show what the compiler did: the job behind
`examples/train_mlp.py` and `tinytorch demo`.

    python examples/train_mlp.py                      # 8x8 digits, no download, well under a minute
    python examples/train_mlp.py --dataset mnist --epochs 5 --batch-size 128        # ~98% test accuracy
    python examples/train_mlp.py --dataset cifar10 --epochs 10 --batch-size 128 --hidden 512,256 --lr 5e-4
    python examples/train_mlp.py --eager              # the same code, every op run at once (NumPy)
    python examples/train_mlp.py --no-compile         # each step builds its graph again (no step capture)

MNIST and CIFAR-10 are read from --data-dir, else $TINYTORCH_DATA, else the
repository's ../shared/datasets, else ~/.cache/tinytorch (add --download to
fetch them there). Each epoch prints loss, accuracy and time; at the end, the
compiler's counters (tinytorch.stats()) and what each pass did to one more
training step (forward, backward and the optimizer's update: one Program),
with its kernels and memory plan (tinytorch.plan; --explain prints it all).
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

import tinytorch as tt
from tinytorch import data as D, nn, optim
from tinytorch.data import transforms as T
from tinytorch.runtime import config
from tinytorch.tools.checkout import shared_datasets
from tinytorch.tools.step_graph import summary, training_step
from tinytorch.train import Trainer

DEFAULT_HIDDEN = {"digits": "128", "mnist": "512,256", "cifar10": "1024,512"}


def data_root(arg):
    """--data-dir, else $TINYTORCH_DATA, else the shared datasets folder next to the repository, else None
    (the loaders then search ~/.cache/tinytorch)."""
    if arg:
        return arg
    configured = config.get("TINYTORCH_DATA")
    if configured is not None:
        return str(configured)
    shared = shared_datasets()
    return str(shared) if shared else None


def datasets(name, root, augment, download):
    """(train dataset, test dataset, train transform, test transform, number of input features)."""
    if name == "digits":
        tf = T.Compose([T.Scale(1 / 16), T.Flatten()])
        return D.Digits(root, train=True), D.Digits(root, train=False), tf, tf, 64
    if name == "mnist":
        tf = T.Compose([T.ToTensor(), T.Normalize(0.1307, 0.3081), T.Flatten()])
        return (D.MNIST(root, train=True, download=download), D.MNIST(root, train=False, download=download),
                tf, tf, 784)
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    test_tf = T.Compose([T.ToTensor(), T.Normalize(mean, std), T.Flatten()])
    train_tf = T.Compose([T.ToTensor(), T.RandomCrop(32, padding=2, seed=1), T.RandomHorizontalFlip(seed=2),
                          T.Normalize(mean, std), T.Flatten()]) if augment else test_tf
    return (D.CIFAR10(root, train=True, download=download), D.CIFAR10(root, train=False, download=download),
            train_tf, test_tf, 3072)


def mlp(sizes, dropout):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The job's options on parser `p` (the example's whole command line)."""
    p.add_argument("--dataset", choices=("digits", "mnist", "cifar10"), default="digits")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--download", action="store_true", help="fetch MNIST/CIFAR-10 if missing (needs the network)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--hidden", default=None, help="hidden sizes, e.g. 1024,512")
    p.add_argument("--optim", choices=("adam", "sgd"), default="adam")
    p.add_argument("--lr", type=float, default=None,
                   help="default 1e-3 (adam; 1e-2 on digits) or 0.05 (sgd, momentum 0.9)")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--augment", action="store_true", help="CIFAR-10: random crops and flips")
    p.add_argument("--eager", action="store_true", help="run every op at once (NumPy), no compiler")
    p.add_argument("--no-compile", action="store_true",
                   help="do not capture the training step (tinytorch.compile): rebuild its graph every step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--metrics", default=None, help="append per-epoch metrics as JSON lines to this file")
    p.add_argument("--checkpoint-dir", default=None, help="save a checkpoint per epoch here")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --checkpoint-dir")
    p.add_argument("--explain", action="store_true", help="print the IR of one training step")
    p.add_argument("--no-progress", action="store_true")
    return p


def parse(argv=None):
    return add_arguments(argparse.ArgumentParser(description=__doc__.split("\n")[0])).parse_args(argv)


@dataclass
class Job:
    """What a finished run leaves: the trained model, its optimizer, the training batches and the epochs."""
    model: nn.Module
    optimizer: optim.Optimizer
    train: D.DataLoader
    history: list


def train(args) -> Job:
    """Train as `args` (add_arguments's options) say, printing a line per epoch and the final accuracy."""
    tt.manual_seed(args.seed)
    root = data_root(args.data_dir)
    train_ds, test_ds, train_tf, test_tf, n_in = datasets(args.dataset, root, args.augment, args.download)
    loader = D.DataLoader(train_ds, args.batch_size, shuffle=True, drop_last=True, transform=train_tf,
                          seed=args.seed)
    test = D.DataLoader(test_ds, 1000, transform=test_tf)
    sizes = [n_in] + [int(h) for h in (args.hidden or DEFAULT_HIDDEN[args.dataset]).split(",") if h] + [10]
    model = mlp(sizes, args.dropout)
    if args.optim == "adam":
        lr = args.lr or (1e-2 if args.dataset == "digits" else 1e-3)
        opt = optim.Adam(model.parameters(), lr=lr, weight_decay=args.weight_decay)
    else:
        opt = optim.SGD(model.parameters(), lr=args.lr or 0.05, momentum=0.9, weight_decay=args.weight_decay)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.dataset}: {len(train_ds)} train / {len(test_ds)} test, MLP {'-'.join(map(str, sizes))} "
          f"({n_params:,} parameters), {args.optim}, batch {args.batch_size}, "
          f"{'eager' if args.eager else 'lazy (compiled)' if args.no_compile else 'lazy (compiled, step captured)'}")

    trainer = Trainer(model, opt, loader, test, metrics_path=args.metrics, checkpoint_dir=args.checkpoint_dir,
                      progress=not args.no_progress, compile=not args.no_compile)

    def report(r):
        print(f"epoch {r['epoch']:3d}  loss {r['train_loss']:.4f}  train acc {r['train_acc']:.4f}  "
              f"test loss {r['val_loss']:.4f}  test acc {r['val_acc']:.4f}  "
              f"time {r['train_s']:.2f}s train + {r['val_s']:.2f}s test  compiles {r['compiles']}", flush=True)

    tt.reset_stats()
    t0 = time.perf_counter()
    with tt.eager(args.eager):
        if args.resume:
            print(f"resumed after epoch {trainer.resume()}")
        trainer.fit(args.epochs, on_epoch=report)
    total = time.perf_counter() - t0
    done = trainer.history
    if done:
        per_epoch = np.mean([r["train_s"] for r in done[1:]] or [done[0]["train_s"]])
        print(f"\nfinal test accuracy {done[-1]['val_acc']:.4f}; {total:.1f}s in all, "
              f"{per_epoch:.2f}s per training epoch (after the first)")
    return Job(model, opt, loader, done)


def print_stats() -> None:
    s = tt.stats()
    print(f"compiler: {s['realizes']} realizes, {s['compiles']} compiles, {s['cache_hits']} cache hits, "
          f"{s['sizes_bound']} batch sizes bound to a compiled family ({s['bind_s']:.3f}s), "
          f"compile {s['compile_s']:.3f}s, run {s['run_s']:.2f}s")


def explain_step(job: Job, show_ir: bool = False, draw=None):
    """Build one more training step (forward, backward, update), show what each pass did, its kernels and
    memory plan (and with `show_ir` the IR; with `draw(step)` whatever it draws), then run it. Returns the
    step's Program."""
    x, y = next(iter(job.train))
    step = training_step(job.model, job.optimizer, x, y)
    prog = tt.plan(*step)
    print(f"\none training step (forward, backward and {type(job.optimizer).__name__}'s update: one Program) "
          f"on the {prog.options.backend} backend:")
    for line in summary(prog):
        print("  " + line)
    if show_ir:
        print(tt.explain(*step))
    if draw is not None:
        draw(step)
    tt.realize(*step)
    return prog


def main(argv=None):
    args = parse(argv)
    job = train(args)
    print_stats()
    explain_step(job, args.explain)
    if not args.explain:
        print("  see it all: python3 examples/train_mlp.py --explain   (IR before/after, kernels, memory plan)")
    return job.history
