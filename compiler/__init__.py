"""The compiler: IR, op table, passes and lowering. Imports the runtime, never the frontend."""
from . import ir, ops, symbolic
from .ir import Node, REALIZED, listing
from .ops import OPS, build, const, leaf
from .program import Options, CONFIG, Program
from .realizer import realize, plan, STATS, clear_cache, cache_size, cache_bytes
from .queries import is_computed, buffer_of, array_of, assigned_buffers, readers_of, arg_text, after_passes
from . import realizer as _realize


def set_eager(on: bool) -> None:
    ops.Hooks.eager = _realize._eager_eval if on else None


def eager_enabled() -> bool:
    return ops.Hooks.eager is not None
