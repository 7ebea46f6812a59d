"""tinytorch.save / tinytorch.load: checkpoints as .npz files that are never pickles.

A checkpoint is any nesting of dicts, lists and tuples whose leaves are
tensors, NumPy arrays, Python scalars, strings or None (a model's,
optimizer's and scheduler's state dicts, a step count, the RNG state). Arrays
go into the archive under flat keys ("a0", "a1", ...); the structure, dict
keys and scalars go into a JSON manifest stored in the same archive. Loading
uses `allow_pickle=False`, so a checkpoint cannot run code.

Writing goes to a temporary file in the destination's directory, is flushed
to disk, then `os.replace`d over the destination: a crash mid-write leaves
the previous checkpoint intact.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile

import numpy as np

from .tensor import Tensor

_MANIFEST = "__tinytorch_manifest__"
_FORMAT = 1


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


def save(obj, f) -> None:
    """Write obj to path `f` atomically (temp file in the same directory, then os.replace)."""
    path = os.fspath(f)
    arrays: list = []
    manifest = {"format": _FORMAT, "root": _encode(obj, arrays, "obj")}
    payload = {f"a{i}": a for i, a in enumerate(arrays)}
    payload[_MANIFEST] = np.frombuffer(json.dumps(manifest).encode("utf-8"), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(f):
    """Read a checkpoint written by `save`; tensors come back as realized Tensors, arrays as ndarrays."""
    path = os.fspath(f)
    if not os.path.exists(path):
        raise FileNotFoundError(f"tinytorch.load: no checkpoint at {path!r}; check the path (tinytorch.save writes "
                                f"exactly the name it is given)")
    try:
        with np.load(path, allow_pickle=False) as z:
            if _MANIFEST not in z.files:
                raise ValueError("it has no TinyTorch manifest (was it written by tinytorch.save?)")
            manifest = json.loads(z[_MANIFEST].tobytes().decode("utf-8"))
            if manifest.get("format") != _FORMAT:
                raise ValueError(f"it is format {manifest.get('format')!r}; this TinyTorch reads format {_FORMAT}")
            arrays = {k: z[k] for k in z.files if k != _MANIFEST}
        return _decode(manifest["root"], arrays)
    except (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError, UnicodeDecodeError) as e:
        raise RuntimeError(f"tinytorch.load: {path!r} is not a readable TinyTorch checkpoint ({e}); it may be "
                           f"truncated or corrupt: restore an earlier checkpoint or save it again") from e
