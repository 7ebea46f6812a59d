"""Native object code: the disk cache of object files, and loading one into memory as callable functions.

The compiler turns a Program's LLVM module into object code (compiler/llvm/jit.py) and names it by a key
(a hash of the IR, the target and the versions). Here the runtime keeps those objects on disk under
$TINYTORCH_CACHE_DIR/llvm (so a fresh process skips LLVM), and maps an object into memory with one small
MCJIT engine, which stays alive, with its machine code, as long as a runner holds it: the table of loaded
modules holds them weakly, so a Program evicted from the cache frees its engine with its runners. While
loaded, a key is never loaded again: the same module compiled twice in one process shares one engine.
"""
from __future__ import annotations

import os
import pathlib
import tempfile
import threading
import weakref
from dataclasses import dataclass

from . import config

CACHE_SUBDIR = "llvm"
_LOCK = threading.Lock()
_LOADED: "weakref.WeakValueDictionary[str, LoadedModule]" = weakref.WeakValueDictionary()


@dataclass(frozen=True)
class LoadedModule:
    key: str
    object_code: bytes
    addresses: dict  # function name -> address
    engine: object  # keeps the machine code mapped


def cache_dir() -> pathlib.Path:
    return pathlib.Path(config.get("TINYTORCH_CACHE_DIR")) / CACHE_SUBDIR


def loaded(key: str):
    """The module already loaded under `key`, or None."""
    return _LOADED.get(key)


def read_cached(key: str):
    """The cached object code for `key`, or None."""
    try:
        return (cache_dir() / f"{key}.o").read_bytes()
    except OSError:
        return None


def write_cached(key: str, obj: bytes) -> None:
    """Best effort, atomically (temp file + rename): a cache that cannot be written only costs a recompile."""
    path = cache_dir() / f"{key}.o"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(obj)
        os.replace(tmp, path)
    except OSError:
        pass


def load(key: str, obj: bytes, symbols: dict) -> LoadedModule:
    """Map `obj` into memory; `symbols` maps each function's name to its symbol in the object."""
    import llvmlite.binding as llvm  # here, not at the top: loading LLVM costs ~35 ms of every import

    with _LOCK:
        module = _LOADED.get(key)
        if module is None:
            engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), _target_machine(llvm))
            engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
            engine.finalize_object()
            addresses = {}
            for name, symbol in symbols.items():
                addresses[name] = engine.get_function_address(symbol)
                if not addresses[name]:
                    raise RuntimeError(f"native function {symbol} is missing from its object code (cache entry "
                                       f"{key}); delete {cache_dir() / (key + '.o')} and run again")
            module = _LOADED[key] = LoadedModule(key, obj, addresses, engine)
        return module


def _target_machine(llvm):
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm.Target.from_default_triple().create_target_machine(reloc="static", codemodel="jitdefault")
