"""The compiler's passes, one file each; every pass is a pure function of a graph.

Names (what `Options.disabled` switches off): fold, dce, checkpoint (recompute activations
under a memory budget), fuse, rowfuse (row kernels, part of fuse), schedule, memplan, inplace.
"""
from .graph import Graph, remake
from .fold import fold
from .dce import dce
from .fusion import fuse, Group
from .schedule import schedule
from .memplan import MemoryPlan, plan_memory
from .checkpoint import checkpoint, Policy, BudgetTooSmall

PASS_NAMES = ("fold", "dce", "checkpoint", "fuse", "rowfuse", "schedule", "memplan", "inplace")

__all__ = ["Graph", "remake", "fold", "dce", "fuse", "Group", "schedule", "MemoryPlan",
           "plan_memory", "PASS_NAMES", "checkpoint", "Policy", "BudgetTooSmall"]
