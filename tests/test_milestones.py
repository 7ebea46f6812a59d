"""`tinytorch milestones`: the list, short runs of each kind of milestone (their loss falls), resume after an
interruption (the results file gets one line, the figures equal an uninterrupted run's), the results table,
and the errors for missing data and a changed schedule. The full runs are in docs/milestones.md."""
import json
import sys

import numpy as np
import pytest

from conftest import ROOT, data_dir
from tinytorch.cli import main
from tinytorch.milestones import MILESTONES, get, run, settings_for

NAMES = ("perceptron-1957", "xor-1969", "mlp-1986", "mlp-cifar", "lenet1-1989", "lenet5-1998", "cnn-modern",
         "transformer-2017")


def _run(tmp_path, *args):
    return main(["milestones", "run", *args, "--no-progress", "--out", str(tmp_path), "--data-dir", str(data_dir())])


def _records(tmp_path):
    return [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]


def test_list_names_all_eight_in_order(capsys):
    assert main(["milestones", "list"]) == 0
    out = capsys.readouterr().out
    assert tuple(m.name for m in MILESTONES) == NAMES
    positions = [out.index(name) for name in NAMES]
    assert positions == sorted(positions)
    assert get("lenet5").name == "lenet5-1998"
    with pytest.raises(KeyError, match="no milestone 'alexnet'.*perceptron-1957"):
        get("alexnet")


@pytest.mark.parametrize("name", ["perceptron-1957", "mlp-1986", "lenet5-1998", "transformer-2017"])
def test_quick_run_finishes_and_its_loss_falls(tmp_path, capsys, name):
    assert _run(tmp_path, name, "--quick") == 0
    out = capsys.readouterr().out
    (record,) = _records(tmp_path)
    assert record["milestone"] == name and record["quick"] and record["backend"] in ("numpy", "llvm")
    assert record["peak_mb"] > 0 and record["version"] and record["wall_s"] > 0
    for stage, losses in record["train_loss"].items():
        if name == "transformer-2017":
            assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.1, losses
        else:
            assert len(losses) == 2 and losses[1] < losses[0], (stage, losses)
            assert record["step_ms"] > 0 and "ms a step" in out
            assert f"[{stage}] epoch 2/2" in out
    assert "appended to" in out


def test_perceptron_separates_both_sets(tmp_path):
    assert _run(tmp_path, "perceptron-1957") == 0
    (record,) = _records(tmp_path)
    assert record["stages"] == {"separable points": 1.0, "digits 0 vs 1": 1.0} and record["reached"]


def test_xor_one_layer_fails_two_layers_solve_it(tmp_path):
    assert _run(tmp_path, "xor-1969") == 0
    (record,) = _records(tmp_path)
    assert record["stages"]["single layer"] <= 0.75  # a line separates at most three of the four points
    assert record["stages"]["two layers"] == 1.0 and record["figure"] == 1.0 and record["reached"]


class Interrupt(Exception):
    pass


def _stop_after_first_epoch(stage, row):
    if row["epoch"] == 1:
        raise Interrupt


def _resumed_equals_whole(m, settings, tmp_path):
    """Run `m` whole, then interrupted after its first epoch and resumed: (whole record, resumed record)."""
    quiet = dict(progress=False, echo=lambda *_: None)
    whole = run(m, settings, tmp_path / "whole", **quiet)
    with pytest.raises(Interrupt):
        run(m, settings, tmp_path / "cut", on_epoch=_stop_after_first_epoch, **quiet)
    assert not (tmp_path / "cut" / "results.jsonl").exists()
    assert not list((tmp_path / "cut").rglob("*.tmp"))
    lines = []
    resumed = run(m, settings, tmp_path / "cut", progress=False, echo=lines.append)
    assert any("resumed after epoch 1" in line for line in lines)
    for stage, losses in whole["train_loss"].items():
        np.testing.assert_allclose(resumed["train_loss"][stage], losses, rtol=1e-5)
    return whole, resumed


