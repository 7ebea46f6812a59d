"""Checkpoints: .npz without pickles, atomic writes, clear errors, and bit-for-bit resume."""
import math
import os

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn
from tinytorch.creation import get_rng_state, set_rng_state
import tinytorch.nn.functional as F
import tinytorch.serialization as S


def test_round_trip_of_nested_structures(tmp_path):
    obj = {
        "f32": tt.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "i64": tt.tensor(np.array([1, -2], np.int64)),
        "mask": tt.tensor(np.array([True, False])),
        "arr": np.array([[1.5, 2.5]], np.float64),
        "nested": {0: {"a": [1, 2.0, "three", None, True]}, "t": (2**60 + 1, -0.0, 1e-310)},
        "special": [math.inf, -math.inf],
        "rng": get_rng_state(),
    }
    path = tmp_path / "ck.npz"
    tt.save(obj, path)
    back = tt.load(path)
    for k in ("f32", "i64", "mask"):
        assert isinstance(back[k], tt.Tensor) and back[k].dtype == obj[k].dtype
        np.testing.assert_array_equal(back[k].numpy(), obj[k].numpy())
    assert isinstance(back["arr"], np.ndarray) and back["arr"].dtype == np.float64
    np.testing.assert_array_equal(back["arr"], obj["arr"])
    assert back["nested"][0]["a"] == [1, 2.0, "three", None, True]
    assert type(back["nested"][0]["a"][1]) is float and type(back["nested"][0]["a"][4]) is bool
    t = back["nested"]["t"]
    assert isinstance(t, tuple) and t[0] == 2**60 + 1 and math.copysign(1, t[1]) == -1 and t[2] == 1e-310
    assert back["special"] == [math.inf, -math.inf]
    np.testing.assert_array_equal(back["rng"], obj["rng"])
    with np.load(path, allow_pickle=False) as z:  # a plain npz that needs no pickle
        assert all(z[k].dtype != object for k in z.files)


def test_nan_and_unsupported_values(tmp_path):
    tt.save({"x": float("nan")}, tmp_path / "n.npz")
    assert math.isnan(tt.load(tmp_path / "n.npz")["x"])
    with pytest.raises(TypeError, match="pickle"):
        tt.save({"bad": np.array([object()])}, tmp_path / "b.npz")
    with pytest.raises(TypeError, match="state_dict"):
        tt.save({"model": nn.Linear(2, 2)}, tmp_path / "b.npz")
    assert not os.path.exists(tmp_path / "b.npz")


