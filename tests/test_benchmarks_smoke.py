"""Smoke test of the benchmark suite: a --quick run of two workloads prints the expected rows and columns.

Benchmarks are not tests: nothing here asserts a time, only that the harness runs every column, that
each column's first result matched the reference (the harness checks this), and the tables' shape.
"""
import importlib.util
import pathlib
import sys

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402
import report  # noqa: E402
import run  # noqa: E402

HAVE_TORCH = importlib.util.find_spec("torch") is not None
COLUMNS = [c for c in harness.COLUMNS if c != "torch" or HAVE_TORCH]
PEERS = {"numpy", "compiled-numpy"} | ({"torch"} if HAVE_TORCH else set())


def test_quick_suite_rows_and_columns():
    lines = []
    rows = run.run_suite(["gelu", "mlp"], COLUMNS, repeats=1, quick=True, markdown=False,
                         out=lines.append, compile_times=False)
    assert [r["workload"] for r in rows] == ["gelu erf 16K", "mlp train step b16"]
    assert not report.errors(rows), report.errors(rows)
    gelu, mlp = rows
    assert set(gelu["checked"]) >= PEERS  # each matched the eager column's first result
    assert set(mlp["checked"]) >= PEERS  # numpy: the hand-written step of numpy_mlp.py
    if not harness.llvm_available():
        assert gelu["ms"]["compiled-llvm"] == harness.NA
    facts = mlp["facts"]["compiled-numpy"]
    assert facts["kernels"] > 0 and facts["programs"] == 1 and facts["verified"]
    assert facts["lower_bound_bytes"] <= facts["peak_bytes"] <= facts["no_reuse_bytes"]
    assert gelu["traffic_bytes"] == 2 * 4 * (1 << 14)  # read x once, write y once
    text = "\n".join(lines)
    for col in ("eager ms", "numpy ms", "compiled-numpy ms", "compiled-llvm ms", "eager/c-llvm", "kernels",
                "planned peak MB", "no-reuse MB", "GB/s c-numpy", "copy GB/s same bytes", "np.copyto on"):
        assert col in text, col


def test_markdown_and_plans(capsys):
    run.main(["softmax", "--quick", "--repeats", "1", "--backends", "eager,compiled-numpy", "--markdown"])
    out = capsys.readouterr().out
    table = [ln for ln in out.splitlines() if ln.startswith("|")]
    assert table[0].startswith("| workload | eager ms | compiled-numpy ms | eager/c-numpy |")
    assert table[1].startswith("|---|---:")
    assert any(ln.startswith("| softmax 64x256 |") for ln in table)
    run.main(["mlp", "--quick", "--plans"])
    out = capsys.readouterr().out
    assert "mlp train step b16" in out and "fuse (nodes -> kernels)" in out


def test_cnn_and_captured_workloads_agree_with_torch():
    """The issue-10 rows (VGG-style net with BatchNorm, the PyTorch-tutorial MNIST CNN, a captured step): every
    column's first step matches the first column's (the harness raises otherwise), PyTorch's included."""
    import pytest
    if not HAVE_TORCH:
        pytest.skip("torch is the reference for these rows; pip install torch")
    cols = [c for c in ("compiled-numpy", "compiled-llvm", "torch") if c in COLUMNS]
    rows = run.run_suite(["vgg", "mnist_cnn", "mlp_captured"], cols, repeats=1, quick=True, markdown=False,
                         out=lambda *_: None, compile_times=False)
    assert not report.errors(rows), report.errors(rows)
    for r in rows:
        assert set(r["checked"]) >= set(cols[1:]), (r["workload"], r["checked"])


def test_gpt_step_bench_model_matches_torch():
    """bench_gpt_step's quick GPT: TinyTorch's first training-step loss (plain and captured) and prefill
    value equal PyTorch's on the same weights, and a second step (after AdamW) still agrees."""
    import pytest
    pytest.importorskip("torch")
    import bench_gpt_step
    rows = bench_gpt_step.step_runners(bench_gpt_step.SIZES["quick"])
    assert len(rows) == 3
    for name, (tt_fn, torch_fn) in rows.items():
        for _ in range(2):
            a, b = tt_fn(), torch_fn()
            assert abs(a - b) <= 1e-4 * max(1.0, abs(b)), (name, a, b)
