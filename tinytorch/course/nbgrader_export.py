"""`tinytorch course export --nbgrader DIR`: the standard NBGrader source tree of the complete modules.

DIR/source/<assignment>/<assignment>.ipynb per module, with the grading tests' files beside it in tests/. Each
exercise region becomes an autograded-answer cell holding the whole function around it, the region's code
between `### BEGIN SOLUTION` and `### END SOLUTION` (nbgrader generate_assignment puts its stub there). The
cell then installs the function into the real framework by giving the framework's function its code
(`__code__`), so every caller, the op table's VJP entries included, runs the student's version with the
framework's own globals. Each grading test is an autograded test cell worth its points: it runs that pytest
node in the kernel; a hidden grading test's call sits between NBGrader's hidden-test markers, so the released
notebook leaves it out and autograding puts it back. nbformat is imported only here (`pip install tinytorch[course]`).
"""
from __future__ import annotations

import ast
import pathlib
import shutil

from . import regions as R
from .modules import MODULES
from .workspace import ROOT

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"  # nbgrader strips these on release
SETUP = '''from __future__ import annotations  # answer cells' annotations name the framework's modules (ir.IRBuilder)
import importlib, inspect, os, sys
import pytest
from hypothesis import Phase, settings
settings.register_profile("course-check", phases=[Phase.explicit, Phase.generate], database=None, print_blob=False)
settings.load_profile("course-check")
os.environ.setdefault("TINYTORCH_BACKEND", "numpy")


def _course_install(module, fn, owner=None):
    """Give the framework's function (or owner class's method) of that name this cell's code: every caller
    now runs it."""
    place = importlib.import_module(module)
    place = getattr(place, owner) if owner else place
    inspect.unwrap(getattr(place, fn.__name__)).__code__ = fn.__code__  # under a decorator (autocast_op)


def _course_test(node):
    assert pytest.main(["-q", "-p", "no:cacheprovider", "-o", "addopts=", node]) == 0, f"{node} failed"
'''


def _module_name(path: str) -> str:
    parts = pathlib.PurePosixPath(path).with_suffix("").parts
    head = {"tinytorch": ("tinytorch",), "compiler": ("tinytorch", "compiler"), "runtime": ("tinytorch", "runtime")}
    return ".".join(head[parts[0]] + parts[1:])


def _enclosing(tree, region: R.Region):
    """(the function around the region, its class or None): a top-level function or a top-level class's method."""
    for node in tree.body:
        inner = [(node, None)] if isinstance(node, ast.FunctionDef) else [
            (n, node.name) for n in node.body if isinstance(n, ast.FunctionDef)] if isinstance(node, ast.ClassDef) else []
        for fn, owner in inner:
            if fn.lineno - 1 < region.begin < fn.end_lineno:
                return fn, owner
    raise ValueError(f"{region.path}:{region.begin + 1}: region {region.name} is not inside a top-level function "
                     f"or method, so it cannot become a notebook cell")


def _function_cell(region: R.Region) -> tuple:
    """(the cell's source, the function's name): the function around the region, dedented to the top level, its
    code marked as the solution, then installed into the framework."""
    text = (ROOT / region.path).read_text()
    lines = text.splitlines()
    fn, owner = _enclosing(ast.parse(text), region)
    cut = fn.col_offset
    first = fn.lineno - 1  # the bare function: its decorators stay on the framework's, which gets its code
    out = ["from __future__ import annotations  # the framework's annotations name its own types", ""]
    for i in range(first, max(fn.end_lineno, region.end + 1)):  # a trailing END marker is past the code
        if i == region.begin:
            out.append(f"{region.indent[cut:]}### BEGIN SOLUTION")
        elif i == region.end:
            out.append(f"{region.indent[cut:]}### END SOLUTION")
        elif region.begin < i < region.body.start:
            continue  # the # STUB: lines: nbgrader writes its own stub
        else:
            out.append(lines[i][cut:])
    owner_arg = f", owner={owner!r}" if owner else ""
    out += ["", f"_course_install({_module_name(region.path)!r}, {fn.name}{owner_arg})"]
    return "\n".join(out), fn.name


def _meta(kind: str, cell_id: str, points: int = 0) -> dict:
    grade, solution = kind in ("tests", "answer"), kind in ("answer",)
    meta = {"grade": kind == "tests", "grade_id": cell_id, "locked": kind in ("tests", "setup", "text"),
            "schema_version": 3, "solution": solution, "task": False}
    if grade and kind == "tests":
        meta["points"] = points
    return {"nbgrader": meta}


def notebook(module):
    import nbformat.v4 as nbf
    found = R.find_all(ROOT)
    chapter = ROOT / module.chapter
    cells = [nbf.new_markdown_cell(chapter.read_text() if chapter.exists() else f"# {module.title}",
                                   metadata=_meta("text", "chapter")),
             nbf.new_code_cell(SETUP, metadata=_meta("setup", "setup"))]
    for name in module.regions:
        source, _ = _function_cell(found[name])
        cells.append(nbf.new_code_cell(source, metadata=_meta("answer", name.replace(".", "_"))))
    for k, g in enumerate(module.grading):
        call = f"_course_test({g.test!r})"
        if g.hidden:
            text = f"Test {k + 1} is hidden: it runs when the assignment is graded ({g.points} points)."
            call = f"{HIDDEN_BEGIN}\n{call}\n{HIDDEN_END}"
        else:
            text = f"Test {k + 1}: `{g.test}`. If it fails: {g.hint}"
        cells.append(nbf.new_markdown_cell(text, metadata=_meta("text", f"hint_{k + 1}")))
        cells.append(nbf.new_code_cell(call, metadata=_meta("tests", f"test_{k + 1}", g.points)))
    nb = nbf.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def assignment_name(module) -> str:
    return pathlib.PurePosixPath(module.chapter).stem


def export(dest, numbers=None) -> list:
    """Write DIR/source/<assignment>/ for each complete module (or those in `numbers`); returns the notebooks."""
    import nbformat
    written = []
    for m in MODULES:
        if not m.complete or (numbers is not None and m.number not in numbers):
            continue
        folder = pathlib.Path(dest) / "source" / assignment_name(m)
        (folder / "tests").mkdir(parents=True, exist_ok=True)
        for f in {"conftest.py"} | {g.test.split("::")[0].split("/", 1)[1] for g in m.grading}:
            shutil.copy2(ROOT / "tests" / f, folder / "tests" / f)
        path = folder / f"{assignment_name(m)}.ipynb"
        nbformat.write(notebook(m), str(path))
        written.append(path)
    return written
