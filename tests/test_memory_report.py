"""The memory report and the memory commands, against bytes counted by hand on small models (on the suite's
backend), and the psutil measurement against an allocation of known size."""
import time

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import memory_report as M
from tinytorch.tools import memory as cli
from tinytorch.tools.models import batch, build, split, train_step

F32 = 4


def _report(model="mlp2", optimizer="sgd", n=4, micro=1):
    m, opt = build(model, optimizer)
    batches = split(*batch(model, n), micro)
    return M.memory_report(lambda: train_step(m, opt, batches), m, opt), m, opt


def test_linear_with_adam_parameters_gradients_and_state_by_hand():
    rep, m, opt = _report("linear", "adam")
    assert rep.parameters == (10 * 5 + 5) * F32 == 220
    assert rep.gradients == 220
    assert rep.optimizer_state == 2 * 220 + F32  # exp_avg and exp_avg_sq, and one float32 step counter shared
    assert rep.inputs == 4 * 10 * F32 + 4 * 8 + 8  # x, the int64 labels, the float64 learning rate
    [row] = rep.layers
    assert (row.layer, row.parameters, row.gradients, row.optimizer_state) == ("Linear", 220, 220, 444)


def test_two_layer_mlp_activations_by_hand():
    """Linear(10, 8) -> ReLU -> Linear(8, 3) at batch 4: the first layer keeps its pre-activation (the ReLU's
    mask) and the ReLU's output (the second layer's weight gradient), 2 x 4 x 8 floats; the second layer's
    values the loss gradient reads (softmax numerators, or the logits) are at least its 4 x 3 outputs."""
    rep, m, opt = _report("mlp2", "sgd")
    layers = {r.layer: r for r in rep.layers}
    assert layers["0 Linear"].activations == 2 * 4 * 8 * F32
    assert layers["2 Linear"].activations >= 4 * 3 * F32
    assert rep.activations == sum(r.activations for r in rep.layers)
    assert layers["0 Linear"].parameters == (10 * 8 + 8) * F32 and layers["2 Linear"].parameters == (8 * 3 + 3) * F32
    assert rep.optimizer_state == 0
    assert rep.activations <= rep.arena + 64 * len(rep.layers) and rep.workspace >= 0
    assert rep.planned == (rep.parameters + rep.gradients + rep.optimizer_state + rep.inputs + rep.outputs
                           + rep.arena + rep.scratch + rep.accumulating + rep.constants)
    assert rep.peak is not None and rep.peak.live_bytes > 0 and "kernel" in rep.peak.description
    text = rep.table()
    assert "activations kept for backward" in text and "0 Linear" in text and "psutil" in text


def test_activations_double_with_the_batch():
    small, _, _ = _report("mlp2", "sgd", n=4)
    big, _, _ = _report("mlp2", "sgd", n=8)
    layer = {r.layer: r.activations for r in small.layers}["0 Linear"]
    assert {r.layer: r.activations for r in big.layers}["0 Linear"] == 2 * layer


def test_roles_and_peak_follow_the_program():
    m, opt = build("mlp2", "momentum")
    batches = [batch("mlp2", 4)]
    train_step(m, opt, batches)
    train_step(m, opt, batches)
    rec = M._Recorder(list(m.parameters()))
    tt.lazy.TRACE = rec
    try:
        train_step(m, opt, batches)
    finally:
        tt.lazy.TRACE = None
    [(prog, inputs, targets, grads)] = rec.records
    roles = M.kernel_roles(prog, targets, grads)
    assert len(grads) == 4  # the weight and bias gradients of both layers are outputs of the step
    for k, role in zip(prog.kernels, roles):
        if k.out_kind == "target":
            assert role == "update"
    assert {"forward", "backward", "update"} == set(roles)
    matmuls = [r for k, r in zip(prog.kernels, roles) if k.ops[0].info.op == "matmul"]
    assert matmuls.count("forward") == 2  # one per Linear; the other matmuls are gradients
    assert M.busiest_step(prog.memory_plan)[1] == prog.memory_plan.lower_bound_bytes


