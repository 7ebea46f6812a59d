"""`tinytorch.autocast`: a region where ops run in the dtype `policy.POLICY` gives them.

The state is per thread, as PyTorch's. The policy is applied where an op is built: the frontend function of
each listed op is wrapped by `autocast_op(name)`, which casts its floating tensor arguments (a `cast` node,
so gradients flow back through it in the original dtype: a float32 parameter gets a float32 gradient) and
calls it. Outside a region the wrapper costs one attribute read. Casts of one tensor in one graph are one
node (hash-consing), so a weight read by several products is cast once, as PyTorch's cast cache does.
"""
from __future__ import annotations

import functools
import threading

from .. import dtypes
from ..tensor_base import TensorBase
from .policy import LOWER, POLICY

SUPPORTED = (dtypes.float16,)  # NumPy has no bfloat16, PyTorch's CPU default
APPLIED: set = set()  # names of POLICY that some frontend function carries (a test checks it is all of them)


class _State(threading.local):
    dtype = None  # the lower dtype while a region is on, else None


STATE = _State()


def is_autocast_enabled() -> bool:
    return STATE.dtype is not None


def get_autocast_dtype():
    """The lower dtype of the enclosing region (float16 outside one, as PyTorch's default for a device)."""
    return STATE.dtype if STATE.dtype is not None else dtypes.float16


class autocast:
    """`with tinytorch.autocast():` (or `@tinytorch.autocast()`) runs products in float16 and keeps reductions,
    softmax, norms and losses in float32 (`policy.py`). `device_type` may only be "cpu"; `dtype` float16;
    `enabled=False` switches it off inside an enclosing region. `cache_enabled` is accepted for PyTorch's
    signature (casts are always shared within a graph)."""

    def __init__(self, device_type: str = "cpu", dtype=None, enabled: bool = True, cache_enabled=None):
        if device_type != "cpu":
            raise RuntimeError(f"autocast: device_type {device_type!r} is not available; TinyTorch runs on the "
                               f"CPU only, use autocast('cpu') or autocast()")
        dtype = dtypes.float16 if dtype is None else dtypes.as_dtype(dtype)
        if dtype not in SUPPORTED:
            raise TypeError(f"autocast: dtype {dtype.name} is not supported; use float16 (NumPy, and so "
                            f"TinyTorch, has no bfloat16)")
        self.device_type, self.fast_dtype, self.enabled = device_type, dtype, bool(enabled)
        self._prev = []

    def __enter__(self):
        self._prev.append(STATE.dtype)
        STATE.dtype = self.fast_dtype if self.enabled else None
        return self

    def __exit__(self, *exc):
        STATE.dtype = self._prev.pop()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self.enabled):
                return fn(*args, **kwargs)
        return run


def _cast(a, src, dst):
    return a.to(dst) if isinstance(a, TensorBase) and a._node.dtype == src else a


def cast_arguments(policy: str, lower, args: tuple, kwargs: dict) -> tuple:
    """(args, kwargs) of an op whose `policy` is LOWER or FLOAT32, inside a region of dtype `lower`: the
    tensor arguments cast to the dtype the op runs in; what is already in it, and what is not a tensor, as is."""
    # BEGIN EXERCISE m17.cast_arguments
    # STUB: return args, kwargs  # autocast does nothing: every op runs in its inputs' dtype
    src, dst = (dtypes.float32, lower) if policy == LOWER else (lower, dtypes.float32)
    args = tuple(_cast(a, src, dst) for a in args)
    if kwargs:
        kwargs = {k: _cast(v, src, dst) for k, v in kwargs.items()}
    return args, kwargs
    # END EXERCISE m17.cast_arguments


def autocast_op(name: str):
    """Decorate the frontend function of op `name` with its policy from `POLICY`."""
    policy = POLICY[name]
    APPLIED.add(name)

    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            lower = STATE.dtype
            if lower is None:
                return fn(*args, **kwargs)
            args, kwargs = cast_arguments(policy, lower, args, kwargs)
            return fn(*args, **kwargs)
        return run
    return decorate
