"""tinytorch.save / tinytorch.load: checkpoints as .npz files that are never pickles.

A checkpoint is any nesting of dicts, lists and tuples whose leaves are
tensors, NumPy arrays, Python scalars, strings or None (a model's,
optimizer's and scheduler's state dicts, a step count, the RNG state). Arrays
go into the archive under flat keys ("a0", "a1", ...); the structure, dict
keys and scalars go into a JSON manifest stored in the same archive. Loading
uses `allow_pickle=False`, so a checkpoint cannot run code.

Writing goes to a temporary file `.NAME.<pid>.<random>.tmp` in the destination's
directory, is fsynced, then `os.replace`d over the destination (and the
directory fsynced where the OS allows): a crash mid-write leaves the previous
checkpoint intact. The temp file is removed on every failure, KeyboardInterrupt
included; one left by a killed process (its pid no longer alive) is removed the
next time the same target is written.

Any file `load` cannot read (truncated, garbage, a plain .npy, a crafted
manifest) raises `CheckpointError` naming the file and what is wrong.
"""
from __future__ import annotations

import glob
import json
import math
import os
import tempfile
import zipfile
import zlib

import numpy as np

from .tensor import Tensor

_MANIFEST = "__tinytorch_manifest__"
_FORMAT = 1


class CheckpointError(RuntimeError):
    """A file `tinytorch.load` cannot read as a checkpoint; the message names the file and what is wrong."""


