"""Model weights in PyTorch's exchange formats: `.safetensors` and `.npz` of a state dict, by parameter name.

    model.load_state_dict(tinytorch.load_weights("gpt.safetensors"))
    tinytorch.save_weights(model.state_dict(), "gpt.safetensors")

A `.safetensors` file (the standard format for published weights: a JSON header and raw little-endian arrays,
no code) is read with the `safetensors` package's NumPy API, so no torch is needed; an `.npz` (e.g.
`np.savez(path, **{k: v.numpy() for k, v in torch_model.state_dict().items()})`) with NumPy, pickles refused.
A state dict with tied weights (nanoGPT's wte and lm_head) holds the same array under both names; either
loads. Saving goes through a temp file renamed over the target (serialization.write_atomically).
"""
from __future__ import annotations

import os

import numpy as np
from safetensors.numpy import load_file, save

from .serialization import write_atomically
from .tensor import Tensor

FORMATS = (".safetensors", ".npz")


def _format(path: str, op: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise ValueError(f"{op}: {path!r} has neither extension of {FORMATS}; name the file .safetensors or .npz "
                         f"(tinytorch.save/load handle TinyTorch checkpoints)")
    return ext


def load_weights(path) -> dict:
    """{name: ndarray} from a .safetensors or .npz file of a state dict, ready for `load_state_dict`."""
    path = os.fspath(path)
    ext = _format(path, "load_weights")
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_weights: no weights file at {path!r}")
    if ext == ".safetensors":
        return dict(load_file(path))
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def save_weights(state_dict, path) -> None:
    """Write {name: Tensor or ndarray} to a .safetensors or .npz file, atomically (temp file + rename)."""
    path = os.fspath(path)
    ext = _format(path, "save_weights")
    arrays = {k: np.ascontiguousarray(v.numpy() if isinstance(v, Tensor) else np.asarray(v))
              for k, v in state_dict.items()}
    if ext == ".safetensors":
        write_atomically(path, lambda fh: fh.write(save(arrays)))
    else:
        write_atomically(path, lambda fh: np.savez(fh, **arrays))
