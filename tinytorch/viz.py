"""Pictures of the compiler's work: the graph before and after the passes, and the memory plan over time.

`draw(t, path, stage)` writes the graph as Graphviz DOT (built with the `graphviz` package) and, when a `dot`
executable is found (system Graphviz, or the `graphviz-pure` wheel's `graphviz-pure` binary), renders `path`
as SVG or PNG. After the passes each kernel is a cluster. Nodes are coloured by role, inferred from the
graph: forward = what the non-update outputs (the loss) need; backward = what the gradients held in `.grad`
need beyond that; update = the rest (assigns and the optimizer math that only feeds them).
`draw_memory_plan(plan, path)` writes an SVG timeline: one bar per arena buffer, kernel steps across, arena
offsets down.
"""
from __future__ import annotations

import html
import pathlib
import shutil
import subprocess

from . import compiler as C
from .compiler.ops import GROUPS
from .compiler.program import Options
from .inspect import targets_of
from .live_tensors import GRAD_LEAVES

COLORS = {"forward": "#cfe2ff", "backward": "#ffd8a8", "update": "#c3f0c8", "input": "#e9ecef"}
DOT_TIMEOUT_S = 60


def roles(targets) -> dict:
    """id(node) -> "forward" | "backward" | "update" | "input" for every node the targets reach."""
    grads = []
    for node, ref in list(GRAD_LEAVES.items()):
        t = ref()
        if t is not None and t.grad is not None and not C.is_computed(t.grad._node):
            grads.append(t.grad._node)
    grad_ids = {id(n) for n in grads}
    forward = {id(n) for n in C.ir.pending([t for t in targets if t.op != "assign" and id(t) not in grad_ids])}
    backward = {id(n) for n in C.ir.pending(grads)} - forward
    out = {}
    for n in C.ir.pending(targets):
        if C.is_computed(n):
            out[id(n)] = "input"
        elif id(n) in forward:
            out[id(n)] = "forward"
        elif id(n) in backward or not any(m.op == "assign" for m in targets):
            out[id(n)] = "backward"
        else:
            out[id(n)] = "update"
    return out


def _label(n) -> str:
    arg = C.arg_text(n)
    return f"{n.op}{(' ' + arg[:24]) if arg else ''}\\n{C.ir.type_str(n)}"


def to_dot(*tensors, stage: str = "before", options: Options | None = None) -> str:
    """The DOT source of the graph of `tensors` before or after the passes (after: each kernel a cluster)."""
    if stage not in ("before", "after"):
        raise ValueError(f"stage must be 'before' or 'after', got {stage!r}")
    import graphviz  # here, not at the top: only a drawing needs it (~10 ms of every import otherwise)

    targets = targets_of(tensors)
    role = roles(targets)
    dot = graphviz.Digraph("tinytorch", node_attr={"shape": "box", "style": "rounded,filled", "fontsize": "10"},
                           graph_attr={"rankdir": "TB", "labelloc": "t", "label": f"{stage} the passes: blue "
                                       f"forward, orange backward, green update"})
    if stage == "before":
        order, groups = C.ir.pending(targets), []
    else:
        order, groups, memo = C.after_passes(targets, options or Options.current())
        for old_id, new in memo.items():
            role.setdefault(id(new), role.get(old_id, "forward"))
        groups = [gr for gr in groups if gr.kind != "copy"]
    names = {id(n): f"n{i}" for i, n in enumerate(order)}
    in_group = set()
    for gi, gr in enumerate(groups):
        with dot.subgraph(name=f"cluster_k{gi}", graph_attr={"label": f"kernel {gi}: {gr.kind}", "style": "dashed",
                                                             "color": "#555555"}) as cluster:
            for n in gr.nodes:
                in_group.add(id(n))
                _add_node(cluster, names[id(n)], n, role)
    for n in order:
        if id(n) not in in_group:
            _add_node(dot, names[id(n)], n, role, small=stage == "after" and not C.is_computed(n))
    for n in order:
        for s in n.srcs:
            if id(s) in names:
                dot.edge(names[id(s)], names[id(n)])
    return dot.source


def _add_node(dot, name, n, role, small=False) -> None:
    """One box, coloured by role; data (buffers, constants, inputs) as notes, unfused ops after the passes small."""
    r = role.get(id(n), "forward")
    shape = {"shape": "ellipse", "fontsize": "8"} if small else {}
    if n.op == "buffer" or n.op in GROUPS.embedded or r == "input":
        shape = {"shape": "note"}
    dot.node(name, label=_label(n), fillcolor=COLORS[r], **shape)


