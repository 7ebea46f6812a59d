"""Skipping an optimizer step as data: while `skip_updates_if(flag)` is active, every `Tensor.assign` keeps
its target's old value where the 0-d bool node `flag` is true.

GradScaler skips the update when a gradient is inf or NaN. PyTorch reads the flag in Python
(`if not found_inf.item(): optimizer.step()`); here that would split the step into two Programs and make a
captured step (`tinytorch.compile`) unable to replay it. Instead every parameter and state update the
optimizer builds becomes `where(flag, old, new)`, one select fused into the update's kernel, so the whole
step (Adam's moments and step counter included) is skipped by the same Program that would have made it.
"""
from __future__ import annotations

import contextlib
import threading

from .. import compiler as C


class _Guard(threading.local):
    flag = None  # a 0-d bool node, or None: no guard


GUARD = _Guard()


@contextlib.contextmanager
def skip_updates_if(flag):
    """Guard the assigns built inside the block by `flag` (a 0-d bool node)."""
    prev, GUARD.flag = GUARD.flag, flag
    try:
        yield
    finally:
        GUARD.flag = prev


def guarded(target, value):
    """The value an assign of `value` (a node) into `target` (a buffer leaf) writes under the current guard."""
    flag = GUARD.flag
    if flag is None:
        return value
    shape = target.shape
    if shape:
        flag = C.build("expand", C.build("reshape", flag, arg=(1,) * len(shape)), arg=shape)
    return C.build("where", flag, target, value)
