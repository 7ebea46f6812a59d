"""Scheduling: a topological order of kernels that keeps peak memory low.

Greedy list scheduling: of the kernels whose inputs are ready, run the one
that frees the most bytes net of what it allocates (ties: graph order), so a
branch is finished, and its temporaries released, before another starts. An
output every reader of which waits only for it is transient (its readers
can run, and free it, next) and is not counted against its kernel: a weight
gradient is computed, and the activation it reads freed, as soon as its
inputs are ready, not after the whole backward.
State writes come last: a kernel that assigns a buffer runs after every
kernel that reads the old value of that buffer (unless the reader itself
depends on a write, which orders it after by data). With the pass switched
off, kernels run in graph order under the same rule.
Recomputations (groups whose root is in `g.late`, made by checkpoint.py) run
on demand: one is a candidate only once a reader of it (through other
recomputations) waits for nothing else, so the values it recomputes live only
through the backward that reads them; and the forward (`g.early`) runs
first, so the originals they replace die in it (a loss nothing in the
backward reads is not left to the end, holding its inputs).
"""
from __future__ import annotations

from .fusion import base_of, contig_roots


def reads(gr, g, group_of, stops=frozenset()) -> set:
    """Indices of the groups whose outputs `gr` reads (`stops`: see fusion.contig_roots)."""
    nodes = gr.nodes if gr.kind != "copy" else []
    srcs = [s for n in nodes for s in n.srcs] if nodes else [gr.root]
    out = set()
    inside = {id(n) for n in nodes}
    for s in srcs:
        b, _ = base_of(s, g, stops)
        if id(b) in group_of and id(b) not in inside:
            out.add(group_of[id(b)])
    return out


def _buffers_read(gr, g) -> set:
    """Ids of the state buffers `gr` reads, directly or through a materialized view (a safe over-estimate)."""
    nodes = gr.nodes if gr.kind != "copy" else []
    srcs = [s for n in nodes for s in n.srcs] if nodes else [gr.root]
    out = set()
    for s in srcs:
        b, _ = base_of(s, g)
        if b.op == "buffer":
            out.add(id(b.arg))
    return out


def dependencies(groups, g) -> list:
    """For each group, the set of group indices that must run before it (data and write-after-read)."""
    group_of = {}
    for i, gr in enumerate(groups):
        for n in gr.nodes:  # a copy group has none: what it copies belongs to another group or is an input
            group_of[id(n)] = i
    stops = contig_roots(groups)
    deps = [reads(gr, g, group_of, stops) for gr in groups]
    after = set()  # writes, and everything that depends on a write
    for i, gr in enumerate(groups):
        if gr.kind == "assign" or deps[i] & after:
            after.add(i)
    for i, gr in enumerate(groups):
        if gr.kind != "assign":
            continue
        target = id(gr.root.srcs[0].arg)
        for j, other in enumerate(groups):
            if j != i and j not in after and target in _buffers_read(other, g):
                deps[i].add(j)
    return deps


def schedule(groups, g, sizes, enabled: bool = True) -> list:
    """A permutation of range(len(groups)); `sizes[i]` is the arena bytes group i's output takes (0 if none)."""
    deps = dependencies(groups, g)
    n = len(groups)
    users = [set() for _ in range(n)]
    for i, d in enumerate(deps):
        for j in d:
            users[j].add(i)
    waiting = [len(d) for d in deps]
    readers_left = [len(users[j]) for j in range(n)]
    ready = {i for i in range(n) if waiting[i] == 0}
    order = []
    late = [id(gr.root) in g.late for gr in groups]
    early = {i for i, gr in enumerate(groups) if id(gr.root) in g.early}
    blocked = [sum(1 for j in d if not late[j]) for d in deps]  # non-late groups each still waits for
    while ready:
        pick = _on_demand(ready, late, users, blocked, early) if g.late else ready
        if enabled:
            def gain(i):
                freed = sum(sizes[j] for j in deps[i] if readers_left[j] == 1)
                transient = users[i] and all(waiting[u] == 1 for u in users[i])
                return (freed - (0 if transient else sizes[i]), -i)
            i = max(pick, key=gain)
        else:
            i = min(pick)
        ready.discard(i)
        order.append(i)
        for j in deps[i]:
            readers_left[j] -= 1
        if not late[i]:
            for u in users[i]:
                blocked[u] -= 1
        for u in users[i]:
            waiting[u] -= 1
            if waiting[u] == 0:
                ready.add(u)
    if len(order) != n:
        raise RuntimeError("schedule: the kernel graph has a cycle (a fusion bug)")
    return order


def _on_demand(ready, late, users, blocked, early) -> set:
    """The ready groups to choose from: the forward ones if any; else every one that is not a recomputation,
    and the recomputations some reader (through other recomputations) is otherwise ready for; all of them if
    that leaves none."""
    first = ready & early
    if first:
        return first
    memo = {}

    def wanted(i):
        if i not in memo:
            memo[i] = False
            memo[i] = any(wanted(u) if late[u] else blocked[u] == 0 for u in users[i])
        return memo[i]
    pick = {i for i in ready if not late[i] or wanted(i)}
    return pick or ready
