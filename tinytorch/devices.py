"""The top-level names PyTorch scripts touch besides ops: `device` (the CPU only), `Generator` (a seeded
random stream for rand/randn/randint/randperm), `inference_mode`, `set_grad_enabled`, `is_tensor`, `numel`.

TinyTorch runs on the CPU: `device("cpu")` and `.to("cpu")` are accepted so ported code runs unchanged, and
any other device is refused with one message saying so, at the user's line.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .tensor_base import GradMode, TensorBase

DEVICE_TYPES = ("cpu",)


class device:  # noqa: N801  (PyTorch's name)
    """A device: only "cpu" (or "cpu:0", "cpu", 0) exists here."""
    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index
        name = str(type)
        if ":" in name:
            name, _, idx = name.partition(":")
            index = int(idx) if idx.isdigit() else idx
        if name not in DEVICE_TYPES or index not in (None, 0):
            raise RuntimeError(f"device {str(type)!r}{'' if index is None else f' index {index}'}: TinyTorch runs "
                               f"on the CPU only; use 'cpu' (or drop the .to(device) / device= argument)")
        self.type, self.index = name, index

    def __eq__(self, other):
        try:
            return isinstance(other, (device, str)) and device(other).type == self.type
        except RuntimeError:
            return False

    def __hash__(self):
        return hash(self.type)

    def __repr__(self):
        return f"device(type={self.type!r})" if self.index is None else f"device(type={self.type!r}, index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")


def check_device(d) -> device:
    """The device `d` names (None: the CPU); anything but the CPU raises."""
    return CPU if d is None else device(d)


def is_device(x) -> bool:
    """Whether `x` names a device (a device, or a string such as "cpu" or "cuda:0") rather than a dtype."""
    if isinstance(x, device):
        return True
    if isinstance(x, str):
        return x.partition(":")[0] in DEVICE_TYPES + ("cuda", "mps", "xpu", "meta", "hip", "xla")
    return False


class Generator:
    """A random stream of its own (PyTorch's `torch.Generator`): pass it as `generator=` to rand, randn,
    randint, randperm; `manual_seed` makes its draws repeatable without touching the global stream."""

    def __init__(self, device="cpu"):  # noqa: A002
        check_device(device)
        self.device = CPU
        self._seed = int(np.random.SeedSequence().entropy) % 2**63
        self.gen = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.gen = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        self.manual_seed(int(np.random.SeedSequence().entropy) % 2**63)
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self.gen.bit_generator.state

    def set_state(self, state) -> "Generator":
        self.gen.bit_generator.state = state
        return self


@contextlib.contextmanager
def inference_mode(mode: bool = True):
    """As `torch.inference_mode()`: no gradient is recorded inside (here the same as `no_grad`)."""
    before = GradMode.enabled
    GradMode.enabled = before and not mode
    try:
        yield
    finally:
        GradMode.enabled = before


class set_grad_enabled:  # noqa: N801  (PyTorch's name)
    """Switch gradient recording on or off: now (a call) and, used as a context manager, back on exit."""

    def __init__(self, mode: bool):
        self.before = GradMode.enabled
        GradMode.enabled = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        GradMode.enabled = self.before
        return False


def is_tensor(x) -> bool:
    return isinstance(x, TensorBase)


def numel(x: TensorBase) -> int:
    return x.numel()


class cuda:  # noqa: N801  (PyTorch's `torch.cuda`, as ported scripts probe it)
    """There is no GPU here: `tinytorch.cuda.is_available()` is False, so `"cuda" if ... else "cpu"` picks the CPU."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0

    @staticmethod
    def manual_seed_all(seed: int) -> None:
        """Nothing to seed: there is no GPU stream."""

    manual_seed = manual_seed_all
