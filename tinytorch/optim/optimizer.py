"""Optimizer: param_groups, per-parameter state, zero_grad and state_dict, as torch.optim.Optimizer.

Subclasses describe one parameter's update as lazy tensor math and return
the tensors they `assign`ed; `step()` realizes all of them with one
`tinytorch.realize`, which also pulls in the live loss, so forward, backward
and update run as ONE compiled Program. Everything that changes between steps
(the learning rate, step counts, bias corrections) enters that Program as a
small input buffer, never as a constant, so the Program is compiled once and
then only looked up.
"""
from __future__ import annotations

import numpy as np

from .. import compiler as C
from .. import dtypes, lazy
from ..autograd import enable_grad
from ..creation import zeros_like
from ..lazy import realize
from ..tensor import Tensor


_DATA = ("params", "lr", "initial_lr")  # group entries that are data (or bookkeeping), not graph structure
_CYCLED = {"momentum": ("momentum", None), "beta1": ("betas", 0)}  # name: (group key, index), see cycle_as_data


def _cycled_value(group: dict, name: str):
    key, index = _CYCLED[name]
    return group[key] if index is None else group[key][index]


def _structure(group: dict, cycled) -> tuple:
    """The group's entries that shape the graph: not the data ones; of a cycled value only whether it is 0."""
    items = dict((k, v) for k, v in group.items() if k not in _DATA)
    for name in cycled:
        key, index = _CYCLED[name]
        v = items[key]
        items[key] = v != 0 if index is None else tuple(x != 0 if i == index else x for i, x in enumerate(v))
    return tuple(items.items())


def state_buffer(array) -> Tensor:
    """A fresh realized buffer for optimizer state (assign writes into it in place)."""
    arr = np.array(array, copy=True)
    return Tensor(arr, dtype=arr.dtype)


def scalar(value, dtype=dtypes.float64) -> Tensor:
    """A 0-d input buffer holding a per-step value (learning rate): data, not a graph constant."""
    return Tensor(np.array(value, dtype=dtype), dtype=dtype)