def _encode(obj, arrays: list, where: str):
    """JSON for obj, appending its arrays to `arrays`."""
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray):
        arr = obj.numpy() if isinstance(obj, Tensor) else obj
        if arr.dtype.kind == "O" or arr.dtype.kind == "V":
            raise TypeError(f"tinytorch.save: {where} is an array of {arr.dtype} (it would need a pickle); store "
                            f"numbers or strings")
        arrays.append(np.asarray(arr, order="C"))  # not ascontiguousarray: it turns 0-d into (1,)
        return {"t": "tensor" if isinstance(obj, Tensor) else "ndarray", "k": f"a{len(arrays) - 1}"}
    if obj is None or isinstance(obj, (bool, str)):
        return {"t": "py", "v": obj}
    if isinstance(obj, (int, np.integer)):
        return {"t": "int", "v": str(int(obj))}  # as a string: JSON numbers lose ints beyond 2**53
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return {"t": "float", "v": f.hex() if math.isfinite(f) else repr(f)}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"tinytorch.save: dict keys must be str or int, got {k!r} at {where}")
            items.append([k, _encode(v, arrays, f"{where}[{k!r}]")])
        return {"t": "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        return {"t": "list" if isinstance(obj, list) else "tuple",
                "items": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    raise TypeError(f"tinytorch.save: cannot store {type(obj).__name__} at {where}; checkpoints hold dicts, lists, "
                    f"tuples, tensors, arrays, numbers, strings and None (call .state_dict() on modules, "
                    f"optimizers and schedulers)")


def _decode(node, arrays):
    if not isinstance(node, dict):
        raise ValueError(f"a manifest entry is a {type(node).__name__}, not an object")
    t = node["t"]
    if t == "tensor":
        arr = arrays[node["k"]]
        return Tensor(np.array(arr, copy=True), dtype=arr.dtype)
    if t == "ndarray":
        return np.array(arrays[node["k"]], copy=True)
    if t == "py":
        return node["v"]
    if t == "int":
        return int(node["v"])
    if t == "float":
        v = node["v"]
        return float.fromhex(v) if v not in ("inf", "-inf", "nan") else float(v)
    if t == "dict":
        return {k: _decode(v, arrays) for k, v in node["items"]}
    if t in ("list", "tuple"):
        items = [_decode(v, arrays) for v in node["items"]]
        return items if t == "list" else tuple(items)
    raise ValueError(f"unknown entry type {t!r}")


def _remove_stale_temps(path: str) -> None:
    """Remove temp files of earlier saves to `path` whose writer is gone (killed mid-save): the pid in the name
    is no longer alive. A temp of a save still running in another process is left alone."""
    directory, name = os.path.split(os.path.abspath(path))
    for tmp in glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(name)}.*.tmp")):
        pid = os.path.basename(tmp)[len(name) + 2:].split(".")[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        try:
            os.unlink(tmp)
        except OSError:
            pass  # removed by someone else meanwhile, or not ours to remove: best effort


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or we cannot tell: keep its file
    return True


def _fsync_dir(directory: str) -> None:
    """Make the rename durable; a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(obj, f) -> None:
    """Write obj to path `f` atomically: a temp file in the same directory, fsynced, then os.replace."""
    path = os.fspath(f)
    arrays: list = []
    manifest = {"format": _FORMAT, "root": _encode(obj, arrays, "obj")}
    payload = {f"a{i}": a for i, a in enumerate(arrays)}
    payload[_MANIFEST] = np.frombuffer(json.dumps(manifest).encode("utf-8"), dtype=np.uint8)
    write_atomically(path, lambda fh: np.savez(fh, **payload))


def write_atomically(path: str, write) -> None:
    """Call `write(binary file)` on a temp file next to `path`, fsync it, then os.replace it over `path`."""
    # BEGIN EXERCISE m07.atomic_write
    # STUB: with open(path, "wb") as fh:  # in place: a crash mid-write leaves half a file where the last good one was
    # STUB:     write(fh)
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.{os.getpid()}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt too: never leave the temp file behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)
    # END EXERCISE m07.atomic_write


def _check_magic(path: str) -> None:
    """A checkpoint is a zip. Anything else is refused before NumPy sees it: NumPy would read a .npy as a bare
    array and try other bytes as a pickle (its error then advises allow_pickle=True)."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic == b"\x93NUMPY":
        raise ValueError("it is a single .npy array, not a checkpoint archive (tinytorch.save writes .npz archives; "
                         "read a .npy with numpy.load)")
    if not magic.startswith(b"PK"):
        raise ValueError(f"it is not a zip archive (it starts with bytes {magic.hex() or 'nothing: it is empty'})")


def load(f):
    """Read a checkpoint written by `save`; tensors come back as realized Tensors, arrays as ndarrays."""
    path = os.fspath(f)
    if not os.path.exists(path):
        raise FileNotFoundError(f"tinytorch.load: no checkpoint at {path!r}; check the path (tinytorch.save writes "
                                f"exactly the name it is given)")
    try:
        _check_magic(path)
        with np.load(path, allow_pickle=False) as z:
            if _MANIFEST not in z.files:
                raise ValueError("it has no TinyTorch manifest (was it written by tinytorch.save?)")
            manifest = json.loads(z[_MANIFEST].tobytes().decode("utf-8"))
            if not isinstance(manifest, dict):
                raise ValueError(f"its manifest is a JSON {type(manifest).__name__}, not an object")
            if manifest.get("format") != _FORMAT:
                raise ValueError(f"it is format {manifest.get('format')!r}; this TinyTorch reads format {_FORMAT}")
            arrays = {k: z[k] for k in z.files if k != _MANIFEST}
        return _decode(manifest["root"], arrays)
    except RecursionError:
        raise CheckpointError(f"tinytorch.load: {path!r} is not a readable TinyTorch checkpoint (its manifest is "
                              f"nested too deeply); it may be crafted or corrupt") from None
    except ValueError as e:
        why = "it holds pickled (object) arrays, which are never loaded" if "allow_pickle" in str(e) else str(e)
        raise CheckpointError(_unreadable(path, why)) from None
    except (zipfile.BadZipFile, KeyError, TypeError, AttributeError, OSError, EOFError, zlib.error) as e:
        raise CheckpointError(_unreadable(path, f"{type(e).__name__}: {e}")) from e


def _unreadable(path, why) -> str:
    return (f"tinytorch.load: {path!r} is not a readable TinyTorch checkpoint ({why}); it may be truncated or "
            f"corrupt: restore an earlier checkpoint or save it again")
