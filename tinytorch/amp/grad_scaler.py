"""`tinytorch.GradScaler`: dynamic loss scaling for float16 training, with PyTorch's API and rules.

float16 gradients below 2**-24 flush to zero; scaling the loss by S (2**16 to start) scales every gradient
by S, and `unscale_` divides the float32 parameter gradients by S again before the update. A step whose
gradients hold an inf or NaN (S too big) is skipped and S is multiplied by `backoff_factor`; after
`growth_interval` clean steps in a row S is multiplied by `growth_factor`.

Everything that changes per step is DATA, never a graph constant or a Python branch: the scale and the
growth tracker are 0-d buffers written by `assign`, the found-inf flag is computed in the step's Program and
kept in a 0-d buffer per optimizer, and the skip is `where(found_inf, old, new)` on every update the
optimizer builds (`skip.py`). So a training step compiles once whatever the scale does, and a captured step
(`tinytorch.compile`) replays skipped and taken steps alike. Unlike PyTorch, `step` returns the optimizer's
return value even for a skipped step: knowing it was skipped would mean reading the flag in Python.
"""
from __future__ import annotations

import numpy as np

from .. import compiler as C
from .. import dtypes
from ..elementwise import where
from ..lazy import realize
from ..optim.optimizer import state_buffer
from ..tensor import Tensor
from .skip import skip_updates_if

READY, UNSCALED, STEPPED = "ready", "unscaled", "stepped"  # an optimizer's stage since the last update()


def _write(t: Tensor, value) -> None:
    """Overwrite a realized 0-d state buffer in place (the same Buffer a captured step binds)."""
    t.realize()
    C.array_of(t._node)[...] = value


class GradScaler:
    def __init__(self, device: str = "cpu", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True):
        if growth_factor <= 1.0:
            raise ValueError(f"GradScaler: growth_factor must be > 1, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: backoff_factor must be in (0, 1), got {backoff_factor}")
        if int(growth_interval) != growth_interval or growth_interval < 1:
            raise ValueError(f"GradScaler: growth_interval must be a positive int, got {growth_interval}")
        self._enabled = bool(enabled)
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._scale = state_buffer(np.array(init_scale, np.float32))
        self._growth_tracker = state_buffer(np.array(0, np.int32))
        self._found_inf = {}  # id(optimizer) -> 0-d float32 buffer: 1.0 when its last unscale_ saw inf/NaN
        self._stage = {}  # id(optimizer) -> (READY | UNSCALED | STEPPED, found-inf node of this iteration)

    # ------------------------------------------------------------ the training loop

    def scale(self, outputs):
        """outputs * scale (a tensor, or a list/tuple of them); as is when disabled."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale  # float16 outputs promote to float32, as PyTorch's
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise TypeError(f"GradScaler.scale: expected a Tensor or a list/tuple of Tensors, got "
                        f"{type(outputs).__name__}")

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by the scale (lazily) and record whether any is inf or NaN."""
        if not self._enabled:
            return
        stage = self._stage.get(id(optimizer), (READY, None))[0]
        if stage == UNSCALED:
            raise RuntimeError("GradScaler.unscale_() has already been called on this optimizer since the last "
                               "update()")
        if stage == STEPPED:
            raise RuntimeError("GradScaler.unscale_() is being called after step(); call it before step()")
        inv = (1.0 / self._scale.to(dtypes.float64)).to(dtypes.float32)
        total = None
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.dtype == dtypes.float16:
                    raise ValueError(f"GradScaler.unscale_: a gradient of shape {p.shape} is float16; keep the "
                                     f"parameters float32 (autocast casts them per op) so gradients are float32")
                p.grad = p.grad * inv.to(p.grad.dtype)
                probe = (p.grad * 0.0).sum().to(dtypes.float32)  # NaN exactly when some element is inf or NaN
                total = probe if total is None else total + probe
        if total is None:
            raise RuntimeError("GradScaler.unscale_: no parameter of this optimizer has a gradient; call "
                               "backward() on the scaled loss first")
        found = total != total
        buf = self._found_inf.get(id(optimizer))
        if buf is None:
            buf = self._found_inf[id(optimizer)] = state_buffer(np.array(0.0, np.float32))
        buf.assign(found.to(dtypes.float32))
        self._stage[id(optimizer)] = (UNSCALED, found)

    def step(self, optimizer, *args, **kwargs):
        """Unscale (unless `unscale_` ran) and step the optimizer; where a gradient was inf or NaN the update
        writes the old values back (`skip.py`), in the same Program."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs or args:
            raise RuntimeError("GradScaler.step: a closure is not supported; call backward() on scaler.scale(loss) "
                               "and then scaler.step(optimizer)")
        stage = self._stage.get(id(optimizer), (READY, None))[0]
        if stage == STEPPED:
            raise RuntimeError("GradScaler.step() has already been called since the last update()")
        if stage == READY:
            self.unscale_(optimizer)
        found = self._stage[id(optimizer)][1]
        with skip_updates_if(found._node):
            out = optimizer.step()
        self._stage[id(optimizer)] = (STEPPED, found)
        return out

    def update(self, new_scale=None) -> None:
        """Back off on an inf/NaN of any optimizer stepped since the last update, grow after growth_interval
        clean steps (PyTorch's `_amp_update_scale_`), or set `new_scale` (a float or 0-d tensor)."""
        if not self._enabled:
            return
        if new_scale is not None:
            _write(self._scale, float(new_scale.item() if isinstance(new_scale, Tensor) else new_scale))
        else:
            found = [self._found_inf[k] for k, (stage, _) in self._stage.items() if stage != READY]
            if not found:
                raise RuntimeError("GradScaler.update: no inf checks were recorded; call step(optimizer) (or "
                                   "unscale_) before update()")
            # BEGIN EXERCISE m17.scale_update
            # STUB: pass  # a static scale: never backs off, never grows
            inf = (found[0] if len(found) == 1 else sum(found[1:], found[0])) > 0
            counted = self._growth_tracker + 1
            grow = counted >= self._growth_interval
            scale = self._scale
            grown = scale * self._growth_factor
            grown = where(grow & grown.isfinite(), grown, scale)
            backoff = scale * self._backoff_factor
            self._scale.assign(where(inf, backoff, grown))
            self._growth_tracker.assign(where(inf | grow, 0, counted))
            realize(self._scale, self._growth_tracker)
            # END EXERCISE m17.scale_update
        self._stage.clear()

    # ------------------------------------------------------------ settings and checkpoints

    def get_scale(self) -> float:
        return float(self._scale.item()) if self._enabled else 1.0

    def get_growth_factor(self) -> float: return self._growth_factor
    def set_growth_factor(self, value: float) -> None: self._growth_factor = float(value)
    def get_backoff_factor(self) -> float: return self._backoff_factor
    def set_backoff_factor(self, value: float) -> None: self._backoff_factor = float(value)
    def get_growth_interval(self) -> int: return self._growth_interval
    def set_growth_interval(self, value: int) -> None: self._growth_interval = int(value)
    def is_enabled(self) -> bool: return self._enabled

    def _get_growth_tracker(self) -> int:
        return int(self._growth_tracker.item()) if self._enabled else 0

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("GradScaler.load_state_dict: the state dict is empty; it was saved by a disabled "
                               "GradScaler")
        _write(self._scale, state_dict["scale"])
        _write(self._growth_tracker, state_dict["_growth_tracker"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