def test_cnn_modern_resumes_its_one_cycle_and_augmentation(tmp_path):
    """The VGG recipe's state beyond the weights (OneCycleLR, the crop and flip generators) survives a resume:
    the resumed run's losses are the uninterrupted run's."""
    m = get("cnn-modern")
    settings = settings_for(m, root=data_dir(), quick=True)
    stage, = m.stages(settings)
    assert sum(p.numel() for p in stage.model.parameters()) == 307_946  # six convs 32/64/128, BN, linear head
    whole, resumed = _resumed_equals_whole(m, settings, tmp_path)
    assert np.isfinite(whole["figure"]) and whole["note"].startswith("CIFAR-10 here is decoded from JPEG")


def test_interrupted_run_resumes_and_appends_once(tmp_path):
    m = get("mlp-1986")  # a cosine schedule stepped per batch: the checkpoint must carry it
    settings = settings_for(m, root=data_dir(), quick=True, epochs=3)
    quiet = dict(progress=False, echo=lambda *_: None)
    whole, resumed = _resumed_equals_whole(m, settings, tmp_path)
    assert resumed["figure"] == pytest.approx(whole["figure"], abs=1 / 64)  # at most one of the 64 test images
    again = []
    run(m, settings, tmp_path / "cut", progress=False, echo=again.append)  # finished: reported, not appended
    assert "already finished" in again[0]
    assert len(_records(tmp_path / "cut")) == 1

    with pytest.raises(ValueError, match=r"planned for 3 epochs, not 4.*--epochs 3.*--fresh"):
        run(m, settings_for(m, root=data_dir(), quick=True, epochs=4), tmp_path / "cut", **quiet)
    fresh = run(m, settings, tmp_path / "cut", fresh=True, **quiet)
    np.testing.assert_allclose(fresh["train_loss"]["mnist"], whole["train_loss"]["mnist"], rtol=1e-6)
    assert len(_records(tmp_path / "cut")) == 2


def test_results_prints_the_table(tmp_path, capsys):
    assert _run(tmp_path, "xor-1969", "--quick") == 0
    assert _run(tmp_path, "lenet1-1989", "--quick") == 0
    capsys.readouterr()
    assert main(["milestones", "results", "--results", str(tmp_path / "results.jsonl")]) == 0
    header, rule, xor, lenet, note = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["milestone", "dataset", "figure"] and set(rule) <= {"-", " "}
    assert xor.startswith("xor-1969 (quick)") and lenet.startswith("lenet1-1989 (quick)  cifar10")
    assert "% *" in lenet and note.startswith("* CIFAR-10 here is decoded from JPEG")
    assert main(["milestones", "results", "--results", str(tmp_path / "none.jsonl")]) == 2
    assert "no results file at" in capsys.readouterr().err


def test_missing_data_names_the_file_and_the_ways_out(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code = main(["milestones", "run", "lenet5-1998", "--quick", "--no-progress", "--data-dir", str(empty),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    for needle in ("lenet5-1998", "cifar10_train_part1.npz", str(empty), "--download", "--data-dir",
                   "TINYTORCH_DATA"):
        assert needle in err, needle
    assert main(["milestones", "run", "lenet5-1998", "--dataset", "imagenet"]) == 2
    assert "trains on cifar10 or mnist, not 'imagenet'" in capsys.readouterr().err


def test_train_gpt_example_keeps_its_flags_and_output(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import train_gpt
    finally:
        sys.path.pop(0)
    base = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch", "4",
            "--eval-every", "2", "--eval-batches", "1", "--sample-chars", "5", "--no-progress",
            "--data", str(data_dir()), "--out", str(tmp_path)]
    assert train_gpt.main(base + ["--max-steps", "3"]) == 0
    assert train_gpt.main(base + ["--max-steps", "4", "--resume"]) == 0
    out = capsys.readouterr().out
    assert "resumed from" in out and "at step 3" in out and "--- 4 steps" in out
    log = (tmp_path / "log.csv").read_text().splitlines()
    assert log[0] == "time_s,step,train_loss,val_loss,lr" and [r.split(",")[1] for r in log[1:]] == ["2", "3", "4"]
