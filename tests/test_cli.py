"""The `tinytorch` command: every subcommand run in-process on small settings through `tinytorch.cli.main`, its
output checked against the library it reports on (kernel counts against `tinytorch.plan`, versions against the
modules, files written against what the output names), and once `python -m tinytorch --help` in a subprocess."""
import json
import re
import subprocess
import sys

import llvmlite
import numpy as np
import pytest

import tinytorch as tt
from tinytorch import viz
from tinytorch.cli import bench, doctor, main, model_step
from tinytorch.cli.main import COMMANDS
from tinytorch.tools.models import MODELS

NAMES = [c.__name__.rsplit(".", 1)[1] for c in COMMANDS]
OURS = [n for n in NAMES if n != "milestones"]  # milestones is built on its own branch


def run(capsys, *argv):
    """(exit status, stdout, stderr) of `tinytorch argv...` in this process."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as e:
        status = e.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("name", OURS)
def test_every_command_has_help_with_examples(capsys, name):
    status, out, _ = run(capsys, name, "--help")
    assert status == 0
    assert out.startswith(f"usage: tinytorch {name}")
    examples = out.split("examples:\n", 1)[1]
    assert f"tinytorch {name}" in examples  # each example is a command line of this command


def test_python_m_tinytorch_lists_every_command():
    done = subprocess.run([sys.executable, "-m", "tinytorch", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    listed = re.findall(r"^    (\w+)", done.stdout, flags=re.M)
    assert listed == NAMES


def test_unknown_arguments_are_refused(capsys):
    status, _, err = run(capsys, "doctor", "--bogus")
    assert status == 2 and "unrecognized arguments: --bogus" in err


@pytest.mark.parametrize("renderer", [True, False], ids=["renderer", "no-renderer"])
def test_demo_trains_draws_and_times_the_step(capsys, tmp_path, monkeypatch, renderer):
    if not renderer:
        monkeypatch.setattr(viz, "dot_executable", lambda: None)
    status, out, _ = run(capsys, "demo", "--epochs", 1, "--steps", 2, "--out", tmp_path, "--no-progress")
    assert status == 0
    acc = float(re.search(r"final test accuracy (\d\.\d+)", out).group(1))
    assert acc > 0.5  # one epoch of the digits MLP: far above chance (0.1)
    picture = re.search(r"graph of the step: (\S+)", out).group(1)
    assert picture == str(tmp_path / ("step.svg" if viz.dot_executable() else "step.dot"))
    assert ("no dot renderer found" in out) == (not viz.dot_executable())
    assert (tmp_path / "step.svg").exists() == bool(viz.dot_executable())
    dot = (tmp_path / "step.dot").read_text()
    kernels = int(re.search(r"(\d+) kernels \(\d+ fused", out).group(1))
    clusters = dot.count("subgraph cluster_")
    assert 0 < clusters <= kernels  # every kernel but plain copies is a cluster of the picture
    assert "assign" in dot and viz.COLORS["update"] in dot  # the optimizer's update is in the step drawn
    if picture.endswith(".svg"):
        assert (tmp_path / "step.svg").read_text().lstrip().startswith("<?xml")
    assert "arena peak" in out and "fuse" in out  # the pass rows and the memory plan
    plan_svg = re.search(r"memory plan: (\S+)", out).group(1)
    assert plan_svg == str(tmp_path / "memory-plan.svg") and "arena: peak" in (tmp_path / "memory-plan.svg").read_text()
    times = dict(re.findall(r"^\s+(eager|compiled|captured)\s+([\d.]+) ms", out, flags=re.M))
    assert set(times) == {"eager", "compiled", "captured"} and all(float(t) > 0 for t in times.values())


def test_bench_runs_one_workload_through_benchmarks_run(capsys):
    status, out, _ = run(capsys, "bench", "gelu", "--quick", "--repeats", 1, "--backends", "eager,compiled-numpy")
    assert status == 0
    header = next(line for line in out.splitlines() if line.startswith("workload"))
    assert "eager ms" in header and "compiled-numpy ms" in header and "torch" not in header
    rows = [line for line in out.splitlines() if line.startswith("gelu")]
    assert rows and all("softmax" not in line for line in out.splitlines())  # only the workload asked for


def test_bench_names_the_valid_workloads_and_a_missing_checkout(capsys, monkeypatch):
    status, _, err = run(capsys, "bench", "nosuch", "--quick")
    assert status == 2 and "nosuch" in err and "gelu" in err and "softmax" in err
    monkeypatch.setattr(bench, "in_repo", lambda *parts: None)
    with pytest.raises(SystemExit, match=r"benchmarks/run.py is not here.*Clone the TinyTorch repository"):
        main(["bench", "--quick"])


def test_doctor_lists_every_section_with_this_machine_s_facts(capsys, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (cache / "llvm").mkdir(parents=True)
    (cache / "llvm" / "k.o").write_bytes(b"x" * 3 * (1 << 20))
    monkeypatch.setenv("TINYTORCH_CACHE_DIR", str(cache))
    data = tmp_path / "data"
    data.mkdir()
    (data / "mnist.npz").write_bytes(b"PK")  # only the file's presence is checked
    status, out, _ = run(capsys, "doctor", "--data-dir", data)
    assert status == 0
    assert re.findall(r"^(\w+):$", out, flags=re.M) == list(doctor.SECTIONS)
    assert f"numpy {np.__version__}" in out and f"llvmlite {llvmlite.__version__}" in out
    assert "BLAS: " in out and "vector features: " in out and "GiB" in out
    assert f"{cache} (TINYTORCH_CACHE_DIR)" in out and "1 files, 3.0 MB" in out
    assert (f"dot: {viz.dot_executable()}" if viz.dot_executable() else "dot: none found") in out
    assert f"MNIST: {data} (mnist.npz)" in out
    assert "CIFAR-10: missing" in out and "Tiny Shakespeare: missing" in out
    ways = [line for line in out.splitlines() if line.strip().startswith("to get it:")]
    assert len(ways) == 2 + ("digits (8x8 UCI): missing" in out)
    assert all("--download" in w and "--data-dir" in w and "TINYTORCH_DATA" in w for w in ways)


def test_explain_model_prints_the_step_s_program(capsys):
    status, out, _ = run(capsys, "explain", "mlp2", "--batch", 4, "--optimizer", "sgd")
    assert status == 0
    for section in ("== IR before the passes", "== passes", "== kernels", "== memory plan", "summary:"):
        assert section in out
    step = model_step.build_step("mlp2", "sgd", 4)
    prog = tt.plan(*step)
    tt.realize(*step)
    assert f"== kernels ({len(prog.kernels)}, in schedule order)" in out
    assert f"{len(prog.kernels)} kernels (" in out.split("summary:")[1]
    assert "assign" in out.split("== IR after")[0]  # the update is part of the step explained


def test_explain_unknown_name_lists_the_models(capsys):
    with pytest.raises(SystemExit, match="neither a model nor a .py file; models: " + ", ".join(MODELS)):
        main(["explain", "resnet"])


def test_explain_script_runs_it_with_debug_output(capsys, tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import sys\nimport tinytorch as tt\nprint('args', sys.argv[1:])\n"
                      "x = tt.tensor([1.0, 2.0, 3.0])\nprint('sum', ((x * 2).exp().sum()).item())\n")
    status, out, err = run(capsys, "explain", script, "--level", 3, "--", "--flag", "v")
    assert status == 0
    assert "args ['--flag', 'v']" in out
    assert float(re.search(r"sum (\S+)", out).group(1)) == pytest.approx(np.exp([2.0, 4.0, 6.0]).sum(), rel=1e-6)
    assert "IR before:" in err and "realize: " in err
    realizes = len(re.findall(r"^realize: ", err, flags=re.M))
    assert re.search(rf"{script}: {realizes} realizes", out)


def test_missing_data_names_the_file_where_it_looked_and_the_ways_out(capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    script = tmp_path / "needs_mnist.py"
    script.write_text(f"from tinytorch import data\ndata.MNIST({str(empty)!r}, train=True)\n")
    status, _, err = run(capsys, "explain", script, "--level", 0)
    assert status == 2
    assert "MNIST" in err and "mnist.npz" in err and str(empty) in err
    assert "--download" in err and "--data-dir" in err and "TINYTORCH_DATA" in err


def test_graph_writes_the_step_picture(capsys, tmp_path):
    status, out, _ = run(capsys, "graph", "mlp2", "--out", tmp_path / "g.dot", "--optimizer", "sgd", "--batch", 4)
    assert status == 0 and f"wrote {tmp_path / 'g.dot'}" in out
    dot = (tmp_path / "g.dot").read_text()
    step = model_step.build_step("mlp2", "sgd", 4)
    kernels = [k for k in tt.plan(*step).kernels if k.root.op != "copy"]
    tt.realize(*step)
    assert dot.count("subgraph cluster_") == len(kernels)
    assert dot.count("label=\"assign") == len(list(MODELS["mlp2"][0]().parameters()))  # one update per parameter
    status, out, _ = run(capsys, "graph", "mlp2", "--stage", "before", "--out", tmp_path / "b", "--batch", 4)
    written = tmp_path / "b.svg"
    assert (f"wrote {written}" in out) == bool(viz.dot_executable()) and "cluster" not in (tmp_path / "b.dot").read_text()


def test_graph_refuses_unknown_models_and_clashing_formats(capsys, tmp_path):
    status, _, err = run(capsys, "graph", "resnet")
    assert status == 2 and "linear" in err and "lenet5" in err
    with pytest.raises(SystemExit, match="says png but --format says svg"):
        main(["graph", "mlp2", "--out", str(tmp_path / "x.png"), "--format", "svg"])


def test_memory_is_the_tools_command(capsys):
    status, out, _ = run(capsys, "memory", "optimizers", "--model", "linear")
    assert status == 0
    rows = {line.split()[0]: [int(v) for v in line.split()[1:4]] for line in out.splitlines()[2:]}
    params = 4 * (10 * 5 + 5)  # float32 weight and bias of Linear(10, 5)
    moments = {"sgd": 0, "momentum": params, "adam": 2 * params, "adamw": 2 * params}  # counted after a real step
    assert rows == {name: [params, params, m] for name, m in moments.items()}


def test_profile_is_the_tools_command(capsys, tmp_path):
    trace = tmp_path / "t.json"
    status, out, _ = run(capsys, "profile", "--model", "mlp2", "--batch", 4, "--steps", 2, "--trace", trace)
    assert status == 0
    assert f"mlp2, momentum, batch 4, 2 steps on {tt.get_backend()}:" in out
    runs = int(re.search(r"trace: \S+ \((\d+) kernel runs\)", out).group(1))
    events = json.loads(trace.read_text())["traceEvents"]
    assert runs > 0 and len(events) == runs and runs % 2 == 0  # the same kernels in each of the 2 steps
