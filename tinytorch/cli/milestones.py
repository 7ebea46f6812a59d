"""`tinytorch milestones list | run NAME | results`: ML history, each milestone trained on its real data
(tinytorch.milestones holds the models, the loop and the results file; this is only the command)."""
from __future__ import annotations

import sys

DEFAULT_OUT = "runs/milestones"
INTERRUPTED = 130  # the shell's status for a process stopped by Ctrl-C


def add_parser(sub) -> None:
    p = sub.add_parser("milestones", help="recreate ML history: list, run or tabulate the milestones",
                       description=__doc__)
    verbs = p.add_subparsers(dest="verb", required=True, metavar="{list,run,results}")
    verbs.add_parser("list", help="the milestones: year, model, data, the seed's figure").set_defaults(func=list_)
    r = verbs.add_parser("run", help="train one milestone (continues an interrupted run)",
                         description="Train NAME on its real data, a checkpoint per epoch; rerunning the same "
                         "command continues from the latest checkpoint. The final figures are appended to "
                         "the results file once.")
    r.add_argument("name", metavar="NAME", help="a milestone (see `tinytorch milestones list`)")
    r.add_argument("--epochs", type=int, help="epochs to train (default: the milestone's own)")
    r.add_argument("--dataset", help="another of the milestone's datasets (e.g. mnist for the LeNets)")
    r.add_argument("--data-dir", help="directory holding the dataset files (default: $TINYTORCH_DATA, then the "
                   "checkout's ../shared/datasets, then ~/.cache/tinytorch)")
    r.add_argument("--download", action="store_true", help="fetch missing dataset files (needs the network)")
    r.add_argument("--backend", choices=("numpy", "llvm"), help="compiler backend (default: TINYTORCH_BACKEND)")
    r.add_argument("--out", default=DEFAULT_OUT, help=f"checkpoints and results.jsonl go here (default "
                   f"{DEFAULT_OUT})")
    r.add_argument("--results", help="the results file (default OUT/results.jsonl)")
    r.add_argument("--fresh", action="store_true", help="discard this run's checkpoints and start over")
    r.add_argument("--quick", action="store_true", help="a few steps on a small slice (a smoke test)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--no-progress", action="store_true", help="no progress bar (the per-epoch lines stay)")
    r.set_defaults(func=run)
    s = verbs.add_parser("results", help="print the table of finished runs")
    s.add_argument("--results", default=f"{DEFAULT_OUT}/results.jsonl", help="the results file (default "
                   f"{DEFAULT_OUT}/results.jsonl)")
    s.set_defaults(func=results)


def list_(args) -> int:
    from ..milestones import MILESTONES
    for m in MILESTONES:
        epochs = "20 min" if m.epochs is None else f"{m.epochs} epochs"
        print(f"{m.name:17s} {m.year}  {m.what}\n{'':23s}data: {', '.join(m.datasets)}; seed's figure: "
              f"{m.seed_figure}; default {epochs}")
    return 0


def run(args) -> int:
    from .. import set_backend
    from ..milestones import MissingData, get, run as run_milestone, settings_for
    from ..milestones.runner import ScheduleMismatch
    try:
        m = get(args.name)
        settings = settings_for(m, args.dataset, _root(args.data_dir), args.download, args.quick, args.epochs,
                                args.seed)
    except (KeyError, ValueError) as e:
        print(f"tinytorch milestones run: {e.args[0]}", file=sys.stderr)
        return 2
    if args.backend:
        set_backend(args.backend)
    try:
        run_milestone(m, settings, args.out, args.results, fresh=args.fresh, progress=not args.no_progress)
    except (MissingData, ScheduleMismatch) as e:
        print(f"tinytorch milestones run {m.name}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ntinytorch milestones run {m.name}: interrupted; the same command continues from the last "
              f"checkpoint (--fresh starts over)", file=sys.stderr)
        return INTERRUPTED
    return 0


def results(args) -> int:
    from ..milestones import results as res
    try:
        rows = res.read(args.results)
    except (FileNotFoundError, ValueError) as e:
        print(f"tinytorch milestones results: {e}", file=sys.stderr)
        return 2
    print(res.table(rows))
    return 0


def _root(data_dir):
    from ..milestones.data import data_root
    return data_root(data_dir)
