"""Mixed precision on the MNIST CNN: memory, step time and test accuracy, float32 against autocast + GradScaler.

    OPENBLAS_NUM_THREADS=2 TINYTORCH_NUM_THREADS=2 python3 benchmarks/bench_amp.py
    python3 benchmarks/bench_amp.py --quick          # a smoke run: tiny training, one round

The model is the PyTorch MNIST example's network (`models._mnist_cnn`: conv 32, conv 64, max-pool, fc 9216x128,
fc 128x10, 1.2M parameters), trained with Adam (lr 1e-3) at `--batch` 64, a captured step (`tinytorch.compile`).
`float32` is the plain step; `amp` runs the forward under `tinytorch.autocast()` (convolutions, linears and the
ReLUs between them in float16, the loss in float32) with a `tinytorch.GradScaler`; parameters, gradients and
Adam's moments stay float32 in both.

Each configuration runs in a fresh process (glibc's mmap threshold fixed at 64 KiB so RSS follows the
arrays). Columns: the planned arena of the training step's Program (every temporary: activations kept for
the backward, activation gradients, transient weight gradients), the process's peak RSS over the timed steps
(Linux's high-water mark through `memory_report.RssSampler`: weights, Adam state, arenas, code, the
interpreter) and how far it rose above the RSS before them (memory allocated per step outside the arena; the
float32 chunks a float16 convolution or matmul computes in, `runtime/widen.py`, are reused scratch), the
median step time over `--steps` steps (the rounds alternate the two configurations; the table quotes the
median over rounds), and the test accuracy on all 10,000 test images after `--epochs` epochs over the first
`--train` training images, the same images in the same order for both. Needs mnist.npz (`../shared/datasets`
or `$TINYTORCH_DATA`). Prints a table; asserts nothing. Timings on a shared machine are noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

MB = 1 << 20
ROOT = pathlib.Path(__file__).resolve().parents[1]


def _data(train: bool, n=None):
    import numpy as np
    from tinytorch.data.mnist import load_mnist
    root = os.environ.get("TINYTORCH_DATA") or ROOT.parent / "shared" / "datasets"
    x, y = load_mnist(root, train=train)
    x, y = x[:n], y[:n]
    x = ((x.astype(np.float32) / 255.0 - 0.1307) / 0.3081)[:, None]  # the PyTorch example's normalization
    return x, y.astype(np.int64)


def _setup(args, tt):
    from models import _mnist_cnn
    from tinytorch import nn, optim
    tt.set_backend(args.backend)
    tt.manual_seed(0)
    model = _mnist_cnn(nn)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    amp = args.child.startswith("amp")
    scaler = tt.GradScaler(enabled=amp)

    def step(x, y):
        opt.zero_grad()
        with tt.autocast(enabled=amp):
            loss = nn.functional.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss
    return model, tt.compile(step), amp


def _time_child(args) -> dict:
    from harness import pin_threads
    pin_threads()
    import numpy as np
    import tinytorch as tt
    from tinytorch.compiler import realizer
    from tinytorch.memory_report import RssSampler

    model, step, _ = _setup(args, tt)
    x, y = _data(True, args.batch)
    x, y = tt.tensor(x), tt.tensor(y)
    t0 = time.perf_counter()
    step(x, y).item()
    first = time.perf_counter() - t0
    step(x, y).item()
    step(x, y).item()
    times = []
    with RssSampler() as rss:
        for _ in range(args.steps):
            t = time.perf_counter()
            step(x, y).item()
            times.append(time.perf_counter() - t)
    planned = max(p.memory_plan.peak_bytes for p in realizer.cached_programs())
    return {"config": args.child, "step_s": statistics.median(times), "first_s": first, "planned": planned,
            "rss": rss.peak - rss.before, "rss_peak": rss.peak, "finite": bool(np.isfinite(step(x, y).item()))}


def _train_child(args) -> dict:
    from harness import pin_threads
    pin_threads()
    import numpy as np
    import tinytorch as tt

    model, step, amp = _setup(args, tt)
    xs, ys = _data(True, args.train)
    xt, yt = _data(False)
    order = np.random.default_rng(0)
    t0 = time.perf_counter()
    losses = []
    for _ in range(args.epochs):
        perm = order.permutation(len(xs))
        for i in range(0, len(xs) - args.batch + 1, args.batch):
            idx = perm[i:i + args.batch]
            losses.append(step(tt.tensor(xs[idx]), tt.tensor(ys[idx])))
        losses = [float(np.mean([v.item() for v in losses]))]
    train_s = time.perf_counter() - t0
    model.eval()
    correct = 0
    with tt.no_grad(), tt.autocast(enabled=amp):
        for i in range(0, len(xt), 500):
            correct += int((model(tt.tensor(xt[i:i + 500])).argmax(1).numpy() == yt[i:i + 500]).sum())
    return {"config": args.child, "accuracy": 100.0 * correct / len(xt), "train_s": train_s,
            "last_loss": losses[-1]}


def _run(config, args) -> dict:
    from harness import run_child
    out = run_child(__file__, ["--child", config, "--backend", args.backend, "--batch", args.batch, "--steps",
                               args.steps, "--train", args.train, "--epochs", args.epochs])
    return dict(out, config=config)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default="llvm", choices=["numpy", "llvm"])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--train", type=int, default=60000, help="training images per epoch (the first N)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--no-train", action="store_true", help="memory and step time only")
    ap.add_argument("--quick", action="store_true", help="3 steps, 1 round, 640 training images")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.rounds, args.train = 3, 1, 640
    if args.child:
        print(json.dumps(_train_child(args) if args.child.endswith("-train") else _time_child(args)))
        return
    configs = ["float32", "amp"]
    runs = {c: [] for c in configs}
    for r in range(args.rounds):
        for c in (configs if r % 2 == 0 else configs[::-1]):
            runs[c].append(_run(c, args))
    trained = {} if args.no_train else {c: _run(c + "-train", args) for c in configs}
    print(f"MNIST CNN (1.2M parameters), batch {args.batch}, Adam, {args.backend}, captured step; medians of "
          f"{args.rounds} alternating rounds of {args.steps} steps")
    print(f"{'config':<8} {'planned arena MB':>16} {'x smaller':>9} {'RSS MB':>7} {'RSS growth MB':>13} {'step ms':>8} "
          f"{'x time':>7} {'test acc %':>10} {'train s':>8}")
    base = None
    for c in configs:
        ok = [r for r in runs[c] if "error" not in r]
        if not ok:
            print(f"{c:<8} failed: {runs[c][0]['error']}")
            continue
        planned = ok[0]["planned"]
        rss = statistics.median(r["rss"] for r in ok)
        rss_peak = statistics.median(r["rss_peak"] for r in ok)
        step = statistics.median(r["step_s"] for r in ok)
        base = base or (planned, step)
        t = trained.get(c, {})
        acc = f"{t['accuracy']:.2f}" if "accuracy" in t else t.get("error", "-")[:10]
        train_s = f"{t['train_s']:.0f}" if "train_s" in t else "-"
        print(f"{c:<8} {planned / MB:>16.1f} {base[0] / planned:>9.2f} {rss_peak / MB:>7.0f} {rss / MB:>13.0f} "
              f"{step * 1e3:>8.0f} "
              f"{step / base[1]:>7.2f} {acc:>10} {train_s:>8}")


if __name__ == "__main__":
    main()