def test_accumulation_keeps_a_quarter_of_the_activations():
    one = cli.measure_config("mlp2", "sgd", 16, 1, 1)
    acc = cli.measure_config("mlp2", "sgd", 16, 4, 1)
    assert one["programs"] == 1 and acc["programs"] == 3  # the first micro-batch, the others, the update
    assert acc["activations"] < one["activations"]
    assert one["step_ms"] > 0 and acc["step_ms"] > 0
    whole, _, _ = _report("mlp2", "sgd", n=16)
    quarter, _, _ = _report("mlp2", "sgd", n=16, micro=4)
    first = {r.layer: r.activations for r in whole.layers}["0 Linear"]
    assert {r.layer: r.activations for r in quarter.layers}["0 Linear"] * 4 == first == 2 * 16 * 8 * F32


def test_accumulation_reads_the_old_gradients_while_writing_new_ones():
    acc, m, _ = _report("mlp2", "sgd", n=8, micro=4)
    assert acc.programs == 3 and acc.realizes == 5  # micro-batch 1, micro-batches 2-4 (one Program), the update
    assert acc.accumulating == acc.gradients == sum(p.numel() * F32 for p in m.parameters())


BIG = 64 * 2**20  # past glibc's largest mmap threshold (32 MiB): a fresh mapping, never heap already resident


def test_a_broadcast_constant_owns_one_element():
    assert M.owned_bytes(np.broadcast_to(np.float32(1e-8), (256, 784))) == F32
    assert M.owned_bytes(np.ones((3, 4))[1:]) == 3 * 4 * 8
    assert M.owned_bytes(np.ones((3, 4))) == 96


def test_rss_sampler_sees_an_allocation():
    with M.RssSampler() as rss:
        a = np.ones(BIG // 4, np.float32)  # written, so resident
        del a
    assert rss.peak - rss.before >= BIG - 2**20


def test_rss_sampler_without_a_high_water_mark_samples(monkeypatch):
    monkeypatch.setattr(M, "_reset_high_water_mark", lambda: False)
    with M.RssSampler() as rss:
        a = np.ones(BIG // 4, np.float32)
        time.sleep(0.05)  # the sampling thread gets the GIL
        del a
    assert rss.peak - rss.before >= BIG - 2**20


def test_optimizer_command_counts_the_state_tensors():
    rows = {r["optimizer"]: r for r in cli.optimizer_rows("linear")}
    assert [rows[o]["moments"] for o in ("sgd", "momentum", "adam", "adamw")] == [0, 220, 440, 440]
    assert [rows[o]["scalars"] for o in ("sgd", "momentum", "adam", "adamw")] == [0, 0, 4, 4]
    assert rows["sgd"]["params"] == rows["adam"]["params"] == rows["adam"]["grads"] == 220
    assert rows["momentum"]["weights_and_state_x"] == 2.0
    assert rows["adam"]["weights_and_state_x"] == pytest.approx(3.0, abs=0.02)


def test_commands_print_their_tables(capsys):
    cli.main(["optimizers", "--model", "linear"])
    out = capsys.readouterr().out
    assert "adamw" in out and "3.02x" in out
    cli.main(["report", "--model", "mlp2", "--optimizer", "adam", "--batch", "4"])
    assert "planned total" in capsys.readouterr().out
    cli.main(["accumulate", "--model", "mlp2", "--batch", "8", "--steps", "2", "--repeats", "1", "--inline"])
    out = capsys.readouterr().out
    assert "one batch" in out and "2 x 4 accumulated" in out
    with pytest.raises(SystemExit, match="must split into"):
        cli.accumulate_rows("mlp2", 10, 4, inline=True)


def test_report_refuses_a_step_that_runs_nothing():
    m, opt = build("linear", "sgd")
    with pytest.raises(RuntimeError, match="ran no Program"):
        M.memory_report(lambda: None, m, opt, warmup=0)
