"""Run a list of steps over slots.

A step is `(fn, ctx, src_slots, out_slot, free_slots)`: call `fn(ctx, *srcs)`,
store the result in `out_slot`, then drop the slots whose last use this was,
so memory is returned as soon as nothing needs it.
"""


class KernelError(RuntimeError):
    """A step failed at run time (for example an index out of range)."""


def run_steps(steps, slots, describe):
    for i, (fn, ctx, srcs, out, free) in enumerate(steps):
        try:
            slots[out] = fn(ctx, *[slots[s] for s in srcs])
        except Exception as e:  # data-dependent failures: name the step, keep the cause
            raise KernelError(f"{describe(i)} failed at run time: {e}") from e
        for s in free:
            slots[s] = None
    return slots
