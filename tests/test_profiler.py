"""The profiler and the roofline: every kernel run is recorded with its Program's figures, the trace loads and
agrees with the runs, and kernels are placed on the roofline by its formula (on the suite's backend)."""
import json
import subprocess
import sys
import time

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, optim, roofline_model as R
from tinytorch.runtime import timing


def _mlp_step(dynamic=False):
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = tt.randn(8, 12).realize()
    y = tt.tensor(np.arange(8) % 3)
    if dynamic:  # as DataLoader batches are: the step is served by a Program of a batch-size family
        tt.mark_dynamic(x)
        tt.mark_dynamic(y)

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


@pytest.mark.parametrize("dynamic", [False, True])
def test_every_kernel_of_every_run_is_recorded_with_the_programs_figures(dynamic):
    step = _mlp_step(dynamic)
    step()
    step()  # the first momentum step builds another graph; from here on one Program per step
    with tt.profile() as prof:
        for _ in range(3):
            step()
    assert len(prof.programs) == 1
    prog = prof.programs["p0"]
    assert prog is not None and len(prof.runs) == 3 * len(prog.kernels)
    totals = prof.totals()
    assert sorted(t.key for t in totals) == sorted(f"p0:k{k.index}" for k in prog.kernels)
    assert all(t.runs == 3 for t in totals)
    for r in prof.runs:
        k = prog.kernels[int(r.kernel[1:])]
        assert (r.ops, r.flops, r.bytes_read, r.bytes_written) == (k.op, k.flops, k.bytes_read, k.bytes_written)
        assert r.seconds > 0 and r.calls >= 1
    assert sum(t.flops for t in totals) == 3 * prog.flops
    assert [t.seconds for t in totals] == sorted((t.seconds for t in totals), reverse=True)
    assert prof.kernel_s == pytest.approx(sum(t.seconds for t in totals))


def test_kernel_time_fits_inside_the_realize_that_ran_it():
    x = tt.randn(256, 256).realize()
    w = tt.randn(256, 256).realize()
    ((x @ w).relu() * 2).sum().numpy()  # compiled outside
    with tt.profile() as prof:
        y = ((x @ w).relu() * 2).sum()
        t = time.perf_counter()
        y.numpy()
        wall = time.perf_counter() - t
    assert len(prof.runs) == len(prof.programs["p0"].kernels) == 2
    assert 0 < prof.kernel_s <= wall <= prof.wall_s
    starts = [r.start_s for r in prof.runs]
    assert starts == sorted(starts)
    for a, b in zip(prof.runs, prof.runs[1:]):  # one thread: a kernel ends before the next begins
        assert a.start_s + a.seconds <= b.start_s + 1e-9


def test_chrome_trace_has_one_complete_event_per_kernel_run(tmp_path):
    step = _mlp_step()
    step()
    step()
    with tt.profile() as prof:
        step()
        step()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(path)
    events = json.loads(path.read_text())["traceEvents"]
    assert len(events) == len(prof.runs) > 0
    for e, r in zip(events, prof.runs):
        assert e["ph"] == "X" and e["name"] == r.ops and e["args"]["kernel"] == r.key
        assert e["ts"] == pytest.approx(r.start_s * 1e6) and e["dur"] == pytest.approx(r.seconds * 1e6)
        assert e["ts"] >= 0 and e["ts"] + e["dur"] <= prof.wall_s * 1e6
    assert sum(e["dur"] for e in events) == pytest.approx(prof.kernel_s * 1e6)


def test_table_lists_every_kernel_and_rejects_an_unknown_sort():
    step = _mlp_step()
    step()
    with tt.profile() as prof:
        step()
    text = prof.table(sort_by="flops")
    assert all(t.key in text for t in prof.totals())
    assert prof.totals("flops")[0].flops == max(r.flops for r in prof.runs)
    assert "more kernels" in prof.table(row_limit=2)
    with pytest.raises(ValueError, match="cannot sort by 'speed'.*time"):
        prof.table(sort_by="speed")


def test_nothing_recorded_outside_the_block():
    x = tt.randn(4, 4).realize()
    with tt.profile() as prof:
        pass
    (x + 1).numpy()
    assert prof.runs == [] and prof.kernel_s == 0


def test_roofline_places_kernels_by_its_formula():
    step = _mlp_step()
    step()
    with tt.profile() as prof:
        step()
    rl = R.Roofline(bandwidth=10e9, peak_flops=100e9, threads=2)
    assert rl.ridge == 10
    points = rl.place(prof)
    assert [p.key for p in points] == [t.key for t in prof.totals()]
    for p in points:
        assert p.intensity == (p.flops / p.bytes if p.bytes else float("inf"))
        assert p.attainable_flops == min(100e9, p.intensity * 10e9)
        assert p.fraction == pytest.approx(max(p.flops / 100e9, p.bytes / 10e9) / p.seconds)
        assert p.bound == ("compute" if p.intensity >= 10 else "memory")
    assert points[0].key in rl.table(prof)


