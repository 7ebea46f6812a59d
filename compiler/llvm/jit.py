"""Object code from LLVM IR text: optimize for the host CPU at O3 and emit an object file.

The target machine is built for this CPU's name and feature string, so the loop vectorizer sees the
real vector ISA; where the host has AVX-512 kernels carry "prefer-vector-width"="512" (LLVM otherwise
stays at 256-bit vectors on many AVX-512 parts). Object code is keyed by a SHA-256 of the IR text, the
target (triple, CPU, features), the optimization level, the llvmlite version and the cache's file format;
the runtime keeps it in its disk cache (runtime/native_loader.py), so a fresh process that builds the same
module skips LLVM entirely, and loads it into memory.
"""
from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass

import llvmlite
import llvmlite.binding as llvm

from ...runtime import native_loader

OPT_LEVEL = 3
STATS = {"compiles": 0, "disk_hits": 0, "memory_hits": 0}
_LOCK = threading.Lock()
_HOST: dict = {}


@dataclass(frozen=True)
class NativeObject:
    key: str  # names the object in the runtime's caches
    prefix: str  # what the placeholder in the function names became
    code: bytes
    source: str  # "memory" (loaded in this process), "disk" (the disk cache) or "compiled"


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


def cache_key(ir_text: str, name: str) -> str:
    h = host()
    parts = (ir_text, name, h["triple"], h["cpu"], h["features"], str(OPT_LEVEL), llvmlite.__version__,
             native_loader.FILE_FORMAT)  # a new file format gets new names: no version reads another's files
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


def object_code(ir_text: str, name: str, placeholder: str) -> NativeObject:
    """Object code for a module whose function names start with `placeholder` (replaced by a cache-keyed
    prefix): already loaded in this process, else from the runtime's disk cache, else ONE O3 compile (which
    is then written to that cache)."""
    key = cache_key(ir_text, name)
    prefix = symbol_for(name, key)
    with _LOCK:
        module = native_loader.loaded(key)
        if module is not None:
            STATS["memory_hits"] += 1
            return NativeObject(key, prefix, module.object_code, "memory")
        obj = native_loader.read_cached(key)
        if obj is not None:
            STATS["disk_hits"] += 1
            return NativeObject(key, prefix, obj, "disk")
        mod, tm = optimize(ir_text.replace(placeholder, prefix))
        obj = tm.emit_object(mod)
        STATS["compiles"] += 1
        native_loader.write_cached(key, obj)
        return NativeObject(key, prefix, obj, "compiled")


def optimized_ir(ir_text: str) -> str:
    """The IR after O3 (for TINYTORCH_DEBUG and for tests that look for vector code)."""
    return str(optimize(ir_text)[0])


def assembly(ir_text: str) -> str:
    mod, tm = optimize(ir_text)
    return tm.emit_assembly(mod)
