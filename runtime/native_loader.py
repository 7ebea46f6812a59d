"""Native object code: the disk cache of object files, and loading one into memory as callable functions.

The compiler turns a Program's LLVM module into object code (compiler/llvm/jit.py) and names it by a key
(a hash of the IR, the target and the versions). Here the runtime keeps those objects on disk under
$TINYTORCH_CACHE_DIR/llvm (so a fresh process skips LLVM), and maps an object into memory with one small
MCJIT engine, which stays alive, with its machine code, as long as a runner holds it: the table of loaded
modules holds them weakly, so a Program evicted from the cache frees its engine with its runners. While
loaded, a key is never loaded again: the same module compiled twice in one process shares one engine.

Trust model. Loading an object file runs its code, and a bad object file crashes LLVM (SIGSEGV, abort), so
nothing from the disk reaches `ObjectFileRef.from_data` unless this user's TinyTorch wrote it:
- The directory: `llvm/` and the TINYTORCH_CACHE_DIR above it must be directories owned by the current user,
  writable by that user and by no one else (made 0700 when we create them), as ssh and pip ask of theirs.
  Otherwise (foreign owner, group/world-writable, read-only, cannot be made) the disk cache is not used at
  all: every module compiles in memory, with one warning per process naming the directory and the fix.
- The file: `llvm/<key>.o` is MAGIC, then an HMAC-SHA256 of (key, NUL, object code), then the object code.
  The MAC's secret is `llvm/.key`, 32 random bytes made on first use, mode 0600, which must be ours and
  readable by no one else (else, as above, no disk cache). The MAC is checked over the whole file before
  loading; it binds the object to its key, so neither a planted object (the file name is a hash of public
  facts) nor a genuine entry renamed to another key is loaded. FILE_FORMAT is part of the key (the name),
  so an older TinyTorch sharing the directory never reads these files, nor this one its raw ones.
- On a mismatch (empty, truncated, garbage, flipped bytes, another key's or no MAC) the file is deleted,
  one warning names it and why, and the module is compiled again and rewritten: never a crash.
Writes go to a temp file (removed on every failure path; stale ones older than STALE_TMP_S are removed by
the next write) renamed into place. After a write, past TINYTORCH_CACHE_MAX_MB the least recently used
object files (by mtime: a disk hit touches its file) are deleted down to PRUNE_TO of the bound.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import pathlib
import stat
import tempfile
import threading
import time
import warnings
import weakref
from dataclasses import dataclass
from typing import Optional

from . import config

CACHE_SUBDIR = "llvm"
KEY_FILE = ".key"
FILE_FORMAT = "TTOBJ1"  # part of every cache key, so TinyTorch versions with other formats never share a file
MAGIC = FILE_FORMAT.encode() + b"\n\0"  # then the 32-byte MAC, then the object code
HEADER = len(MAGIC) + hashlib.sha256().digest_size
STALE_TMP_S = 300
PRUNE_TO = 0.8
_LOCK = threading.Lock()
_LOADED: "weakref.WeakValueDictionary[str, LoadedModule]" = weakref.WeakValueDictionary()
_RESIDENT: dict = {}  # key -> LoadedModule of the runtime's own code, never freed
_DISK_LOCK = threading.Lock()
_SECRETS: dict = {}  # cache dir -> its MAC secret, or None where the disk cache is not used (warned once)
_WRITE_WARNED: set = set()  # cache dirs whose failed write was warned about


class NativeCacheWarning(RuntimeWarning):
    """The disk cache of native object code skipped a file or a directory (the module compiles again)."""


class _Untrusted(Exception):
    """The cache directory or its key is not private to this user: says why."""


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


def read_cached(key: str) -> Optional[bytes]:
    """The cached object code for `key` if this user's TinyTorch wrote it for that key, else None (a file that
    fails the check is deleted, with one warning)."""
    directory = cache_dir()
    secret = _secret(directory)
    if secret is None:
        return None
    path = directory / f"{key}.o"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        return _discard(path, f"it cannot be read ({e.strerror})")
    problem = _check(secret, key, data)
    if problem:
        return _discard(path, problem)
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: pruning deletes the least recently used first
    return data[HEADER:]


def write_cached(key: str, obj: bytes) -> None:
    """Best effort, atomically (temp file + rename), with its MAC; then prune the cache to its bound. A cache
    that cannot be written only costs a recompile (one warning per process)."""
    directory = cache_dir()
    secret = _secret(directory)
    if secret is None:
        return
    try:
        _remove_stale_temps(directory)
        _write_atomically(directory / f"{key}.o", MAGIC + _mac(secret, key, obj) + obj)
        prune(directory, config.get("TINYTORCH_CACHE_MAX_MB") * 2**20)
    except OSError as e:
        if directory not in _WRITE_WARNED:
            _WRITE_WARNED.add(directory)
            warnings.warn(f"TinyTorch could not write its native object cache {directory} ({e}): each fresh "
                          f"process compiles these modules again", NativeCacheWarning, stacklevel=2)


def prune(directory: pathlib.Path, max_bytes: int) -> None:
    """Past `max_bytes` of object files, delete the least recently used ones down to PRUNE_TO of it."""
    files = []
    with os.scandir(directory) as it:
        for entry in it:
            if entry.name.endswith(".o") and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):  # another process pruned it
                    st = entry.stat(follow_symlinks=False)
                    files.append((st.st_mtime, st.st_size, entry.path))
    total = sum(size for _, size, _ in files)
    if total <= max_bytes:
        return
    for _, size, path in sorted(files):
        if total <= max_bytes * PRUNE_TO:
            break
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        total -= size


def _mac(secret: bytes, key: str, obj) -> bytes:
    mac = hmac.new(secret, key.encode() + b"\0", hashlib.sha256)
    mac.update(obj)
    return mac.digest()


def _check(secret: bytes, key: str, data: bytes) -> Optional[str]:
    """Why `data` is not an object file we wrote for `key`, or None when it is."""
    if not data:
        return "it is empty"
    if not data.startswith(MAGIC):
        return "it has no TinyTorch header: it is corrupt, or TinyTorch did not write it"
    if len(data) <= HEADER:
        return "it is truncated"
    if not hmac.compare_digest(data[len(MAGIC):HEADER], _mac(secret, key, memoryview(data)[HEADER:])):
        return "its MAC does not match: it is corrupt or truncated, or another key or user wrote it"
    return None


def _discard(path: pathlib.Path, why: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
    warnings.warn(f"TinyTorch discarded the native object cache file {path}: {why}; compiling it again",
                  NativeCacheWarning, stacklevel=3)
    return None


def _write_atomically(path: pathlib.Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:  # a full disk, an error or an interrupt: leave no temp file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _remove_stale_temps(directory: pathlib.Path) -> None:
    """Temp files a killed process left (a live writer renames its own within seconds)."""
    old = time.time() - STALE_TMP_S
    with os.scandir(directory) as it:
        for entry in it:
            if entry.name.endswith(".tmp"):
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat(follow_symlinks=False).st_mtime < old:
                        os.unlink(entry.path)


def _secret(directory: pathlib.Path) -> Optional[bytes]:
    """The MAC secret of cache dir `directory`, or None (warned once per dir) where it is not private."""
    with _DISK_LOCK:
        if directory not in _SECRETS:
            try:
                _SECRETS[directory] = _open_private(directory)
            except _Untrusted as e:
                _SECRETS[directory] = None
                warnings.warn(f"TinyTorch is not using its native object cache {directory}: {e}. Native "
                              f"modules compile in memory in this process; to cache them, make {directory} and "
                              f"{directory.parent} yours, writable by you alone (chmod 700), or point "
                              f"TINYTORCH_CACHE_DIR at such a directory", NativeCacheWarning, stacklevel=4)
    return _SECRETS[directory]


def _open_private(directory: pathlib.Path) -> bytes:
    """Make `directory` (0700) where missing, check it and its parent are private, and return the MAC secret."""
    try:
        directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.mkdir(mode=0o700, exist_ok=True)
    except OSError as e:
        raise _Untrusted(f"it cannot be created ({e.strerror})") from None
    for d in (directory.parent, directory):
        _check_private_dir(d)
    try:
        return _read_or_make_key(directory / KEY_FILE)
    except OSError as e:
        raise _Untrusted(f"its key file {directory / KEY_FILE} cannot be read or made ({e.strerror})") from None


def _check_private_dir(d: pathlib.Path) -> None:
    try:
        st = os.stat(d)
    except OSError as e:
        raise _Untrusted(f"{d} cannot be read ({e.strerror})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise _Untrusted(f"{d} is not a directory")
    _check_owner(d, st)
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise _Untrusted(f"{d} is writable by other users (mode {stat.S_IMODE(st.st_mode):o})")
    if not st.st_mode & stat.S_IWUSR or not os.access(d, os.W_OK | os.X_OK):
        raise _Untrusted(f"{d} is read-only")


def _check_owner(path, st) -> None:
    uid = os.getuid()
    if st.st_uid != uid:
        raise _Untrusted(f"{path} belongs to uid {st.st_uid}, not to you (uid {uid})")


def _read_or_make_key(path: pathlib.Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        _make_key(path)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        _check_owner(path, st)
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077:
            raise _Untrusted(f"its key file {path} is not a file private to you (mode "
                             f"{stat.S_IMODE(st.st_mode):o}): delete it")
        secret = f.read()
    if len(secret) != 32:
        raise _Untrusted(f"its key file {path} is damaged: delete it")
    return secret


def _make_key(path: pathlib.Path) -> None:
    """32 random bytes, mode 0600, linked into place so that a concurrent process keeps the first one made."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def load(key: str, obj: bytes, symbols: dict, resident: bool = False) -> LoadedModule:
    """Map `obj` into memory; `symbols` maps each function's name to its symbol in the object. `resident`:
    the runtime's own code for the life of the process (the float16 converter, `half.py`), kept apart from
    the Programs' modules, which live while a runner holds them."""
    import llvmlite.binding as llvm  # here, not at the top: loading LLVM costs ~35 ms of every import

    with _LOCK:
        table = _RESIDENT if resident else _LOADED
        module = table.get(key)
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
            module = table[key] = LoadedModule(key, obj, addresses, engine)
        return module


def _target_machine(llvm):
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm.Target.from_default_triple().create_target_machine(reloc="static", codemodel="jitdefault")
