"""The layers stay honest: imports go one way, tinytorch -> compiler -> runtime, with no cycle inside a package.

Every module's imports are read from its source with `ast` (function-level imports included: a cycle hidden
behind an import inside a function still ties the modules into one knot that must be read, and loaded,
together), resolved to the installed names (`compiler/` is `tinytorch.compiler`, `runtime/` is
`tinytorch.runtime`), and checked: the runtime imports neither the compiler nor the frontend, the compiler
never imports the frontend, and within each of the three packages the files import each other without a
cycle. The frontend is layered: dtypes and dims, then the tensor registries and TensorBase, then autograd,
lazy and the math mixins, then Tensor, then everything built on it.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = {"tinytorch": ROOT / "tinytorch", "tinytorch.compiler": ROOT / "compiler",
            "tinytorch.runtime": ROOT / "runtime"}
ALLOWED = {"tinytorch.runtime": {"tinytorch.runtime"},
           "tinytorch.compiler": {"tinytorch.compiler", "tinytorch.runtime"},
           "tinytorch": {"tinytorch", "tinytorch.compiler", "tinytorch.runtime"}}


def module_files(folder: pathlib.Path, package: str) -> dict:
    """{module name: (path, whether it is a package's __init__)} for every .py file under `folder`, the
    folder installed as `package`."""
    files = {}
    for path in sorted(folder.rglob("*.py")):
        parts = list(path.relative_to(folder).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        files[".".join([package, *parts])] = (path, is_package)
    return files


def module_imports(files: dict, known=()) -> dict:
    """{module: set of modules it imports} for the modules of `files` (as `module_files` gives), from every
    import statement in each file, at any depth. `from p import x` counts as importing the module `p.x` where
    there is one (in `files` or `known`), else `p`; a module's parent packages, which Python imports first,
    are not counted."""
    modules = set(files) | set(known)
    graph = {}
    for name, (path, is_package) in files.items():
        here = name.split(".") if is_package else name.split(".")[:-1]
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else []))
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    imported.add(sub if sub in modules else base)
        graph[name] = imported - {name}
    return graph


def find_cycle(graph: dict) -> list | None:
    """One import cycle of `graph` ({module: modules it imports}) as [a, b, ..., a], or None if it has none.
    Modules named only as imports (outside the graph's keys) have no edges of their own."""
    state = {}  # module -> "open" while on the current path, "done" once all it reaches is cycle-free
    path = []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for other in sorted(graph.get(module, ())):
            if state.get(other) == "open":
                return path[path.index(other):] + [other]
            if other not in state:
                cycle = visit(other)
                if cycle:
                    return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def layer(module: str) -> str:
    """Which of the three packages `module` belongs to ("" for anything outside the project)."""
    for name in ("tinytorch.compiler", "tinytorch.runtime"):
        if module == name or module.startswith(name + "."):
            return name
    return "tinytorch" if module == "tinytorch" or module.startswith("tinytorch.") else ""


def project_graph() -> dict:
    files = {}
    for package, folder in PACKAGES.items():
        files.update(module_files(folder, package))
    return module_imports(files)


def test_imports_go_one_way():
    graph = project_graph()
    assert "tinytorch.compiler" in graph["tinytorch.lazy"]  # `from . import compiler as C`: the subpackage
    assert "tinytorch.runtime.config" in graph["tinytorch.compiler.program"]
    wrong = sorted(f"{m} imports {i}" for m, deps in graph.items() for i in deps
                   if layer(i) and layer(i) not in ALLOWED[layer(m)])
    assert not wrong, "layers: tinytorch -> compiler -> runtime only:\n" + "\n".join(wrong)


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_cycle_inside_a_package(package):
    inside = {m: {i for i in deps if layer(i) == package} for m, deps in project_graph().items()
              if layer(m) == package}
    cycle = find_cycle(inside)
    assert cycle is None, f"{package} has an import cycle: {' -> '.join(cycle)}"


def test_a_layer_violation_is_seen():
    assert layer("tinytorch.compiler.ops") == "tinytorch.compiler" and layer("tinytorch.nn") == "tinytorch"
    assert layer("numpy") == "" and "tinytorch" not in ALLOWED["tinytorch.compiler"]


def test_find_cycle_reports_the_cycle_and_nothing_else():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "x"}}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"a2"}, "a2": {"b"}, "b": {"a2"}}) == ["a2", "b", "a2"]


def test_function_level_and_relative_imports_are_counted(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from . import low\n")
    (pkg / "low.py").write_text("def f():\n    from .sub.high import g\n    return g\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "high.py").write_text("from .. import low\nimport numpy\n")
    graph = module_imports(module_files(pkg, "pkg"))
    assert graph == {"pkg": {"pkg.low"}, "pkg.low": {"pkg.sub.high"}, "pkg.sub": set(),
                     "pkg.sub.high": {"pkg.low", "numpy"}}
    assert find_cycle(graph) == ["pkg.low", "pkg.sub.high", "pkg.low"]