def test_roofline_measures_once_and_caches_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYTORCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(R, "_MEMORY", {})
    monkeypatch.setattr(R, "COPY_BYTES", 2**20)
    monkeypatch.setattr(R, "MATMUL_N", 64)
    calls = []
    real = R.measure_peak
    monkeypatch.setattr(R, "measure_peak", lambda **kw: calls.append(1) or real(64, 1, kw.get("threads")))
    monkeypatch.setattr(R, "measure_bandwidth", lambda: 5e9)
    first = tt.roofline()
    assert first.source == "measured" and first.bandwidth == 5e9 and first.peak_flops > 0
    assert tt.roofline() is first and len(calls) == 1
    R._MEMORY.clear()
    again = tt.roofline()  # a new process would read this file
    assert again.source.endswith("roofline.json") and len(calls) == 1
    assert (again.bandwidth, again.peak_flops, again.threads) == (first.bandwidth, first.peak_flops, first.threads)
    (tmp_path / "cache" / "roofline.json").write_text("{not json")
    R._MEMORY.clear()
    assert tt.roofline().source == "measured" and len(calls) == 2
    assert not list((tmp_path / "cache").glob("*.tmp"))


def test_measurements_are_positive_and_finite():
    assert 0 < R.measure_bandwidth(2**20, 1) < float("inf")
    assert 0 < R.measure_peak(64, 1) < float("inf")


def test_importing_tinytorch_does_not_import_matplotlib():
    code = "import sys, tinytorch; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_roofline_plot_writes_a_picture(tmp_path):
    pytest.importorskip("matplotlib")
    step = _mlp_step()
    step()
    with tt.profile() as prof:
        step()
    R.Roofline(10e9, 100e9, 2).plot(prof, tmp_path / "roof.png")
    assert (tmp_path / "roof.png").stat().st_size > 0


def test_profile_command_profiles_steady_steps(capsys, tmp_path):
    from tinytorch.tools import profile as cmd
    prof = cmd.profile_step("mlp2", "momentum", 4, 2)
    [prog] = prof.programs.values()
    assert len(prof.runs) == 2 * len(prog.kernels)
    cmd.main(["--model", "mlp2", "--batch", "4", "--steps", "1", "--trace", str(tmp_path / "t.json")])
    out = capsys.readouterr().out
    assert "kernel runs" in out and json.loads((tmp_path / "t.json").read_text())["traceEvents"]


def test_a_call_that_runs_two_kernels_is_one_run_of_both():
    x = tt.randn(64, 64).realize()
    y = ((x @ x).relu() * 2).sum()
    prog = tt.plan(y)
    y.numpy()
    prof = tt.profile()
    prof._t0 = 0.0
    prof._collect([timing.TimedRun(prog.runner, [0.1, 0.2], (((0, 1), 5.0, 0.3),), 7)])
    [run] = prof.runs
    k0, k1 = prog.kernels
    assert (run.kernel, run.key, run.start_s, run.seconds, run.calls) == ("k0+k1", "p0:k0+k1", 5.0, 0.3, 1)
    assert run.flops == k0.flops + k1.flops
    assert run.bytes == k0.bytes_read + k0.bytes_written + k1.bytes_read + k1.bytes_written
    assert run.ops == f"{k0.op}|{k1.op}"


def _kernel_flops(prog, op):
    return [k.flops for k in prog.kernels if any(o.info.op == op for o in k.ops)]


def test_convolution_kernels_count_their_multiply_adds():
    """A convolution is one op, not one FLOP per output: forward, input and weight gradients each do
    2 * outputs * window FLOPs (LeNet's profile once showed 0 for all three)."""
    conv = nn.Conv2d(3, 8, 5)
    x = tt.randn(4, 3, 32, 32, requires_grad=True).realize()
    loss = conv(x).sum()
    loss.backward()
    prog = tt.plan(loss, x.grad, conv.weight.grad)
    macs = 2 * (4 * 8 * 28 * 28) * (3 * 5 * 5)
    assert _kernel_flops(prog, "conv2d") == [macs]
    assert _kernel_flops(prog, "conv2d_dx") == [macs]
    assert _kernel_flops(prog, "conv2d_dw") == [macs]


def test_fused_attention_counts_the_composed_forms_products(monkeypatch):
    """The fused attention op's count covers the products the composed form's matmul kernels count."""
    from tinytorch.compiler.ops import attention
    q, k, v = (tt.randn(2, 3, 16, 8, requires_grad=True).realize() for _ in range(3))
    composed = tt.plan(nn.functional.scaled_dot_product_attention(q, k, v).sum())
    products = sum(f for op in ("matmul",) for f in _kernel_flops(composed, op))
    assert products == 2 * (2 * 3 * 16 * 16 * 8) * 2  # q k^T and p v
    monkeypatch.setattr(attention, "FUSE_MIN_SCORE_BYTES", 0)
    out = nn.functional.scaled_dot_product_attention(q, k, v)
    out.sum().backward()
    fused = tt.plan(out.sum(), q.grad)
    (fwd,) = _kernel_flops(fused, "attention")
    (bwd,) = _kernel_flops(fused, "attention_grad")
    assert products < fwd < 1.5 * products and 2 * products < bwd < 4 * products
