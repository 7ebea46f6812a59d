"""Module: the base class of every layer, as in torch.nn.Module.

A Module registers what is assigned to it: Parameters (trainable leaf
buffers), sub-Modules, and buffers (state such as BatchNorm's running mean,
which forward updates with `Tensor.assign`). From those registries come
`parameters()`, `state_dict()`/`load_state_dict()`, `train()`/`eval()` and a
repr shaped like PyTorch's.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .. import dtypes
from ..creation import zeros_like
from ..devices import check_device, is_device
from ..lazy import realize
from ..tensor import Tensor
from .parameter import Parameter, set_data


class Modes:
    """Bumped by every train()/eval(): a captured step (tinytorch.capture) replays only under the modes it traced."""
    version = 0


class Module:
    training: bool

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define forward(self, ...) in it")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ registration

    def _check_init(self, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() ran; call super().__init__() "
                                 f"first in {type(self).__name__}.__init__")

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self._check_init(name)
            self._forget(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._check_init(name)
            self._forget(name)
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to parameter {name!r} of "
                                f"{type(self).__name__}; use nn.Parameter(...) or None")
            self._parameters[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} to buffer {name!r}; it must be a Tensor")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        for d in (self._parameters, self._buffers, self._modules):
            d.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if reg in d and name in d[reg]:
                return d[reg][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for reg in (self._parameters, self._buffers, self._modules):
            if name in reg:
                del reg[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be an nn.Parameter or None, got {type(param).__name__}")
        self._check_init(name)
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """State that is not trained but is saved (unless persistent=False): it must be a realized buffer."""
        self._check_init(name)
        self._forget(name)
        if tensor is not None:
            tensor = tensor if isinstance(tensor, Tensor) else Tensor(tensor)
            tensor = Tensor(np.array(tensor.numpy(), copy=True), dtype=tensor.dtype)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._check_init(name)
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    # ------------------------------------------------------------ walking the tree

    def named_modules(self, memo=None, prefix: str = ""):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named(self, registry, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, t in getattr(m, registry).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{mp}.{name}" if mp else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        yield from self._named("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        yield from self._named("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ modes and grads

    def train(self, mode: bool = True):
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        Modes.version += 1
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            p.grad = None if set_to_none or p.grad is None else zeros_like(p).realize()

    def to(self, dtype=None, *args, **kwargs):
        """Cast floating point parameters and buffers; a device argument must be the CPU (another raises)."""
        if is_device(dtype):
            check_device(dtype)
            dtype = args[0] if args and not isinstance(args[0], bool) else None
        check_device(kwargs.get("device"))
        dtype = kwargs.get("dtype", dtype)
        if dtype is None:
            return self
        d = dtypes.as_dtype(dtype)
        for t in list(self.parameters()) + list(self.buffers()):
            if t.dtype.kind == "f" and t.dtype != d:
                t._set_node(Tensor(t.numpy().astype(d), dtype=d)._node)  # moves the grad-leaf entry too
        return self

    def float(self): return self.to(dtypes.float32)
    def double(self): return self.to(dtypes.float64)
    def half(self): return self.to(dtypes.float16)
    def cpu(self): return self

    # ------------------------------------------------------------ state

    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        """Parameters and persistent buffers by dotted name; values share storage with the module (as PyTorch)."""
        out = OrderedDict() if destination is None else destination
        if destination is None:
            pending = [t for _, t in self.named_parameters()] + [t for _, t in self.named_buffers()]
            realize(*[t for t in pending if not t.is_realized])  # pending updates: store values, not graphs
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values in by name. strict: every key must match both ways; shapes must always match."""
        own = OrderedDict()
        for mp, m in self.named_modules():
            pre = mp + "." if mp else ""
            for name, t in m._parameters.items():
                if t is not None:
                    own[pre + name] = t
            for name, t in m._buffers.items():
                if t is not None and name not in m._non_persistent:
                    own[pre + name] = t
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(repr(k) for k in missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(repr(k) for k in unexpected)}")
        values = {}
        for k, t in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            arr = v.numpy() if isinstance(v, Tensor) else np.asarray(v)
            if tuple(arr.shape) != tuple(t.shape):
                problems.append(f"size mismatch for {k!r}: the checkpoint has shape {tuple(arr.shape)}, "
                                f"the model has {tuple(t.shape)}")
            values[k] = arr
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n  " +
                               "\n  ".join(problems) + "\nCheck that the checkpoint was saved from the same model "
                               "definition, or pass strict=False to skip missing/unexpected keys.")
        for k, arr in values.items():
            set_data(own[k], arr)
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ repr

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not lines:
            return f"{type(self).__name__}()"
        if not self._modules and len(lines) == 1:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))


class _IncompatibleKeys(tuple):
    """(missing_keys, unexpected_keys), as PyTorch's load_state_dict returns."""

    def __new__(cls, missing, unexpected):
        return tuple.__new__(cls, (list(missing), list(unexpected)))

    missing_keys = property(lambda self: self[0])
    unexpected_keys = property(lambda self: self[1])

    def __repr__(self):
        return "<All keys matched successfully>" if not self[0] and not self[1] else \
            f"_IncompatibleKeys(missing_keys={self[0]}, unexpected_keys={self[1]})"
