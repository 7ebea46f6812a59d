"""Containers: Sequential (call children in order), ModuleList and ModuleDict (hold children, no forward),
ParameterList and ParameterDict (hold parameters under their index or key, as torch names them)."""
from __future__ import annotations

from collections import OrderedDict, abc

from .module import Module
from .parameter import Parameter


class Sequential(Module):
    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def forward(self, input):
        for m in self._modules.values():
            input = m(input)
        return input

    def __getitem__(self, idx):
        mods = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(mods[idx]))
        if not -len(mods) <= idx < len(mods):
            raise IndexError(f"Sequential index {idx} is out of range for {len(mods)} modules")
        return mods[idx][1]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    def __init__(self, modules=None):
        super().__init__()
        for m in modules or ():
            self.append(m)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, idx):
        mods = list(self._modules.values())
        return ModuleList(mods[idx]) if isinstance(idx, slice) else mods[idx]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class _Keyed(Module):
    """The dict methods of ModuleDict and ParameterDict, over the registry `_registry` names."""
    _registry = "_modules"

    @property
    def _store(self):
        return self.__dict__[self._registry]

    def __getitem__(self, key):
        return self._store[key]

    def __delitem__(self, key):
        del self._store[key]

    def __len__(self):
        return len(self._store)

    def __iter__(self):
        return iter(self._store)

    def __contains__(self, key):
        return key in self._store

    def keys(self):
        return self._store.keys()

    def items(self):
        return self._store.items()

    def values(self):
        return self._store.values()

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def clear(self):
        self._store.clear()


class ModuleDict(_Keyed):
    """Sub-modules by string key, in insertion order (a plain dict's order too, as torch's)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def update(self, modules):
        pairs = modules.items() if isinstance(modules, abc.Mapping) else modules
        for key, module in pairs:
            self[key] = module


def _as_parameter(value):
    return value if value is None or isinstance(value, Parameter) else Parameter(value)


def _parameter_line(key, p):
    size = "x".join(str(s) for s in p.shape)
    return f"({key}): Parameter containing: [tinytorch.{p.dtype.name} of size {size}]"


class _ParameterContainer(Module):
    def extra_repr(self):
        return "\n".join(_parameter_line(k, p) for k, p in self._parameters.items() if p is not None)

    def __repr__(self):
        body = self.extra_repr()
        return f"{type(self).__name__}(\n    " + body.replace("\n", "\n    ") + "\n)" if body else \
            f"{type(self).__name__}()"


class ParameterList(_ParameterContainer):
    """Parameters named "0", "1", ...; a tensor put in becomes a Parameter (as torch's)."""

    def __init__(self, values=None):
        super().__init__()
        for v in values or ():
            self.append(v)

    def __len__(self):
        return len(self._parameters)

    def _key(self, idx):
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"ParameterList index {idx} is out of range for {n} parameters")
        return str(idx % n)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return self._parameters[self._key(idx)]

    def __setitem__(self, idx, value):
        self.register_parameter(self._key(idx), _as_parameter(value))

    def __iter__(self):
        return iter(self._parameters.values())

    def append(self, value):
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self


class ParameterDict(_Keyed, _ParameterContainer):
    """Parameters by string key; a plain dict is taken in sorted key order, an OrderedDict in its own (as torch's)."""
    _registry = "_parameters"

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_parameter(value))

    def update(self, parameters):
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = parameters.items()
        elif isinstance(parameters, abc.Mapping):
            pairs = sorted(parameters.items())
        else:
            pairs = parameters
        for key, value in pairs:
            self[key] = value
