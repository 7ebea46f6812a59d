"""Memory planning: liveness intervals over the schedule, offsets in one arena.

Only a program's internal temporaries (kernel outputs nobody outside holds)
live in the arena; inputs, outputs the user keeps and assigned state live
outside it, and the plan lists them as such. A buffer is live from the step
that writes it to the last step that reads it, inclusive. Offsets come from
TFLite's greedy-by-size planner: largest buffers first, each placed in the
best-fitting gap (the smallest one that holds it) among the already placed
buffers whose lifetimes overlap its own. In-place reuse: a buffer may take over
the bytes of an input that dies at the step writing it (the lowering only
allows this for elementwise kernels reading that input at the same index);
the two then form one block from the first one's birth to the last one's death.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ALIGN = 64  # bytes; every arena offset and size is a multiple


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass
class PlanBuffer:
    name: str
    size: int  # bytes, aligned
    first: int  # step that writes it
    last: int  # last step that reads it
    offset: int = -1
    alias_of: str | None = None  # in place: shares the block of this buffer

    def row(self) -> str:
        alias = f"  (in place of {self.alias_of})" if self.alias_of else ""
        return f"{self.name:<8} {self.size:>12} {self.first:>6} {self.last:>6} {self.offset:>12}{alias}"


@dataclass
class MemoryPlan:
    buffers: list  # PlanBuffer, arena temporaries
    outside: list = field(default_factory=list)  # (name, bytes, role): inputs, outputs, state, never in the arena
    steps: int = 0

    @property
    def peak_bytes(self) -> int:
        """The arena's size."""
        return max((b.offset + b.size for b in self.buffers), default=0)

    @property
    def no_reuse_bytes(self) -> int:
        """What the temporaries take if none shares memory."""
        return sum(b.size for b in self.buffers)

    @property
    def lower_bound_bytes(self) -> int:
        """Most bytes live at any one step (an in-place pair counted once): no plan can do better."""
        best = 0
        for t in range(self.steps):
            blocks = {}
            for b in self.buffers:
                if b.first <= t <= b.last:
                    key = b.alias_of or b.name
                    blocks[key] = max(blocks.get(key, 0), b.size)
            best = max(best, sum(blocks.values()))
        return best

    @property
    def outside_bytes(self) -> int:
        return sum(size for _, size, _ in self.outside)

    def verify(self) -> bool:
        """Raise AssertionError unless no two buffers live at the same step overlap in the arena."""
        # BEGIN EXERCISE m13.verify
        # STUB: return True  # trusts the planner: checks nothing
        root = {}
        for b in self.buffers:
            root[b.name] = b.alias_of or b.name
            assert b.offset >= 0 and b.offset % ALIGN == 0, f"{b.name}: bad offset {b.offset}"
        for i, a in enumerate(self.buffers):
            for b in self.buffers[i + 1:]:
                if root[a.name] == root[b.name]:
                    continue
                if a.first <= b.last and b.first <= a.last:
                    assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (
                        f"{a.name} [{a.offset}, {a.offset + a.size}) steps {a.first}-{a.last} overlaps "
                        f"{b.name} [{b.offset}, {b.offset + b.size}) steps {b.first}-{b.last}")
        return True
        # END EXERCISE m13.verify

    def table(self) -> str:
        lines = [f"{'buffer':<8} {'bytes':>12} {'first':>6} {'last':>6} {'offset':>12}"]
        lines += [b.row() for b in sorted(self.buffers, key=lambda b: (b.first, b.name))]
        for name, size, role in self.outside:
            lines.append(f"{name:<8} {size:>12}  outside the arena: {role}")
        lines.append(f"arena peak {self.peak_bytes} B, no reuse {self.no_reuse_bytes} B, "
                     f"liveness lower bound {self.lower_bound_bytes} B, outside {self.outside_bytes} B")
        return "\n".join(lines)


def plan_memory(buffers, steps: int, outside=(), reuse: bool = True) -> MemoryPlan:
    """`buffers`: PlanBuffer with name/size/first/last (and alias_of for in-place pairs) -> offsets set."""
    for b in buffers:
        b.size = _align(b.size)
    blocks = {}
    for b in buffers:
        key = b.alias_of or b.name
        blk = blocks.setdefault(key, [b.size, b.first, b.last])
        blk[0], blk[1], blk[2] = max(blk[0], b.size), min(blk[1], b.first), max(blk[2], b.last)
    offsets = _greedy_by_size(blocks) if reuse else _stacked(blocks)
    for b in buffers:
        b.offset = offsets[b.alias_of or b.name]
    return MemoryPlan(list(buffers), list(outside), steps)


def _stacked(blocks) -> dict:
    out, off = {}, 0
    for key, (size, _, _) in blocks.items():
        out[key] = off
        off += size
    return out


def _greedy_by_size(blocks) -> dict:
    # BEGIN EXERCISE m13.best_fit
    # STUB: return _stacked(blocks)  # no reuse: every buffer its own offset
    placed = []  # (offset, size, first, last)
    out = {}
    for key, (size, first, last) in sorted(blocks.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0])):
        live = sorted((o, s) for o, s, f, l in placed if f <= last and first <= l)
        best, best_gap, cursor = None, None, 0
        for o, s in live:
            gap = o - cursor
            if gap >= size and (best_gap is None or gap < best_gap):
                best, best_gap = cursor, gap
            cursor = max(cursor, o + s)
        offset = best if best is not None else cursor
        placed.append((offset, size, first, last))
        out[key] = offset
    return out
    # END EXERCISE m13.best_fit
