"""Gradient checkpointing: which forward values the backward keeps, and which it recomputes.

One Program holds a training step's forward, backward and update. Without this
pass every forward value a backward op reads stays in the arena from the
forward until its backward reader runs: the activations, most of a deep
network's peak. Here some of them are recomputed instead: the forward
sub-graph that produces such a value is duplicated as new nodes (`ir.make`
with `unique=True`, so hash-consing does not merge them back into the
originals) that only backward nodes read. The scheduler runs these
recomputations on demand (`Graph.late`: schedule.py defers them until a reader
is otherwise ready), so the originals die in the forward and the memory plan
reuses their bytes.

Forward and backward: the forward is what the roots reach, the outputs
`backward` was called on (else the targets that are not `assign`s and that no
assign reads: the loss, not the gradients an optimizer update reads). Nothing
outside it is duplicated, and neither are reductions, assigns and leaves
(`recomputable`): a reduction fused into another kernel may sum in another
order, and the gradients must be the same floats as without checkpointing
(matmuls, convolutions and elementwise ops give the same bits from the same
operands); a `rand` (dropout's mask) is kept, never drawn again.

What to keep (`keep_*`: a set of ids of forward nodes, the rest of what the
backward reads is recomputed from them and the inputs):
- `mincut`: a minimum cut, as PyTorch's `min_cut_rematerialization_partition`
  but with the recompute cost in the objective: each forward node v is an
  edge v_in -> v_out of capacity bytes(v) (cut: v is kept), the source feeds
  v_in with lam * flops(v) (cut: v is recomputed), data edges are infinite and
  every value the backward reads feeds the sink. The cut minimizes kept bytes
  plus lam times recomputed FLOPs; lam trades one for the other.
- `sqrt`: Chen et al. (2016): of the values the backward reads, in graph order,
  keep every s-th, s about sqrt(n), and recompute each segment from its start.
- `marked`: `tinytorch.checkpoint` regions: their nodes are recomputed, the
  rest kept.
Under a budget (`choose`) the candidates (sqrt: every stride s; mincut: every
stride, and every lam's cut, alone and thinned to every s-th kept value) are
ranked by the FLOPs they recompute, and the cheapest whose planned arena peak
(`peak_of`: the real fusion, schedule and memory plan) fits wins; a candidate
keeping more bytes than the budget is never planned. When none fits,
`BudgetTooSmall` names the smallest peak of them all.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import ir
from ..ops import GROUPS, OPS
from .graph import Graph, remake

STRATEGIES = ("mincut", "sqrt")
DEFAULT_LAMBDA = 1.0  # bytes kept worth one recomputed FLOP when no budget is set: recompute only cheap ops
LAMBDAS = tuple(2.0 ** k for k in range(8, -41, -3))  # the min-cut's knob under a budget, least recompute first
STRIDE_GROWTH = 1.3  # the segment strides tried under a budget grow by this factor: 2, 3, 4, 5, 6, 7, 9, 11, ...
_INF = float("inf")


class BudgetTooSmall(RuntimeError):
    """No choice of values to keep gets the planned peak under the memory budget."""


@dataclass(frozen=True)
class Policy:
    """What the pass is asked for: a budget in arena bytes (None: no budget) and a strategy."""
    budget: "int | None" = None
    strategy: str = "mincut"

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"memory_budget: unknown strategy {self.strategy!r}; choose one of "
                             f"{', '.join(STRATEGIES)}")
        if self.budget is not None and (not isinstance(self.budget, int) or self.budget < 0):
            raise ValueError(f"memory_budget: the budget must be a number of bytes >= 0, got {self.budget!r}")

    def key(self):
        return (self.budget, self.strategy)


@dataclass(frozen=True)
class Decision:
    """What the pass chose: for explain and the memory-plan picture."""
    strategy: str
    kept: tuple  # Info of each kept forward value the backward reads
    recomputed: tuple  # Info of each recomputed node (its clone computes it again in the backward)
    peak: "int | None" = None  # the planned arena peak of the choice, where a budget asked for it
    budget: "int | None" = None

    def lines(self) -> list:
        head = f"strategy {self.strategy}"
        if self.budget is not None:
            head += f", budget {self.budget} B, planned peak {self.peak} B"
        out = [head, f"kept for the backward: {len(self.kept)} values, "
                     f"{sum(_nbytes(i) for i in self.kept)} B"]
        out += [f"  kept        {i.op:<10} {ir.type_str(i)}" for i in self.kept]
        out.append(f"recomputed in the backward: {len(self.recomputed)} nodes")
        out += [f"  recomputed  {i.op:<10} {ir.type_str(i)}" for i in self.recomputed]
        return out


def _nbytes(i) -> int:
    return math.prod(i.shape) * i.dtype.itemsize


# ------------------------------------------------------------------ forward, backward and what crosses

def forward_of(g: Graph, roots=()) -> set:
    """Ids of the forward nodes: what `roots` (the outputs backward was called on) reach, else what the
    targets that no assign reads reach (inputs excluded)."""
    if not roots:
        assigns = [t for t in g.targets if t.op in GROUPS.assign]
        fed = {id(n) for n in ir.toposort(assigns, stop=g.is_input)}
        roots = [t for t in g.targets if id(t) not in fed]
    return {id(n) for n in ir.toposort(roots, stop=g.is_input) if not g.is_input(n)}


def crossing(g: Graph, fwd: set) -> list:
    """Forward nodes a backward node reads, in graph order."""
    out = {}
    for n in g.nodes:
        if id(n) in fwd or g.is_input(n):
            continue
        for s in n.srcs:
            if id(s) in fwd and s.op not in GROUPS.embedded:
                out[id(s)] = s
    pos = {id(n): i for i, n in enumerate(g.nodes)}
    return sorted(out.values(), key=lambda n: pos[id(n)])


def recomputable(n) -> bool:
    """Whether a clone of `n` gives the same bits: not a reduction (module docstring), an assign or a leaf."""
    return n.op not in GROUPS.reduce and n.op not in GROUPS.assign and OPS[n.op].kind != "leaf"


def flops(n) -> int:
    """What computing `n` again costs, roughly (FLOPs; a view costs nothing)."""
    if n.op in GROUPS.views or n.op in GROUPS.embedded:
        return 0
    if n.op in GROUPS.matmul:
        return 2 * n.size * n.srcs[0].shape[-1]
    counted = OPS[n.op].flops  # a convolution, attention: the op's own count, as the profiler's
    return counted(n) if counted is not None else n.size


# ------------------------------------------------------------------ choosing what to keep

def keep_mincut(g: Graph, fwd: set, needed: list, lam: float) -> set:
    """The forward values to keep: a minimum cut of kept bytes + lam * recomputed FLOPs (module docstring)."""
    import networkx as nx

    # BEGIN EXERCISE m16.mincut_network
    # STUB: return {id(n) for n in needed}  # keep everything: no recomputation
    net = nx.DiGraph()
    outputs = {id(t) for t in g.targets}
    nodes = [n for n in g.nodes if id(n) in fwd]
    for n in nodes:
        k = id(n)
        can = recomputable(n) and k not in outputs
        keep_cost = 0 if k in outputs else (_INF if n.op in GROUPS.views else n.nbytes)
        net.add_edge(("in", k), ("out", k), capacity=keep_cost)
        net.add_edge("source", ("in", k), capacity=lam * flops(n) if can else _INF)
        for s in n.srcs:
            if id(s) in fwd:
                net.add_edge(("out", id(s)), ("in", k), capacity=_INF)
    for n in needed:
        net.add_edge(("out", id(n)), "sink", capacity=_INF)
    if not needed:
        return set()
    _, (reach, _) = nx.minimum_cut(net, "source", "sink")
    return {id(n) for n in nodes if ("in", id(n)) in reach and ("out", id(n)) not in reach}
    # END EXERCISE m16.mincut_network


def keep_sqrt(g: Graph, fwd: set, needed: list, stride: "int | None" = None) -> set:
    """Chen et al.'s segments: every `stride`-th value the backward reads is kept (default about sqrt(n)),
    and the ones that cannot be recomputed."""
    # BEGIN EXERCISE m16.sqrt_segments
    # STUB: return {id(n) for n in needed}  # keep everything: no recomputation
    cand = [n for n in needed if recomputable(n) and n.op not in GROUPS.views]
    stride = stride or max(1, round(math.sqrt(len(cand))))
    keep = {id(n) for i, n in enumerate(cand) if (i + 1) % stride == 0}
    return keep | {id(n) for n in needed if not recomputable(n)}
    # END EXERCISE m16.sqrt_segments


def keep_unmarked(needed: list, marked: frozenset) -> set:
    """`tinytorch.checkpoint` regions: recompute what was built inside them, keep the rest."""
    return {id(n) for n in needed if id(n) not in marked}


# ------------------------------------------------------------------ the rewrite

def rematerialize(g: Graph, fwd: set, keep: set) -> tuple:
    """Backward nodes read a clone of each forward value not in `keep`, recomputed from kept values and
    inputs. Returns (the new Graph with `late` = the clones, memo id(old) -> new, the recomputed originals)."""
    outputs = {id(t) for t in g.targets}
    clones = {}

    def clone(n):
        k = id(n)
        if k not in fwd or g.is_input(n) or n.op in GROUPS.embedded or k in keep or k in outputs:
            return n
        c = clones.get(k)
        if c is None:
            if not recomputable(n):  # kept after all: nothing else can give the backward its value
                return n
            srcs = tuple(clone(s) for s in n.srcs)
            if n.op in GROUPS.views and srcs == n.srcs:
                c = n
            else:
                c = ir.make(n.op, srcs, n.shape, n.dtype, n.arg, unique=True)
            clones[k] = c
        return c

    memo = {}
    for n in g.nodes:
        if id(n) in fwd or g.is_input(n):
            memo[id(n)] = n
            continue
        srcs = tuple(clone(s) if id(s) in fwd else memo.get(id(s), s) for s in n.srcs)
        memo[id(n)] = n if srcs == n.srcs else remake(n.op, srcs, n.arg)
    targets = tuple(memo.get(id(t), t) for t in g.targets)
    late = frozenset(id(c) for k, c in clones.items() if id(c) != k)
    recomputed = [n for n in g.nodes if id(clones.get(id(n), n)) != id(n)]
    early = frozenset(fwd) if late else frozenset()
    return Graph(targets, tuple(ir.toposort(targets, stop=g.is_input)), g.inputs, late, early), memo, recomputed


# ------------------------------------------------------------------ the pass

def checkpoint(g: Graph, policy: "Policy | None", marked: frozenset = frozenset(), peak_of=None,
               roots=()) -> tuple:
    """The pass: (new Graph, memo, Decision or None). `policy` None with `marked` empty changes nothing;
    `marked`: ids of nodes built in `tinytorch.checkpoint` regions (always recomputed); `peak_of(graph) ->
    bytes`, the planned arena peak, is asked under a budget; `roots`: the nodes backward started from."""
    if policy is None and not marked:
        return g, {}, None
    fwd = forward_of(g, roots)
    needed = crossing(g, fwd)
    if not needed:
        return g, {}, None
    if policy is None:
        return _apply(g, fwd, needed, keep_unmarked(needed, marked), "marked")
    if policy.budget is None:
        keep = _default_keep(g, fwd, needed, policy)
        return _apply(g, fwd, needed, keep & keep_unmarked(needed, marked), policy.strategy)
    return choose(g, fwd, needed, policy, peak_of, marked)


def _default_keep(g, fwd, needed, policy) -> set:
    if policy.strategy == "sqrt":
        return keep_sqrt(g, fwd, needed)
    return keep_mincut(g, fwd, needed, DEFAULT_LAMBDA)


def _apply(g, fwd, needed, keep, strategy, peak=None, budget=None) -> tuple:
    new, memo, recomputed = rematerialize(g, fwd, keep)
    kept = tuple(ir.Info(n) for n in needed if id(n) in keep or not recomputable(n))
    return new, memo, Decision(strategy, kept, tuple(ir.Info(n) for n in recomputed), peak, budget)


def _candidates(g, fwd, needed, policy):
    """Keep sets. sqrt: Chen's segments at every stride. mincut: those too (so it is never worse than them at
    a budget), and for each lam the cut, then the cut thinned as Chen's segments (every s-th kept value, in
    graph order), since recomputed values live until their backward reader too, which the cut does not see."""
    yield {id(n) for n in needed}
    for stride in _strides(len(needed)):
        yield keep_sqrt(g, fwd, needed, stride)
    if policy.strategy == "sqrt":
        return
    pos = {id(n): i for i, n in enumerate(g.nodes)}
    forced = {id(n) for n in needed if not recomputable(n)}
    for lam in LAMBDAS:
        cut = keep_mincut(g, fwd, needed, lam)
        yield cut
        ordered = sorted(cut - forced, key=pos.__getitem__)
        for stride in _strides(len(ordered)):
            yield {k for i, k in enumerate(ordered) if (i + 1) % stride == 0} | forced


def _strides(n: int):
    stride = 2
    while stride <= n + 1:
        yield stride
        stride = max(stride + 1, int(stride * STRIDE_GROWTH))


def choose(g, fwd, needed, policy: Policy, peak_of, marked=frozenset()) -> tuple:
    """The cheapest candidate to recompute whose planned peak fits `policy.budget`; values built in `marked`
    regions are recomputed in every candidate. A candidate keeping more bytes than the budget is not planned:
    every kept value is live where the forward ends."""
    unmarked = keep_unmarked(needed, marked)
    size = {id(n): n.nbytes for n in needed}
    ranked, over = {}, set()
    for keep in _candidates(g, fwd, needed, policy):
        keep = frozenset(keep & unmarked)
        if keep in ranked or keep in over:
            continue
        if sum(size[k] for k in keep) > policy.budget:
            over.add(keep)
            continue
        new, memo, recomputed = rematerialize(g, fwd, keep)
        ranked[keep] = (sum(flops(n) for n in recomputed), len(ranked), new, memo, recomputed)
    best = None
    for keep, (_, _, new, memo, recomputed) in sorted(ranked.items(), key=lambda kv: kv[1][:2]):
        peak = peak_of(new)
        best = peak if best is None else min(best, peak)
        if peak <= policy.budget:
            kept = tuple(ir.Info(n) for n in needed if id(n) in keep or not recomputable(n))
            return new, memo, Decision(policy.strategy, kept, tuple(ir.Info(n) for n in recomputed), peak,
                                       policy.budget)
    for keep in over:  # only to name the smallest peak reachable
        peak = peak_of(rematerialize(g, fwd, keep)[0])
        best = peak if best is None else min(best, peak)
    raise BudgetTooSmall(
        f"memory_budget: the planned peak cannot fit {policy.budget} B with {policy.strategy} checkpointing; "
        f"the smallest peak it reaches is {best} B. Raise the budget to at least {best} B, or make the "
        f"batch or the model smaller")
