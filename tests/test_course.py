"""The course (tinytorch/course/): regions parse and stub cleanly, modules 1-3 close the loop end to end (the
reference passes `check`, a stubbed workspace fails it with the stub's message and a hint), the modules' data
names real tests, and (slow) NBGrader generates and autogrades an exported module, right and wrong."""
import ast
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from tinytorch.course import modules as M
from tinytorch.course import regions as R
from tinytorch.course import thinking as T
from tinytorch.course import workspace as W

ROOT = pathlib.Path(__file__).resolve().parents[1]
COMPLETE = [m for m in M.MODULES if m.complete]
THINK_PREFIX = "python -m tinytorch.course.thinking "


# ---------------------------------------------------------------- regions: parse, refuse bad markers, round-trip

def test_every_region_parses_is_unique_and_belongs_to_a_module_that_claims_it():
    found = R.find_all(ROOT)
    claimed = [name for m in M.MODULES for name in m.regions]
    assert sorted(claimed) == sorted(found), "every marked region is claimed by exactly one module and vice versa"
    assert len(set(claimed)) == len(claimed)
    for m in M.MODULES:
        assert all(found[name].module == m.number for name in m.regions)


def test_regions_do_not_overlap_and_stub_and_restore_round_trip(tmp_path):
    found = R.find_all(ROOT)
    by_file = {}
    for r in found.values():
        by_file.setdefault(r.path, []).append(r)
    for path, rs in by_file.items():
        rs.sort(key=lambda r: r.begin)
        assert all(a.end < b.begin for a, b in zip(rs, rs[1:])), path
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, tmp_path / path)
        for r in rs:
            R.stub(tmp_path, r)
        stubbed = (tmp_path / path).read_text()
        ast.parse(stubbed)  # a stubbed file still compiles
        for r in rs:
            assert R.current_body(tmp_path, r) == r.stub_lines()
            R.restore(tmp_path, r, ROOT)
        assert (tmp_path / path).read_text() == (ROOT / path).read_text(), path


@pytest.mark.parametrize("text, message", [
    ("# BEGIN EXERCISE m01.a\n# BEGIN EXERCISE m01.b\n# END EXERCISE m01.b\n# END EXERCISE m01.a\n", "do not nest"),
    ("# BEGIN EXERCISE m01.a\nx = 1\n", "has no END EXERCISE m01.a"),
    ("x = 1\n# END EXERCISE m01.a\n", "without a BEGIN"),
    ("# BEGIN EXERCISE m01.a\n# END EXERCISE m01.b\n", "write END EXERCISE m01.a"),
    ("# BEGIN EXERCISE topo\n# END EXERCISE topo\n", "must look like m03.topo_walk"),
])
def test_bad_markers_are_refused_naming_the_file_and_line(text, message):
    with pytest.raises(R.RegionError, match=message) as e:
        R.parse(text, "f.py")
    assert "f.py:" in str(e.value)


def test_a_duplicated_name_is_refused(tmp_path):
    for name in ("a.py", "b.py"):
        p = tmp_path / "tinytorch" / name
        p.parent.mkdir(exist_ok=True)
        p.write_text("def f():\n    # BEGIN EXERCISE m01.same\n    return 1\n    # END EXERCISE m01.same\n")
    with pytest.raises(R.RegionError, match="names are unique"):
        R.find_all(tmp_path)


def test_stub_lines_explicit_and_default():
    text = ("def f():\n    # BEGIN EXERCISE m02.x\n    # STUB: return 0\n    return 1\n    # END EXERCISE m02.x\n"
            "def g():\n    # BEGIN EXERCISE m02.y\n    return 2\n    # END EXERCISE m02.y\n")
    x, y = R.parse(text, "f.py")
    assert x.stub_lines() == ["    return 0"] and x.body == slice(3, 4)
    assert y.stub_lines()[0].startswith('    raise NotImplementedError("module 2, exercise m02.y in f.py')


# ---------------------------------------------------------------- modules: data that points at real things

def test_twenty_modules_in_order_each_grading_test_exists():
    assert [m.number for m in M.MODULES] == list(range(1, 21))
    for m in M.MODULES:
        assert m.grading and m.thinking and m.command and m.figure, m.number
        for test in m.tests():
            path, name = test.split("::")
            tree = ast.parse((ROOT / path).read_text())
            names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
            assert name.split("[")[0] in names, f"module {m.number}: {test} is not a test in {path}"
    assert [m.number for m in COMPLETE] == list(range(1, 21)), "every module has its exercises"
    for m in COMPLETE:
        assert (ROOT / m.chapter).exists(), m.chapter
        assert m.command.startswith(("python", "tinytorch")), m.command
    assert all(M.module(n).command != THINK_PREFIX + str(n) or n in T.available() for n in range(1, 21))


# ---------------------------------------------------------------- the loop closes for modules 1-3

DEFAULT_SUITE_MODULES = (1, 2, 3)  # end to end in the default suite; the other modules under -m slow (their
# grading tests are the framework's own, which the default suite runs anyway)


def _reference_passes(numbers):
    report = W.check_many(numbers, ROOT, runs=False)  # the short runs: test_reference_passes_the_short_runs
    for number, r in report.items():
        assert r.imported.startswith(str(ROOT)), r.imported
        assert r.ok and r.score()[0] == r.score()[1], r.text()


def test_reference_passes_check_of_the_first_modules():
    _reference_passes([m.number for m in COMPLETE if m.number in DEFAULT_SUITE_MODULES])


