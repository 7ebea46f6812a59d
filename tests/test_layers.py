"""The layers stay honest: imports go one way, tinytorch -> compiler -> runtime, with no cycle inside a package.

Every module's imports are read from its source with `ast` (function-level imports included, since a cycle
hidden inside a function is still a cycle), resolved to the installed names (`compiler/` is
`tinytorch.compiler`, `runtime/` is `tinytorch.runtime`), and checked: the runtime imports neither the
compiler nor the frontend, the compiler never imports the frontend, and within each of the three packages
the files import each other without a cycle.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = {"tinytorch": ROOT / "tinytorch", "tinytorch.compiler": ROOT / "compiler",
            "tinytorch.runtime": ROOT / "runtime"}


def layer(module: str) -> str:
    for name in ("tinytorch.compiler", "tinytorch.runtime"):
        if module == name or module.startswith(name + "."):
            return name
    return "tinytorch" if module == "tinytorch" or module.startswith("tinytorch.") else ""


def modules() -> dict:
    """{module name: path} for every file of the three packages."""
    out = {}
    for pkg, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join([pkg] + parts)] = path
    return out


def imports_of(module: str, path: pathlib.Path, known) -> set:
    """The project modules `module` imports, anywhere in its source."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:  # `from .x import f`: the module is the longest known prefix
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def find_cycle(graph: dict):
    """A list of modules that import each other in a circle, or None (depth-first search, colors)."""
    color, stack = {}, []

    def visit(n):
        color[n] = "grey"
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if color.get(m) == "grey":
                return stack[stack.index(m):] + [m]
            if m not in color:
                cycle = visit(m)
                if cycle:
                    return cycle
        stack.pop()
        color[n] = "black"
        return None

    for n in sorted(graph):
        if n not in color:
            cycle = visit(n)
            if cycle:
                return cycle
    return None


GRAPH = None


def graph() -> dict:
    global GRAPH
    if GRAPH is None:
        known = modules()
        GRAPH = {m: imports_of(m, p, known) for m, p in known.items()}
    return GRAPH


ALLOWED = {"tinytorch.runtime": {"tinytorch.runtime"},
           "tinytorch.compiler": {"tinytorch.compiler", "tinytorch.runtime"},
           "tinytorch": {"tinytorch", "tinytorch.compiler", "tinytorch.runtime"}}


def test_imports_go_one_way():
    wrong = sorted(f"{m} imports {i}" for m, deps in graph().items() for i in deps
                   if layer(i) not in ALLOWED[layer(m)] and not (m == "tinytorch" and i in PACKAGES))
    assert not wrong, "layers: tinytorch -> compiler -> runtime only:\n" + "\n".join(wrong)


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_cycle_inside_a_package(package):
    inside = {m: {i for i in deps if layer(i) == package and i != package}
              for m, deps in graph().items() if layer(m) == package and m != package}
    cycle = find_cycle(inside)
    assert cycle is None, f"{package} has an import cycle: {' -> '.join(cycle)}"


def test_the_checks_can_fail():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    known = modules()
    assert "tinytorch.compiler.realizer" in imports_of("tinytorch.compiler", known["tinytorch.compiler"], known)
    assert layer("tinytorch.compiler.ops") == "tinytorch.compiler" and layer("tinytorch.nn") == "tinytorch"
