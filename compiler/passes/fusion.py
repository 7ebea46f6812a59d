"""Fusion: partition the computing nodes of a graph into kernels.

Free views (GROUPS.views: reshape, permute, expand, slice, detach, unfold) are
never kernels: they become the way a kernel indexes its operand (strides,
offsets, stride 0 for a broadcast). Constants are embedded in the kernels that
read them.
Where a chain has no strided view (a reshape of a transposed or broadcast
view, as im2col's window matrix), the last view before it is materialized
once, by a "contig" group of its own, and every reader sees a contiguous
array through the rest of its chain: one copy however many kernels read it
(the forward matmul and the weight gradient share one window matrix), and
every kernel input keeps a strided View.

Every other node starts as the root of its own group. Walking from the outputs
back (consumers first), a node joins the group of its consumers when:
- it is not an output and ALL its consumers are in that one group (so every
  kernel has one output, and no fusion can create a cycle between kernels);
- elementwise into elementwise: the node has as many elements as the group's
  nodes (a node broadcast into a bigger consumer would be recomputed per use;
  it stays a small kernel of its own and is read with stride 0);
- a reduction joins an elementwise group whose nodes all have its output size
  (elementwise consumers of a reduction), then elementwise producers of the
  input size join before it (a reduction with its producers);
- a matmul joins an elementwise group of its output size (the epilogue: bias,
  activation, residual); elementwise producers of a matmul's operands do not
  join (the matmul reads its operands as whole arrays);
- one reduction or matmul per kernel.
A cheap elementwise node whose consumers are in several groups is recomputed
in each of them instead of stored (`_recomputable`: not costly, at most
MAX_RECOMPUTE kernels, and no more memory read than storing it would cost),
when every one of those groups may take it: BatchNorm's x - shift and the
ReLU mask of its gradient are recomputed from x by each statistics and
gradient kernel rather than written and read back.
What breaks fusion, and why: several consumers in different kernels (the value
must be materialized once); a reduction broadcast back to the input size
(softmax's x - max(x): the reduction must finish before any consumer element
can be computed) -- except in a row kernel, below; a second reduction or matmul; gather, scatter, fold,
rand and arange, which run as kernels of their own. A `pad` joins a group of elementwise ops of its own size
(no reduction or matmul) that are all its consumers: the gradient of `split` (attention's q, k, v from one
(B, T, 3C) projection) is the sum of three pads, one kernel that reads each gradient once instead of three
pad kernels writing (B, T, 3C) each and a sum reading them back. What a pad reads is materialized, not fused
into its group: a chain of pads through elementwise ops (a log-step scan's gradient) compiled to kernels that
grew with the chain, a 37-step logcumsumexp gradient for minutes. An `assign` is fused as
the tail of the elementwise group computing its value (the whole optimizer
update of one parameter is one kernel).

Row kernels (rowfuse.py, pass name "rowfuse"): after the rules above, the
groups of a reduction over trailing axes, the elementwise ops that read it
expanded back over exactly those axes, and further such reductions (softmax:
max, then sum of exp(x - max); layernorm: mean, then the variance of x - mean)
merge into one group of kind "row": per row of the kept axes, each reduction
loops over the row, then the ops of the input's shape loop over it again.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..kernel import View
from ..ops import GROUPS
from .graph import Graph
from .rowfuse import merge_rows

MAX_RECOMPUTE = 8  # an elementwise value is recomputed in at most this many kernels, else stored


@dataclass
class Group:
    root: object  # the node the kernel outputs (for a "copy" group: the node whose value is copied)
    kind: str  # elementwise reduce row matmul assign opaque copy contig (a view materialized once)
    nodes: list = field(default_factory=list)  # fused nodes, sources before users (root last)
    core: object = None  # the reduction or matmul, if any
    phase: dict = field(default_factory=dict)  # id(node) -> "pre" | "core" | "post"
    row_axes: tuple = ()  # a "row" group: the trailing axes its reductions reduce

    @property
    def size(self) -> int:
        return self.root.size


def base_of(n, g: Graph, stops=frozenset()):
    """The node a chain of free views reads from, and the chain (applied in order). `stops`: ids of
    materialized views (see `contig_roots`), which are bases themselves."""
    chain = []
    while n.op in GROUPS.views and not g.is_input(n) and id(n) not in stops:
        chain.append(n)
        n = n.srcs[0]
    return n, tuple(reversed(chain))


def contig_roots(groups) -> frozenset:
    """Ids of the views that `groups` materialize: pass as `stops` to `base_of`."""
    return frozenset(id(gr.root) for gr in groups if gr.kind == "contig")


def _copy_points(g: Graph) -> frozenset:
    """Ids of the view nodes to materialize: each is the last view before a reshape that no strided view
    of its (contiguous) base can express."""
    stops, seen = set(), set()

    def visit(s):
        if id(s) in seen:
            return
        chain = []
        n = s
        while n.op in GROUPS.views and not g.is_input(n):
            chain.append(n)
            n = n.srcs[0]
        chain.reverse()
        v = View.contiguous(n.shape)
        for i, c in enumerate(chain):
            seen.add(id(c))
            if id(c) in stops:
                v = View.contiguous(c.shape)
                continue
            nxt = v.apply(c)
            if nxt is None and i > 0:
                stops.add(id(chain[i - 1]))
                nxt = View.contiguous(chain[i - 1].shape).apply(c)
            if nxt is None:  # not even from a contiguous base: leave the copy to the backend
                return
            v = nxt

    for n in g.nodes:
        if is_compute(n, g):
            for s in n.srcs:
                visit(s)
    for t in g.targets:
        visit(t)
    return frozenset(stops)


def is_compute(n, g: Graph) -> bool:
    return not g.is_input(n) and n.op not in GROUPS.views and n.op not in GROUPS.embedded


def _kind(n) -> str:
    """The kind of group `n` makes: a view here is one materialized (see _copy_points)."""
    for kind, ops in (("contig", GROUPS.views), ("elementwise", GROUPS.elementwise), ("reduce", GROUPS.reduce),
                      ("matmul", GROUPS.matmul), ("assign", GROUPS.assign)):
        if n.op in ops:
            return kind
    return "opaque"


def fuse(g: Graph, enabled: bool = True, rows: bool = True) -> list:
    """Groups in an order where every group comes after the groups it reads (the roots' graph order).
    `rows`: merge row kernels (see rowfuse.py)."""
    stops = _copy_points(g)
    compute = [n for n in g.nodes if is_compute(n, g) or id(n) in stops]
    users = {id(n): set() for n in compute}
    for n in compute:
        for s in n.srcs:
            b, _ = base_of(s, g, stops)
            if id(b) in users:
                users[id(b)].add(id(n))
    escapes = set()
    for t in g.targets:
        escapes.add(id(base_of(t, g, stops)[0]))
    group_of = {}  # id(node) -> the groups computing it (more than one: recomputed in each)
    for n in reversed(compute):
        cons = users[id(n)]
        placed = None
        if enabled and cons and id(n) not in escapes:
            by_group = {}  # id(group) -> (group, ids of n's consumers in it)
            for c in cons:
                for gr in group_of[c]:
                    by_group.setdefault(id(gr), (gr, set()))[1].add(c)
            if len(by_group) == 1 or _recomputable(n, len(by_group), lambda s: base_of(s, g, stops)):
                phases = [(gr, _join_phase(n, gr, cs)) for gr, cs in by_group.values()]
                if all(ph is not None for _, ph in phases):
                    placed = [gr for gr, _ in phases]
                    for gr, phase in phases:
                        gr.phase[id(n)] = phase
                        if phase == "core":
                            gr.core = n
                            gr.kind = _kind(n)
        if placed is None:
            k = _kind(n)
            grp = Group(n, k, core=n if k in ("reduce", "matmul") else None)
            grp.phase[id(n)] = "core" if grp.core is n else "post"
            placed = [grp]
        for grp in placed:
            grp.nodes.append(n)
        group_of[id(n)] = placed
    pos = {id(n): i for i, n in enumerate(g.nodes)}
    groups = list({id(gr): gr for grs in group_of.values() for gr in grs}.values())
    for gr in groups:
        gr.nodes.sort(key=lambda n: pos[id(n)])
    groups.sort(key=lambda gr: pos[id(gr.root)])
    if enabled and rows:
        groups = merge_rows(groups, g, lambda s: base_of(s, g, stops), escapes)
    return groups + _copies(g, groups)


def _recomputable(n, groups: int, base) -> bool:
    """Whether elementwise `n`, read by `groups` kernels, is recomputed in each instead of stored once:
    when it is cheap (not costly) and recomputing reads no more memory than storing does. Stored: read its
    f full-size sources, write it, read it in each kernel (f + 1 + groups); recomputed: each kernel reads
    the sources (f * groups). BatchNorm's x - shift, read by both statistics, the output and two gradient
    kernels, costs no write and no arena buffer this way."""
    # BEGIN EXERCISE m12.recompute
    # STUB: return False  # never recompute: a value read by several kernels is always stored
    if n.op not in GROUPS.elementwise or n.op in GROUPS.costly or groups > MAX_RECOMPUTE:
        return False
    full = set()
    for b, chain in map(base, n.srcs):  # an operand seen through a slice or a broadcast reads fewer elements
        if b.op not in GROUPS.embedded and min(v.size for v in (b, *chain)) >= n.size:
            full.add(id(b))
    return len(full) * groups <= len(full) + 1 + groups
    # END EXERCISE m12.recompute


def _join_phase(n, grp: Group, cons) -> "str | None":
    """The phase `n` takes in `grp`, or None where it may not join."""
    # BEGIN EXERCISE m12.join_phase
    # STUB: return None  # no fusion: every node its own kernel
    k = _kind(n)
    if grp.kind in ("opaque", "copy", "contig"):
        return None
    phases = {grp.phase[c] for c in cons}
    if any(m.op == "pad" and id(m) in cons for m in grp.nodes):  # a pad in a group reads a materialized value:
        return None  # pads inlined through pads (a scan's gradient: pad, add, pad, ...) grow with the chain
    if n.op == "pad":  # read by elementwise ops of its size: computed where they read it (split's gradient)
        ok = grp.kind == "elementwise" and grp.core is None and n.size == grp.root.size
        return "post" if ok else None
    if k == "elementwise":
        if grp.core is None:
            return "post" if n.size == grp.root.size else None
        if phases == {"post"} and n.size == grp.core.size:
            return "post"
        if grp.kind == "reduce" and phases <= {"pre", "core"} and n.size == grp.core.srcs[0].size:
            return "pre"
        return None
    if k in ("reduce", "matmul") and grp.core is None and phases == {"post"}:
        if all(m.size == n.size for m in grp.nodes if m.op != "assign") and n.size == grp.root.size:
            return "core"
    return None
    # END EXERCISE m12.join_phase


def output_views(g: Graph, groups) -> dict:
    """Targets that view a value a kernel computes, and no other output holds, such that the view of a fresh
    C-contiguous array is itself C-contiguous (a reshape): {id(target): (that kernel's root, the chain)}.
    The kernel writes a fresh array and the user receives it seen through the chain, with no copy kernel
    (`((x*2+1).relu()*3).sum()` is one kernel, not a reduction and then a 4-byte copy for the final reshape).
    Other views are copied: a permuted array would cost a copy on every later native run that reads it (and
    the copy lets layout.py compute a matmul transposed: a weight gradient), and a broadcast one aliases its
    own elements, so it could not be assigned into."""
    roots = {id(gr.root) for gr in groups if gr.kind not in ("copy", "contig") and gr.root.op != "assign"}
    direct = {id(t) for t in g.targets}
    once = len(direct) == len(g.targets)  # else keep it simple: a target listed twice gets copies
    stops, out, taken = contig_roots(groups), {}, set()
    for t in g.targets:
        if not once or id(t) in roots:
            continue
        b, chain = base_of(t, g, stops)
        if id(b) not in roots or id(b) in direct or id(b) in taken or not chain:
            continue
        v = View.contiguous(b.shape)
        for c in chain:
            v = v.apply(c) if v is not None else None
        if v is not None and v == View.contiguous(t.shape):
            taken.add(id(b))
            out[id(t)] = (b, chain)
    return out


def _copies(g: Graph, groups) -> list:
    """Outputs that no kernel produces (an input, a constant, a view that is not free, a value already
    claimed) are copied, so every output the user holds is a fresh array of its own."""
    roots = {id(gr.root) for gr in groups}
    views = output_views(g, groups)
    claimed, out = set(), []
    for t in g.targets:
        if id(t) in roots and id(t) not in claimed:
            claimed.add(id(t))
        elif id(t) not in views:
            out.append(Group(t, "copy"))
    return out
