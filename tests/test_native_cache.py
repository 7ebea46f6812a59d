"""The disk cache of native object code trusts only files this user's TinyTorch wrote, in a private directory.

Every run of the llvm backend is a child process with its own TINYTORCH_CACHE_DIR, so a crash (what a bad
object file used to do to LLVM) fails the test instead of killing pytest.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

from tinytorch.runtime import native_loader

pytest.importorskip("llvmlite")

SCRIPT = textwrap.dedent("""
    import json, sys, numpy as np, tinytorch as tt
    from tinytorch.compiler.llvm import jit
    x = tt.from_numpy(np.linspace(-3, 3, 1000, dtype=np.float32))
    values = [float(x.gelu(approximate="tanh").numpy()[-1])]
    if sys.argv[1] == "2":
        values.append(float((x * 2).exp().sum().numpy()))
    print(json.dumps(dict(jit.STATS, values=values)))
""")
GELU_3 = pytest.approx(2.9963627, rel=1e-6)
WARNING = "NativeCacheWarning"


def run(cache, programs=1, **env):
    """The child's jit.STATS and values, and its stderr; fails on a crash or a non-zero exit."""
    e = dict(os.environ, TINYTORCH_CACHE_DIR=str(cache), TINYTORCH_BACKEND="llvm", **env)
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(programs)], env=e, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-2000:]}"
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["values"][0] == GELU_3
    return out, r.stderr


def objects(cache):
    return sorted((pathlib.Path(cache) / "llvm").glob("*.o"))


def valid(path):
    """Whether `path` is an object file written, with its MAC, under its own cache dir's key."""
    secret = (path.parent / native_loader.KEY_FILE).read_bytes()
    return native_loader._check(secret, path.stem, path.read_bytes()) is None


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """A cache dir after one run (one object file), which each test copies."""
    cache = tmp_path_factory.mktemp("warm")
    out, err = run(cache)
    assert out["compiles"] == 1 and out["disk_hits"] == 0 and WARNING not in err
    (obj,) = objects(cache)
    assert valid(obj) and obj.read_bytes().startswith(native_loader.MAGIC)
    llvm = cache / "llvm"
    assert oct(llvm.stat().st_mode & 0o777) == oct(0o700)
    assert oct((llvm / native_loader.KEY_FILE).stat().st_mode & 0o777) == oct(0o600)
    return cache


def copy_of(warm, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(warm, cache)
    return cache


def test_a_warm_cache_is_hit_without_warnings(warm, tmp_path):
    cache = copy_of(warm, tmp_path)
    (obj,) = objects(cache)
    os.utime(obj, (1, 1))
    out, err = run(cache)
    assert out["compiles"] == 0 and out["disk_hits"] == 1 and WARNING not in err
    assert obj.stat().st_mtime > time.time() - 600  # a hit touches its file: recently used


def _planted(warm, tmp_path):
    """A genuine object file for the same key, written under another cache dir's key."""
    other = tmp_path / "other"
    run(other)
    return objects(other)[0].read_bytes()


CORRUPTIONS = {
    "empty": lambda data, *_: b"",
    "truncated": lambda data, *_: data[: len(data) // 2],
    "header only": lambda data, *_: data[:native_loader.HEADER],
    "random bytes": lambda data, *_: os.urandom(len(data)),
    "flipped bytes": lambda data, *_: data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) +
    data[len(data) // 2 + 1:],
    "raw object without MAC": lambda data, *_: data[native_loader.HEADER:],
    "planted object with another key's MAC": lambda data, warm, tmp_path: _planted(warm, tmp_path),
}


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_a_bad_cache_file_is_discarded_with_one_warning_and_rewritten(warm, tmp_path, how):
    cache = copy_of(warm, tmp_path)
    (obj,) = objects(cache)
    bad = CORRUPTIONS[how](obj.read_bytes(), warm, tmp_path)
    obj.write_bytes(bad)
    out, err = run(cache)
    assert out["compiles"] == 1 and out["disk_hits"] == 0
    assert err.count(WARNING) == 1 and str(obj) in err, err
    assert objects(cache) == [obj] and valid(obj) and obj.read_bytes() != bad


def _read_only(llvm):
    llvm.chmod(0o500)


def _group_writable(llvm):
    llvm.chmod(0o777)


def _parent_world_writable(llvm):
    llvm.parent.chmod(0o777)


def _foreign_owner(llvm):
    if os.getuid() != 0:
        pytest.skip("giving a directory to another user needs root")
    os.chown(llvm, 65534, 65534)


def _key_readable_by_others(llvm):
    (llvm / native_loader.KEY_FILE).chmod(0o644)


@pytest.mark.parametrize("spoil", [_read_only, _group_writable, _parent_world_writable, _foreign_owner,
                                   _key_readable_by_others], ids=lambda f: f.__name__.strip("_"))
def test_an_unsafe_cache_dir_is_not_used_and_warned_about_once(warm, tmp_path, spoil):
    cache = copy_of(warm, tmp_path)
    llvm = cache / "llvm"
    before = {p.name: p.read_bytes() for p in llvm.iterdir()}
    spoil(llvm)
    try:
        out, err = run(cache, programs=2)
    finally:
        os.chown(llvm, os.getuid(), os.getgid()) if os.getuid() == 0 else None
        llvm.chmod(0o700)
    assert out["compiles"] == 2 and out["disk_hits"] == 0  # not read: both compiled in memory
    assert err.count(WARNING) == 1 and str(llvm) in err, err
    assert {p.name: p.read_bytes() for p in llvm.iterdir()} == before  # nor written


def test_pruning_keeps_the_cache_under_its_bound_and_stale_temp_files_go(tmp_path):
    llvm = tmp_path / "llvm"
    llvm.mkdir(mode=0o700)
    oldest, older = llvm / ("a" * 64 + ".o"), llvm / ("b" * 64 + ".o")
    for i, p in enumerate((oldest, older)):
        p.write_bytes(b"\0" * 600_000)
        os.utime(p, (1000 + i, 1000 + i))
    stale, fresh = llvm / "tmpstale.tmp", llvm / "tmpfresh.tmp"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(stale, (time.time() - 3600,) * 2)
    out, err = run(tmp_path, TINYTORCH_CACHE_MAX_MB="1")
    assert out["compiles"] == 1 and WARNING not in err
    left = objects(tmp_path)
    assert oldest not in left and older in left and len(left) == 2  # the least recently used went first
    assert sum(p.stat().st_size for p in left) <= 0.8 * 2**20
    assert not stale.exists() and fresh.exists()  # a temp file a live writer may still own stays


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["ENOSPC", "KeyboardInterrupt"])
def test_a_failed_write_leaves_no_temp_file(tmp_path, monkeypatch, error):
    monkeypatch.setenv("TINYTORCH_CACHE_DIR", str(tmp_path))

    def fail(*args):
        raise error

    monkeypatch.setattr(native_loader.os, "replace", fail)
    if isinstance(error, OSError):
        with pytest.warns(native_loader.NativeCacheWarning, match="could not write"):
            native_loader.write_cached("k" * 64, b"object")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # warned once per process
            native_loader.write_cached("j" * 64, b"object")
    else:
        with pytest.raises(KeyboardInterrupt):
            native_loader.write_cached("k" * 64, b"object")
    assert sorted(p.name for p in (tmp_path / "llvm").iterdir()) == [native_loader.KEY_FILE]