@pytest.mark.slow
def test_reference_passes_check_of_every_complete_module():
    _reference_passes([m.number for m in COMPLETE])


@pytest.mark.parametrize("number", [n if n in DEFAULT_SUITE_MODULES else pytest.param(n, marks=pytest.mark.slow)
                                    for n in (m.number for m in COMPLETE)])
def test_stubbed_workspace_fails_check_with_the_stub_message_and_a_hint(number, tmp_path):
    ws = tmp_path / "ws"
    stubbed = W.start(number, ws)
    assert [r.name for r in stubbed] == list(M.module(number).regions)
    report = W.check(number, ws)
    assert report.imported.startswith(str(ws)), f"the workspace's tinytorch must be imported, got {report.imported}"
    failed = [o for o in report.outcomes if o.outcome == "failed"]
    assert not report.ok and failed, report.text()
    text = report.text()
    assert f"module {number}" in text and "hint:" in text, text
    if any("NotImplementedError" in "".join(r.stub_lines()) for r in stubbed):
        assert "NotImplementedError" in text, text  # a raising stub's message reaches the student
    assert all(o.hint for o in failed), text
    assert report.stubs == list(M.module(number).regions)
    assert report.score()[0] < report.score()[1]


def test_start_keeps_earlier_work_and_solution_restores_one_region(tmp_path):
    ws = tmp_path / "ws"
    W.start(2, ws)
    W.start(3, ws)  # a workspace already: module 2's stubs stay as the student left them
    found = R.find_all(ws)
    assert R.current_body(ws, found["m02.pow_vjp"]) == found["m02.pow_vjp"].stub_lines()
    W.solution(2, ws, "m02.pow_vjp")
    ref = R.find_all(ROOT)["m02.pow_vjp"]
    assert R.current_body(ws, found["m02.pow_vjp"]) == R.reference_body(ROOT, ref)
    assert R.current_body(ws, found["m02.max_vjp"]) == found["m02.max_vjp"].stub_lines()
    with pytest.raises(SystemExit, match="not empty and not a course workspace"):
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "f").write_text("x")
        W.start(1, tmp_path / "other")


def test_cli_list_and_unknown_module():
    out = subprocess.run([sys.executable, "-m", "tinytorch", "course", "list"], capture_output=True, text=True)
    assert out.returncode == 0 and "m03.topo_walk" in out.stdout and len(out.stdout.splitlines()) == 20
    out = subprocess.run([sys.executable, "-m", "tinytorch", "course", "check", "21", "x"], capture_output=True,
                         text=True)
    assert out.returncode != 0 and "there is no module 21" in out.stderr
    out = subprocess.run([sys.executable, "-m", "tinytorch", "course", "check", "1", "no-such-workspace"],
                         capture_output=True, text=True)
    assert out.returncode != 0 and "not a course workspace" in out.stderr and "Traceback" not in out.stderr


# ---------------------------------------------------------------- slow: each region alone is covered; NBGrader

@pytest.mark.slow
@pytest.mark.parametrize("name", [n for m in COMPLETE for n in m.regions])
def test_stubbing_each_region_alone_fails_its_module(name, tmp_path):
    ws = tmp_path / "ws"
    number = int(name[1:3])
    W.start(number, ws)
    for other in M.module(number).regions:
        if other != name:
            W.solution(number, ws, other)
    assert not W.check(number, ws).ok


@pytest.mark.slow
def test_reference_passes_the_short_runs():
    for number, r in W.check_many([m.number for m in COMPLETE if m.run], ROOT).items():
        assert r.ok, r.text()


def _nbgrader(course, *args):
    out = subprocess.run([str(pathlib.Path(sys.executable).with_name("nbgrader")), *args], cwd=course,
                         capture_output=True, text=True)  # PATH holds our bin/: nbgrader runs `alembic` from it
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_nbgrader_generates_and_autogrades_module_1_right_and_wrong_with_a_hidden_test(tmp_path, monkeypatch):
    pytest.importorskip("nbgrader")
    monkeypatch.setenv("PATH", f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    import nbformat
    from tinytorch.course import nbgrader_export as E
    course = tmp_path / "course"
    (path,) = E.export(course, numbers=[1])
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n"
                                               "c.ExecutePreprocessor.timeout = 600\n")
    name = path.parent.name
    _nbgrader(course, "generate_assignment", name, "--force")
    released = course / "release" / name
    hidden = [g.test for g in M.module(1).grading if g.hidden]
    assert hidden, "module 1 has a hidden grading test"
    release_text = (released / path.name).read_text()
    assert all(h not in release_text for h in hidden) and "HIDDEN TESTS" not in release_text
    assert all(h in path.read_text() for h in hidden)
    region = R.find_all(ROOT)["m01.broadcast_two"]
    answers = {"right": "\n".join(R.reference_body(ROOT, region)),
               "wrong": "    return tuple(max(x, y) for x, y in zip(a, b))"}
    for student, body in answers.items():
        _nbgrader(course, "db", "student", "add", student)
        sub = course / "submitted" / student / name
        shutil.copytree(released, sub)
        nb = nbformat.read(str(sub / path.name), 4)
        for cell in nb.cells:
            if "raise NotImplementedError()" in cell.source:
                cell.source = cell.source.replace("    # YOUR CODE HERE\n    raise NotImplementedError()", body)
        nbformat.write(nb, str(sub / path.name))
    _nbgrader(course, "autograde", name, "--force")
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        right = gb.find_submission(name, "right")
        wrong = gb.find_submission(name, "wrong")
        assert right.score == right.max_score > 0
        assert wrong.score < wrong.max_score
