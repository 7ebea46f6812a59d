"""Pictures: DOT with kernels as clusters and roles coloured apart, rendering when a dot binary exists,
the memory timeline SVG, explain's sections and TINYTORCH_DEBUG output."""
import re

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import viz


def step_graph():
    rng = np.random.default_rng(0)
    w = tt.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    x = tt.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    loss = (x @ w).tanh().sum()
    loss.backward()
    w.assign(w.detach() - 0.1 * w.grad)
    return w, loss


def parse_dot(dot):
    """The nodes ({name: {attribute: value}}), edges ([(from, to)]) and clusters ([(label, [node names])]) of
    the DOT source viz writes (the `graphviz` package's layout: one statement a line)."""
    nodes, edges, clusters, inside = {}, [], [], False
    for line in dot.splitlines():
        line = line.strip()
        if line.startswith("subgraph cluster_"):
            clusters.append([None, []])
            inside = True
        elif inside and line.startswith("graph ["):
            clusters[-1][0] = re.search(r'label="([^"]*)"', line).group(1)
        elif line == "}":
            inside = False
        elif m := re.fullmatch(r"(n\d+) -> (n\d+)", line):
            edges.append(m.groups())
        elif m := re.fullmatch(r"(n\d+) \[(.*)\]", line):
            attrs = {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', m.group(2))}
            assert m.group(1) not in nodes, f"node {m.group(1)} declared twice"
            nodes[m.group(1)] = attrs
            if inside:
                clusters[-1][1].append(m.group(1))
    return nodes, edges, [tuple(c) for c in clusters]


def op_of(attrs):
    return attrs["label"].split("\\n")[0].split(" ")[0]


def test_dot_before_colours_forward_backward_update():
    w, loss = step_graph()
    dot = viz.to_dot(w, stage="before")
    assert dot.startswith("digraph tinytorch {") and dot.rstrip().endswith("}")
    nodes, edges, clusters = parse_dot(dot)
    assert not clusters and "cluster" not in dot
    assert {a["fillcolor"] for a in nodes.values()} == {viz.COLORS[r] for r in viz.COLORS}
    ops = {name: op_of(a) for name, a in nodes.items()}
    (assign,) = [n for n, op in ops.items() if op == "assign"]
    assert nodes[assign]["fillcolor"] == viz.COLORS["update"]
    assert [nodes[n]["fillcolor"] for n, op in ops.items() if op == "tanh"] == [viz.COLORS["forward"]]
    assert all(nodes[n].get("shape") == "note" for n, op in ops.items() if op in ("buffer", "const"))
    assert all(a in nodes and b in nodes for a, b in edges)
    assert sorted(ops[a] for a, b in edges if b == assign) == ["buffer", "sub"]  # target, new value
    assert re.search(r'label="tanh\\nf32\[5,3\]"', dot)


def test_dot_after_has_one_cluster_per_kernel(tmp_path):
    w, loss = step_graph()
    dot = viz.to_dot(w, stage="after")
    prog = tt.plan(w)
    kernels = [k for k in prog.kernels if k.root.op != "copy"]
    nodes, edges, clusters = parse_dot(dot)
    assert dot.count("subgraph cluster_") == len(clusters) == len(kernels)
    assert [label.split(":")[0] for label, _ in clusters] == [f"kernel {i}" for i in range(len(kernels))]
    assert all(members for _, members in clusters)
    assert any(op_of(nodes[n]) == "assign" for _, members in clusters for n in members)
    assert all(a in nodes and b in nodes for a, b in edges)
    written = viz.draw(w, tmp_path / "g.svg", stage="after")
    assert (tmp_path / "g.dot").read_text() == dot
    if viz.dot_executable():
        assert (tmp_path / "g.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
        assert len(written) == 2


def test_memory_timeline_has_a_bar_per_buffer(tmp_path):
    x = tt.tensor(np.ones((64, 64), np.float32))
    h = x
    for _ in range(3):
        h = (h - tt.amax(h, 1, keepdim=True)).exp()
    with tt.disable_passes("rowfuse"):  # one row kernel otherwise: no temporaries to draw
        prog = tt.plan(h)
    svg = viz.draw_memory_plan(prog, tmp_path / "m.svg").read_text()
    assert svg.count("<title>") == len(prog.memory_plan.buffers) > 0
    assert f"peak {prog.memory_plan.peak_bytes} B" in svg


def test_explain_lists_every_section():
    x = tt.tensor(np.ones((8, 8), np.float32))
    text = tt.explain((x * 1).exp().softmax(-1))
    for head in ("== IR before", "== passes", "== IR after", "== kernels", "== memory plan"):
        assert head in text
    for name in ("fold", "dce", "fuse", "schedule", "memplan"):
        assert re.search(rf"^{name}\s+\d+ -> \d+", text, re.M), name


@pytest.mark.parametrize("level,expect", [(1, "realize: "), (2, "ms  k0"), (3, "IR after:"), (4, "kernel k0:")])
def test_debug_levels(monkeypatch, capsys, level, expect):
    monkeypatch.setenv("TINYTORCH_DEBUG", str(level))
    tt.compiler.clear_cache()
    x = tt.tensor(np.ones((4, 4), np.float32))
    (x.exp() + 1).realize()
    err = capsys.readouterr().err
    assert expect in err
    if level == 1:
        assert "IR after:" not in err
