"""Every TINYTORCH_* environment variable, declared and read in one place.

Each setting names its variable, its type, its default and what it does; `get(name)` reads the variable
(each call, so a test or a user may change it between realizes) and parses it once per distinct value. A
value that does not parse raises one `ConfigError` naming the variable, the value and what is accepted:
`TINYTORCH_NUM_THREADS=abc` never becomes a bare `int()` traceback, and `TINYTORCH_EAGER=false` means off.

It lives in the runtime, the lowest layer, so the frontend, the compiler and the runtime all read their
settings through it. `markdown_table()` renders the README's table of variables (a test keeps them equal).
"""
from __future__ import annotations

import functools
import os
import pathlib
from dataclasses import dataclass
from typing import Optional

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class ConfigError(ValueError):
    """A TINYTORCH_* variable holds a value its setting does not accept."""


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str  # "bool" | "int" | "choice" | "path"
    default: object  # the value when the variable is unset or empty (a callable: computed at each read)
    doc: str
    choices: tuple = ()
    minimum: Optional[int] = None
    maximum: Optional[int] = None
    read_at: str = "each use"

    def accepted(self) -> str:
        if self.kind == "bool":
            return "one of " + "/".join(TRUE_WORDS + FALSE_WORDS) + " (any case)"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "int":
            hi = "" if self.maximum is None else f" and at most {self.maximum}"
            return f"an integer of at least {self.minimum}{hi}"
        return "a directory path"

    def parse(self, raw: str):
        text = raw.strip()
        if self.kind == "bool":
            word = text.lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
        elif self.kind == "choice":
            if text in self.choices:
                return text
        elif self.kind == "int":
            try:
                value = int(text)
            except ValueError:
                value = None
            if value is not None and (self.minimum is None or value >= self.minimum) and \
                    (self.maximum is None or value <= self.maximum):
                return value
        else:
            return pathlib.Path(text).expanduser()
        raise ConfigError(f"{self.name}={raw!r} is not valid: {self.name} takes {self.accepted()}")

    def shown_default(self) -> str:
        if callable(self.default):
            return self.default.__doc__ or "computed"
        return "unset" if self.default is None else str(self.default).lower() if self.kind == "bool" \
            else str(self.default)


@functools.cache  # os.cpu_count() reads /sys on every call, and the thread count is asked per native call
def _cpu_count():
    """os.cpu_count()"""
    return os.cpu_count() or 1


def _cache_home():
    """~/.cache/tinytorch"""
    return pathlib.Path.home() / ".cache" / "tinytorch"


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("TINYTORCH_BACKEND", "choice", "llvm", "the backend compiled Programs run on; "
            "`tinytorch.set_backend` changes it later", choices=("numpy", "llvm"), read_at="import"),
    Setting("TINYTORCH_EAGER", "bool", False, "run every op the moment it is built (NumPy, no compiler), "
            "like `with tinytorch.eager():`", read_at="import"),
    Setting("TINYTORCH_DEBUG", "int", 0, "1: a line per realize; 2: and each kernel's time; 3: and the IR "
            "before and after the passes; 4 and above: and the generated code", minimum=0),
    Setting("TINYTORCH_NUM_THREADS", "int", _cpu_count, "threads that split a big native loop",
            minimum=1),
    Setting("TINYTORCH_CACHE_PROGRAMS", "int", 128, "compiled Programs kept in memory (least recently used "
            "evicted first, freeing its arena and native code); `tinytorch.stats()` reports how many and their "
            "bytes", minimum=1),
    Setting("TINYTORCH_CACHE_DIR", "path", _cache_home, "where compiled native object code is cached on "
            "disk (under `llvm/`)"),
    Setting("TINYTORCH_CACHE_MAX_MB", "int", 512, "the disk cache's size bound: past it, a write deletes the "
            "least recently used object files down to 80% of it", minimum=1),
    Setting("TINYTORCH_CHECK_BOUNDS", "bool", False, "compile native kernels that check every address: one "
            "outside its array raises a KernelError naming the kernel", read_at="compile"),
    Setting("TINYTORCH_DATA", "path", None, "the datasets folder, searched before "
            "`~/.cache/tinytorch` (where `download=True` writes when it is unset)"),
)}

_PARSED: dict = {}


def get(name: str):
    """The current value of setting `name` (its default where the variable is unset or empty)."""
    setting = SETTINGS.get(name)
    if setting is None:
        raise KeyError(f"no setting {name!r}; the settings are {', '.join(SETTINGS)}")
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return setting.default() if callable(setting.default) else setting.default
    key = (name, raw)
    value = _PARSED.get(key, _PARSED)
    if value is _PARSED:
        value = _PARSED[key] = setting.parse(raw)
    return value


def markdown_table() -> str:
    rows = ["| variable | accepts | default | read | what it does |", "|---|---|---|---|---|"]
    for s in SETTINGS.values():
        rows.append(f"| `{s.name}` | {s.accepted()} | {s.shown_default()} | {s.read_at} | {s.doc} |")
    return "\n".join(rows)