def test_a_crash_mid_write_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    tt.save({"step": 1, "w": tt.ones(3)}, path)
    before = path.read_bytes()

    def crash(fh, **arrays):
        fh.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(S.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        tt.save({"step": 2, "w": tt.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert tt.load(path)["step"] == 1
    assert os.listdir(tmp_path) == ["ck.npz"]  # no temp file left behind


def test_missing_and_corrupt_files_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        tt.load(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file")
    with pytest.raises(RuntimeError, match=r"bad\.npz.*corrupt"):
        tt.load(bad)
    good = tmp_path / "good.npz"
    tt.save({"w": tt.ones(1000)}, good)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(RuntimeError, match=r"cut\.npz"):
        tt.load(cut)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.ones(2))
    with pytest.raises(RuntimeError, match="manifest"):
        tt.load(foreign)


def _make():
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    opt = tt.optim.Adam(model.parameters(), lr=0.02)
    sched = tt.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


def _train(model, opt, sched, batches):
    for x, y in batches:
        opt.zero_grad()
        F.cross_entropy(model(tt.tensor(x)), tt.tensor(y)).backward()
        opt.step()
        sched.step()


def test_resume_continues_bit_for_bit(tmp_path):
    r = np.random.default_rng(0)
    batches = [(r.standard_normal((8, 4)).astype(np.float32), r.integers(0, 3, 8)) for _ in range(6)]
    tt.manual_seed(0)
    model, opt, sched = _make()
    _train(model, opt, sched, batches)
    straight = [p.numpy().copy() for p in model.parameters()]

    tt.manual_seed(0)
    model, opt, sched = _make()
    _train(model, opt, sched, batches[:3])
    tt.save({"model": model.state_dict(), "optim": opt.state_dict(), "sched": sched.state_dict(), "step": 3,
             "rng": get_rng_state()}, tmp_path / "ck.npz")
    del model, opt, sched

    tt.manual_seed(99)  # fresh objects with different weights: everything must come from the checkpoint
    model, opt, sched = _make()
    ck = tt.load(tmp_path / "ck.npz")
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optim"])
    sched.load_state_dict(ck["sched"])
    set_rng_state(ck["rng"])
    assert ck["step"] == 3 and sched.get_last_lr() == [0.01]
    _train(model, opt, sched, batches[3:])
    for a, b in zip(straight, model.parameters()):
        np.testing.assert_array_equal(a, b.numpy())


# ---------------------------------------------------------------- unreadable files, stray temp files

def _with_manifest(path, manifest_bytes: bytes, **arrays):
    np.savez(path, **arrays, **{S._MANIFEST: np.frombuffer(manifest_bytes, np.uint8)})


def _npy(path):
    np.save(path, np.ones(3))
    os.replace(str(path) + ".npy", path)


CORRUPT = {  # name -> (write the file, what the message must say)
    "plain npy": (_npy, "single .npy array"),
    "garbage": (lambda p: p.write_bytes(os.urandom(4096)), "not a zip archive"),
    "empty": (lambda p: p.write_bytes(b""), "not a zip archive"),
    "manifest is a list": (lambda p: _with_manifest(p, b"[1, 2]"), "manifest is a JSON list"),
    "deeply nested manifest": (lambda p: _with_manifest(p, b"[" * 100000 + b"]" * 100000), "nested too deeply"),
    "deeply nested entries": (lambda p: _with_manifest(
        p, b'{"format": 1, "root": ' + b'{"t": "list", "items": [' * 5000 + b']}' * 5000 + b'}'), "nested too deeply"),
    "entry not an object": (lambda p: _with_manifest(p, b'{"format": 1, "root": {"t": "list", "items": [3]}}'),
                            "not an object"),
    "entry without type": (lambda p: _with_manifest(p, b'{"format": 1, "root": {}}'), "KeyError"),
    "manifest not utf-8": (lambda p: _with_manifest(p, b"\xff\xfe"), "decode"),
    "object array": (lambda p: _with_manifest(p, b'{"format": 1, "root": {"t": "ndarray", "k": "a0"}}',
                                              a0=np.array([None, "x"], dtype=object)), "pickled"),
    "missing array": (lambda p: _with_manifest(p, b'{"format": 1, "root": {"t": "tensor", "k": "a7"}}'), "a7"),
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_unreadable_checkpoint_is_a_checkpoint_error_naming_the_file(tmp_path, name):
    write, pattern = CORRUPT[name]
    path = tmp_path / "ck.npz"
    write(path)
    with pytest.raises(tt.CheckpointError, match=pattern) as info:
        tt.load(path)
    assert str(path) in str(info.value) and "allow_pickle" not in str(info.value)
    assert isinstance(info.value, RuntimeError)  # what load raised before: callers catching that still do


def test_interrupt_mid_write_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    tt.save({"step": 1}, path)
    before = path.read_bytes()

    def interrupted(fh, **arrays):
        fh.write(b"PK\x03\x04 a third of a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(S.np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tt.save({"step": 2}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ck.npz"]


def test_stale_temp_of_a_dead_writer_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "ck.npz"
    dead = _dead_pid()
    for stale in (f".ck.npz.{dead}.abc123.tmp", ".ck.npz.q1w2e3.tmp"):  # ours, and the older name without a pid
        (tmp_path / stale).write_bytes(b"PK half")
    live = tmp_path / f".ck.npz.{os.getppid()}.zzz.tmp"  # a save still running elsewhere: left alone
    live.write_bytes(b"PK busy")
    other = tmp_path / f".other.npz.{dead}.abc.tmp"  # another target's temp: not ours to clean
    other.write_bytes(b"PK")
    tt.save({"step": 3}, path)
    assert sorted(os.listdir(tmp_path)) == sorted(["ck.npz", live.name, other.name])
    assert tt.load(path) == {"step": 3}


def _dead_pid() -> int:
    import subprocess
    import sys
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_save_killed_by_sigkill_leaves_no_temp_after_the_next_save(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    path = tmp_path / "ck.npz"
    tt.save({"step": 0}, path)
    before = path.read_bytes()
    code = ("import numpy as np, tinytorch as tt; "
            f"tt.save({{'w': np.random.default_rng(0).random(20_000_000)}}, {str(path)!r})")  # 160 MB: slow enough
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 60
    while not any(n.endswith(".tmp") for n in os.listdir(tmp_path)) and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert any(n.endswith(".tmp") for n in os.listdir(tmp_path)), "the kill came too late to test anything"
    assert path.read_bytes() == before  # the kill lost nothing
    tt.save({"step": 1}, path)
    assert os.listdir(tmp_path) == ["ck.npz"]
    assert tt.load(path) == {"step": 1}