def dot_executable() -> str | None:
    """The renderer to run: system Graphviz `dot`, else the `graphviz-pure` binary; None writes DOT only."""
    return shutil.which("dot") or shutil.which("graphviz-pure")


def render(dot_text: str, path) -> list:
    """Write `path` (.dot, or .svg/.png rendered next to its .dot) and return the paths written."""
    path = pathlib.Path(path)
    dot_path = path if path.suffix == ".dot" else path.with_suffix(".dot")
    dot_path.write_text(dot_text)
    written = [dot_path]
    exe = dot_executable()
    if path.suffix in (".svg", ".png") and exe:
        subprocess.run([exe, f"-T{path.suffix[1:]}", str(dot_path), "-o", str(path)], check=True,
                       capture_output=True, timeout=DOT_TIMEOUT_S)
        written.append(path)
    return written


def draw(t, path, stage: str = "before", options: Options | None = None) -> list:
    """Draw the graph of tensor(s) `t` before or after the passes; returns the files written."""
    tensors = tuple(t) if isinstance(t, (list, tuple)) else (t,)
    return render(to_dot(*tensors, stage=stage, options=options), path)


# ---------------------------------------------------------------- the memory plan as a timeline

STEP_W, ROW_H, MARGIN = 48, 260, 60  # pixels per kernel step, height of the arena axis, margins


def memory_plan_svg(plan, recomputed=frozenset()) -> str:
    """`recomputed`: indices of the kernels that recompute forward values (checkpointing): their buffers are
    drawn grey and named "k12 (recomputed)"."""
    steps = max(plan.steps, 1)
    peak = max(plan.peak_bytes, 1)
    w, h = MARGIN * 2 + steps * STEP_W, MARGIN * 2 + ROW_H
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h + 40}" font-family="sans-serif">',
             f'<rect width="{w}" height="{h + 40}" fill="white"/>',
             f'<text x="{MARGIN}" y="24" font-size="14">arena: peak {plan.peak_bytes} B, no reuse '
             f'{plan.no_reuse_bytes} B, lower bound {plan.lower_bound_bytes} B</text>',
             f'<rect x="{MARGIN}" y="{MARGIN}" width="{steps * STEP_W}" height="{ROW_H}" fill="none" '
             f'stroke="#888"/>']
    palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]
    for i, b in enumerate(plan.buffers):
        x = MARGIN + b.first * STEP_W
        y = MARGIN + ROW_H * b.offset / peak
        bw = (b.last - b.first + 1) * STEP_W
        bh = max(ROW_H * b.size / peak, 1.0)
        again = int(b.name[1:]) in recomputed
        color = "#bbbbbb" if again else palette[i % len(palette)]
        label = b.name + (" (recomputed)" if again else "")
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{bh:.1f}" fill="{color}" '
                     f'fill-opacity="0.75" stroke="black" stroke-width="0.5"><title>{html.escape(b.row())}'
                     f'{" recomputed" if again else ""}</title></rect>')
        if bh >= 10:
            parts.append(f'<text x="{x + 3:.1f}" y="{y + min(bh, 14) - 2:.1f}" font-size="10">{label}</text>')
    for s in range(steps):
        parts.append(f'<text x="{MARGIN + s * STEP_W + STEP_W / 2:.1f}" y="{MARGIN + ROW_H + 16}" '
                     f'font-size="10" text-anchor="middle">k{s}</text>')
    parts.append(f'<text x="{MARGIN}" y="{h + 20}" font-size="12">kernel step →   (bars: arena buffers; '
                 f'height = bytes, position = offset)</text>')
    parts.append(f'<text x="8" y="{MARGIN + 10}" font-size="10">0</text>')
    parts.append(f'<text x="8" y="{MARGIN + ROW_H}" font-size="10">{plan.peak_bytes}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def draw_memory_plan(plan, path) -> pathlib.Path:
    """Write the memory plan of a Program (or a MemoryPlan) as an SVG timeline; a Program's recomputed
    kernels (gradient checkpointing) are marked."""
    recomputed = getattr(plan, "recomputed_kernels", frozenset())
    plan = getattr(plan, "memory_plan", plan)
    path = pathlib.Path(path)
    path.write_text(memory_plan_svg(plan, recomputed))
    return path


__all__ = ["draw", "draw_memory_plan", "to_dot", "roles", "render", "dot_executable", "memory_plan_svg"]
