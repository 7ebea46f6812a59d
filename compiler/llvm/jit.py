"""Native code from LLVM IR text: optimize for the host CPU at O3, cache object code on disk, load it.

The target machine is built for this CPU's name and feature string, so the loop vectorizer sees the
real vector ISA; where the host has AVX-512 kernels carry "prefer-vector-width"="512" (LLVM otherwise
stays at 256-bit vectors on many AVX-512 parts). Object code is cached under
$TINYTORCH_CACHE_DIR/llvm or ~/.cache/tinytorch/llvm, keyed by a SHA-256 of the IR text, the target
(triple, CPU, features), the optimization level and the llvmlite version, so a fresh process that
builds the same kernel skips LLVM entirely. Each loaded object gets its own small MCJIT engine, which
stays alive as long as the returned `Loaded` does.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
import re
import tempfile
import threading
from dataclasses import dataclass

import llvmlite
import llvmlite.binding as llvm

OPT_LEVEL = 3
CACHE_ENV = "TINYTORCH_CACHE_DIR"
STATS = {"compiles": 0, "disk_hits": 0, "memory_hits": 0}
_LOCK = threading.Lock()
_MEMORY: dict[str, "Loaded"] = {}
_HOST: dict = {}


@dataclass
class Loaded:
    address: int
    symbol: str
    key: str
    engine: object  # keeps the machine code mapped


def host() -> dict:
    """Triple, CPU name and features of this machine (computed once)."""
    if not _HOST:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        feats = llvm.get_host_cpu_features()
        _HOST.update(triple=llvm.get_process_triple(), cpu=llvm.get_host_cpu_name(),
                     features=feats.flatten(), avx512=bool(feats.get("avx512f")))
    return _HOST


def function_attributes() -> tuple[str, ...]:
    """Raw LLVM function attributes for every kernel on this host."""
    return ('"prefer-vector-width"="512"',) if host()["avx512"] else ()


def target_machine():
    h = host()
    target = llvm.Target.from_triple(h["triple"])
    return target.create_target_machine(cpu=h["cpu"], features=h["features"], opt=OPT_LEVEL,
                                        reloc="static", codemodel="jitdefault")


def cache_dir() -> pathlib.Path:
    root = os.environ.get(CACHE_ENV) or pathlib.Path.home() / ".cache" / "tinytorch"
    return pathlib.Path(root) / "llvm"


def cache_key(ir_text: str, name: str) -> str:
    h = host()
    parts = (ir_text, name, h["triple"], h["cpu"], h["features"], str(OPT_LEVEL), llvmlite.__version__)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def symbol_for(name: str, key: str) -> str:
    return f"tt_{re.sub(r'[^A-Za-z0-9_]', '_', name)[:48]}_{key[:16]}"


def optimize(ir_text: str):
    """Parse, verify and run the O3 pipeline (with both vectorizers) for the host; returns (module, tm)."""
    tm = target_machine()
    mod = llvm.parse_assembly(ir_text)
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    mod.verify()
    pto = llvm.create_pipeline_tuning_options(speed_level=OPT_LEVEL)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pto.loop_unrolling = False  # unrolling vectorized loops triples machine-code size and compile time for
    # little gain: the vectorizer's interleaving already runs several vectors per iteration
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    return mod, tm


def _object_code(key: str, name: str, ir_text: str, placeholder: str):
    """(symbol prefix, object code, from disk): the disk cache, else one O3 compile written to it."""
    prefix = symbol_for(name, key)
    path = cache_dir() / f"{key}.o"
    try:
        obj = path.read_bytes()
        STATS["disk_hits"] += 1
        return prefix, obj, True
    except OSError:
        mod, tm = optimize(ir_text.replace(placeholder, prefix))
        obj = tm.emit_object(mod)
        STATS["compiles"] += 1
        _write_atomic(path, obj)
        return prefix, obj, False


def _engine(obj: bytes):
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), target_machine())
    engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
    engine.finalize_object()
    return engine


def compile_ir(ir_text: str, name: str, placeholder: str) -> Loaded:
    """Machine code for `ir_text`, whose one function is named `placeholder`; memory, then disk cache."""
    key = cache_key(ir_text, name)
    with _LOCK:
        if key in _MEMORY:
            STATS["memory_hits"] += 1
            return _MEMORY[key]
        symbol, obj, _ = _object_code(key, name, ir_text, placeholder)
        loaded = _load(obj, symbol, key)
        _MEMORY[key] = loaded
        return loaded


def optimized_ir(ir_text: str) -> str:
    """The IR after O3 (for TINYTORCH_DEBUG and for tests that look for vector code)."""
    return str(optimize(ir_text)[0])


def assembly(ir_text: str) -> str:
    mod, tm = optimize(ir_text)
    return tm.emit_assembly(mod)


def _load(obj: bytes, symbol: str, key: str) -> Loaded:
    engine = _engine(obj)
    address = engine.get_function_address(symbol)
    if not address:
        raise RuntimeError(f"native kernel {symbol} is missing from its object code (cache entry {key})")
    return Loaded(address, symbol, key, engine)


def _write_atomic(path: pathlib.Path, data: bytes) -> None:
    """Best effort: a cache that cannot be written only costs a recompile next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        pass


@dataclass
class LoadedModule:
    addresses: dict  # function name (as given, with the placeholder prefix) -> address
    key: str
    engine: object
    from_disk: bool


def compile_module(ir_text: str, name: str, placeholder: str, functions: list) -> LoadedModule:
    """Machine code for a module of many functions whose names start with `placeholder` (replaced by a
    cache-keyed prefix): ONE optimization pipeline, one object file, one MCJIT engine for all of them."""
    key = cache_key(ir_text, name)
    mkey = "module:" + key
    with _LOCK:
        if mkey in _MEMORY:
            STATS["memory_hits"] += 1
            return _MEMORY[mkey]
        prefix, obj, from_disk = _object_code(key, name, ir_text, placeholder)
        engine = _engine(obj)
        addresses = {}
        for f in functions:
            addr = engine.get_function_address(f.replace(placeholder, prefix))
            if not addr:
                raise RuntimeError(f"native function {f} is missing from its object code (cache entry {key})")
            addresses[f] = addr
        loaded = LoadedModule(addresses, key, engine, from_disk)
        _MEMORY[mkey] = loaded
        return loaded
