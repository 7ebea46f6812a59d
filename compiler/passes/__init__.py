"""The compiler's passes, one file each; every pass is a pure function of a graph.

Names (what `Options.disabled` switches off): attention (off: the other direction, see
attention.py), fold, dce, checkpoint (recompute activations under a memory budget), fuse, rowfuse
(row kernels, part of fuse), schedule, memplan, inplace.
"""
from .graph import Graph, remake
from .attention import attention
from .fold import fold
from .dce import dce
from .fusion import fuse, Group
from .schedule import schedule
from .memplan import MemoryPlan, plan_memory
from .checkpoint import checkpoint, Policy, BudgetTooSmall

PASS_NAMES = ("attention", "fold", "dce", "checkpoint", "fuse", "rowfuse", "schedule", "memplan", "inplace")

__all__ = ["Graph", "remake", "attention", "fold", "dce", "fuse", "Group", "schedule", "MemoryPlan",
           "plan_memory", "PASS_NAMES", "checkpoint", "Policy", "BudgetTooSmall"]