class Optimizer:
    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or dicts, got a Tensor; "
                            f"pass model.parameters() or [tensor]")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict) -> None:
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, got {type(p).__name__}")
            if not p.requires_grad:
                raise ValueError(f"{type(self).__name__}: a parameter of shape {p.shape} does not require grad; "
                                 f"set requires_grad=True or leave it out")
            if not p.is_leaf or not p.is_realized:
                raise ValueError(f"{type(self).__name__}: can only optimize realized leaf tensors (a parameter of "
                                 f"shape {p.shape} is computed); use nn.Parameter or tensor(..., requires_grad=True)")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]) or len({id(p) for p in group["params"]}) != len(
                group["params"]):
            raise ValueError(f"{type(self).__name__}: a parameter appears in more than one group (or twice)")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self.param_groups.append(group)
        self._version = self.__dict__.get("_version", 0) + 1

    def zero_grad(self, set_to_none: bool = True) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                p.grad = None if set_to_none or p.grad is None else zeros_like(p).realize()

    # ------------------------------------------------------------ the step

    def step(self, closure=None):
        """Build every parameter's update lazily, then realize them (with the live loss) as one Program."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        if lazy.TRACE is not None:
            lazy.TRACE.on_replay(self)
        written = self.updates()
        if written:
            realize(*written)
        return loss

    def updates(self) -> list:
        """Every parameter's update as lazy `assign`s, built and not run: `step()` realizes them; `tinytorch.plan`,
        `explain` or `viz.draw` of the loss and these show the whole training step's Program before it runs. They
        must then be realized (the parameters are pending writes until they are)."""
        written = []
        for group in self.param_groups:
            items = []
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad if p.grad.dtype == p.dtype else p.grad.to(p.dtype)
                if grad.shape != p.shape:
                    raise ValueError(f"{type(self).__name__}: grad {grad.shape} does not match parameter {p.shape}")
                items.append((p, grad, self.state.setdefault(p, {})))
            if items:
                written += self._update_group(group, items, self._lr_input(group))
        return written

    def _lr_input(self, group: dict) -> Tensor:
        """The group's learning rate as an input buffer (see `_input`)."""
        return self._input(group, "lr", group["lr"])

    def _input(self, group: dict, name: str, value) -> Tensor:
        """A per-step value of the group as an input buffer: one buffer per group and name, rewritten in place
        when the value changes, so a captured step (which binds that buffer) sees a scheduler's new value too."""
        cache = self.__dict__.setdefault("_lr_buffers", {})
        hit = cache.get((id(group), name))
        if hit is None or hit[0] is not group or type(value) not in (int, float):
            hit = cache[(id(group), name)] = [group, value, scalar(value)]
        elif hit[1] != value:
            C.array_of(hit[2]._node)[...] = value
            hit[1] = value
        return hit[2]

    # ------------------------------------------------------------ hyperparameters a scheduler cycles

    def cycle_as_data(self, name: str) -> None:
        """From now on feed `name` ('momentum', or 'beta1': betas[0]) to the step as data, as the learning rate:
        OneCycleLR and CyclicLR change it every step, which as a graph constant would compile a Program per
        value. The step built before this call is not reused (one recompile)."""
        if name not in _CYCLED:
            raise ValueError(f"{type(self).__name__}.cycle_as_data: can cycle {sorted(_CYCLED)}, not {name!r}")
        cycled = self.__dict__.setdefault("_cycled", set())
        if name not in cycled:
            cycled.add(name)
            self._version = self.__dict__.get("_version", 0) + 1

    def _hyper(self, group: dict, name: str, dtype=None):
        """The group's momentum or beta1: a Python number, or once `cycle_as_data(name)` a 0-d input (float64,
        cast to `dtype` if given)."""
        value = _cycled_value(group, name)
        if name not in self.__dict__.get("_cycled", ()):
            return value
        data = self._input(group, name, value)
        return data if dtype is None else data.to(dtype)

    # ------------------------------------------------------------ replay of a captured step (tinytorch.capture)

    def _capture_key(self):
        """What a captured step's Program assumes of this optimizer besides the learning rates: the groups, their
        parameters and hyperparameters, and which state is loaded."""
        cycled = self.__dict__.get("_cycled", ())
        return (self.__dict__.get("_version", 0),
                tuple((tuple(map(id, g["params"])), _structure(g, cycled)) for g in self.param_groups))

    def _refresh_for_replay(self, key) -> bool:
        """Before a replay: False if the optimizer changed shape since the trace, else write current rates."""
        if self._capture_key() != key:
            return False
        for g in self.param_groups:
            self._lr_input(g)
            for name in self.__dict__.get("_cycled", ()):
                self._hyper(g, name)
        return True

    def _update_group(self, group: dict, items: list, lr: Tensor) -> list:
        """The update of one group's parameters that have gradients, items = [(param, grad, state)]; returns the
        tensors it assigned. By default each parameter on its own."""
        return [t for p, grad, state in items for t in self._update(p, grad, group, state, lr)]

    def _update(self, p: Tensor, grad: Tensor, group: dict, state: dict, lr: Tensor) -> list:
        raise NotImplementedError

    # ------------------------------------------------------------ accounting and checkpoints

    def state_bytes(self) -> int:
        """Bytes of per-element optimizer state (moment buffers); 0-d counters such as `step` are not counted."""
        return sum(t.numel() * t.dtype.itemsize for s in self.state.values() for t in s.values()
                   if isinstance(t, Tensor) and t.ndim > 0)

    def state_dict(self) -> dict:
        """{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}, as PyTorch's."""
        index, groups = {}, []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {k: v.detach() if isinstance(v, Tensor) else v
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the checkpoint has {len(groups)} parameter "
                             f"groups, this optimizer has {len(self.param_groups)}; build it with the same groups")
        by_index = {}
        for mine, saved in zip(self.param_groups, groups):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(f"{type(self).__name__}.load_state_dict: a group has {len(saved['params'])} "
                                 f"parameters in the checkpoint but {len(mine['params'])} here")
            for p, i in zip(mine["params"], saved["params"]):
                by_index[int(i)] = p
        state = {}
        for i, s in state_dict["state"].items():
            p = by_index.get(int(i))
            if p is None:
                raise ValueError(f"{type(self).__name__}.load_state_dict: state for parameter index {i} matches "
                                 f"no parameter")
            entry = {}
            for k, v in s.items():
                if isinstance(v, (Tensor, np.ndarray)):
                    arr = v.numpy() if isinstance(v, Tensor) else v
                    if arr.ndim and arr.shape != p.shape:
                        raise ValueError(f"{type(self).__name__}.load_state_dict: state {k!r} has shape "
                                         f"{arr.shape} but its parameter has {p.shape}")
                    v = state_buffer(arr)
                entry[k] = v
            state[p] = entry
        self.state = state
        self._version = self.__dict__.get("_version", 0) + 1
        for mine, saved in zip(self.param_groups, groups):
            for k, v in saved.items():
                if k != "params":
                    mine[k] = v

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params")
        return "\n".join(lines) + "\n)"
