"""Module 13's figure: what memory planning buys. A training step's temporaries (activations kept for the
backward, gradients, the update's intermediates) each with bytes of their own, against the best-fit plan that
lets buffers whose lifetimes do not overlap share bytes, and the liveness lower bound no plan can beat; the
step time with the plan on and off (`memplan` disabled: every buffer its own offset)."""
from __future__ import annotations

import statistics

import tinytorch as tt
from tinytorch.tools.models import batch, build, train_step

from ... import compiler as C
from .common import median_ms

MB = 2 ** 20
MODELS = (("mlp", 128), ("lenet5", 64))  # (tinytorch.tools.models name, batch)


ROUNDS = 5


def _step(name, n, disabled=()):
    model, opt = build(name, "momentum")
    batches = [batch(name, n)]

    def step():
        with tt.disable_passes(*disabled):
            train_step(model, opt, batches).numpy()
    for _ in range(3):  # compile; momentum's steady Program serves the third step on
        step()
    return step, C.realizer.cached_programs()[-1]


def figure():
    print(f"{'model':<8} {'batch':>5} {'no reuse MB':>11} {'best fit MB':>11} {'lower bound MB':>14} "
          f"{'x smaller':>9} {'step ms (plan)':>14} {'step ms (no reuse)':>18}")
    for name, n in MODELS:
        (on, prog), (off, _) = _step(name, n), _step(name, n, ("memplan",))
        plan = prog.memory_plan
        plan.verify()
        times = [(median_ms(on, 1), median_ms(off, 1)) for _ in range(ROUNDS)]  # alternated: A, B, A, B, ...
        ms, ms_off = (statistics.median(t) for t in zip(*times))
        print(f"{name:<8} {n:>5} {plan.no_reuse_bytes / MB:>11.2f} {plan.peak_bytes / MB:>11.2f} "
              f"{plan.lower_bound_bytes / MB:>14.2f} {plan.no_reuse_bytes / plan.peak_bytes:>9.2f} "
              f"{ms:>14.2f} {ms_off:>18.2f}")
