"""Build and load graphnn's C kernels: compiled at first use with the machine's C compiler.

graphnn is installed as pure Python; a few CPU kernels ship as C source next
to the module that uses them (for example ``graphnn/sparse3d/ops/gather_conv.c``).
:func:`load` compiles such a source into a shared library the first time a
process needs it on a machine, caches the library on disk, and loads it with
:mod:`ctypes` (a ctypes call releases the GIL).  This is what Triton does with
its own launcher stubs: a C compiler is needed when the kernel is first used,
not when graphnn is installed.  Where none is found, or the build fails,
:func:`load` raises :class:`NativeBuildError` saying why, and the callers run
their torch path instead (see :func:`graphnn.nn.functional.backend`).

The library is built with ``-O3 -march=native``, so it is cached under a name
that hashes its sources, the compiler command and the CPU (its model and
feature flags): a cache directory shared by different machines never hands one
of them a library built for the other.

Environment
-----------
``GRAPHNN_NATIVE=0``
    Never build or use a native kernel; the torch paths run.
``GRAPHNN_CACHE_DIR``
    Where the built libraries are kept (default ``$XDG_CACHE_HOME/graphnn``,
    else ``~/.cache/graphnn``, else, when that cannot be written, a
    ``graphnn-<uid>`` folder in the temp dir); the files go into its
    ``native`` folder.
``CC``
    The C compiler (default: the first of ``cc``, ``gcc``, ``clang`` found).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from graphnn.exceptions import NativeBuildError

__all__ = ["NativeBuildError", "cache_dir", "enabled", "load"]

#: Flags of every build; ``-march=native`` is dropped when the compiler refuses it.
_FLAGS = (
    "-O3",
    "-std=gnu11",
    "-ffp-contract=fast",  # a += b * c is one fused multiply-add, the same in every code path
    "-fno-strict-aliasing",  # rows of floats are read as vectors of floats
    "-fPIC",
    "-shared",
    "-pthread",
)
_ARCH = "-march=native"

_loaded: dict[tuple[str, str], ctypes.CDLL] = {}
_lock = threading.Lock()


def enabled() -> bool:
    """Return False when ``GRAPHNN_NATIVE=0`` turns the native kernels off.

    Examples
    --------
    >>> isinstance(enabled(), bool)
    True
    """
    return os.environ.get("GRAPHNN_NATIVE", "1").strip() != "0"


def cache_dir() -> Path:
    """Return the folder the built libraries are kept in (see the module notes).

    Examples
    --------
    >>> cache_dir().name
    'native'
    """
    root = os.environ.get("GRAPHNN_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "native"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "graphnn" / "native"


def _writable_cache_dir() -> Path:
    """Return :func:`cache_dir`, created; a folder in the temp dir when the default is not writable.

    A ``GRAPHNN_CACHE_DIR`` that cannot be created is an error (it was asked for).
    """
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
        problem = "not writable"
    except OSError as error:
        problem = str(error)
    if os.environ.get("GRAPHNN_CACHE_DIR"):
        raise NativeBuildError(f"cannot create the cache folder {folder}: {problem}")
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    fallback = Path(tempfile.gettempdir()) / f"graphnn-{uid}" / "native"
    try:
        fallback.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise NativeBuildError(
            f"cannot create the cache folder {folder} ({problem}) nor {fallback} ({error})"
        ) from error
    return fallback


def load(package: str, source: str, depends: Sequence[str] = ()) -> ctypes.CDLL:
    """Return the shared library built from ``source`` in ``package``, building it if needed.

    Parameters
    ----------
    package : str
        The package the C files belong to, e.g. ``"graphnn.sparse3d.ops"``.
    source : str
        The C file compiled, e.g. ``"gather_conv.c"``.
    depends : sequence of str
        Files of the same package that ``source`` includes; they are part of
        the cache key.

    Returns
    -------
    ctypes.CDLL
        Loaded once per process (later calls return the same object).

    Raises
    ------
    NativeBuildError
        If native kernels are turned off (``GRAPHNN_NATIVE=0``), no C
        compiler is found, the compiler fails (its command and messages are
        in the error), or the library does not load.

    Examples
    --------
    >>> lib = load("graphnn.sparse3d.ops", "gather_conv.c", ["gather_conv_body.h"])
    >>> lib is load("graphnn.sparse3d.ops", "gather_conv.c", ["gather_conv_body.h"])
    True
    """
    if not enabled():
        raise NativeBuildError("native kernels are turned off (GRAPHNN_NATIVE=0)")
    key = (package, source)
    with _lock:
        lib = _loaded.get(key)
        if lib is None:
            lib = _loaded[key] = _build_and_load(package, source, tuple(depends))
        return lib


def _compiler() -> list[str]:
    cc = os.environ.get("CC")
    if cc:
        command = shlex.split(cc)
        if not command or shutil.which(command[0]) is None:
            raise NativeBuildError(f"the C compiler CC={cc!r} was not found")
        return command
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return [path]
    raise NativeBuildError("no C compiler found (tried CC, cc, gcc, clang)")


def _cpu_signature() -> str:
    """Return the CPU's model and feature flags (what ``-march=native`` depends on)."""
    lines = [platform.machine(), platform.processor()]
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                name = line.split(":", 1)[0].strip().lower()
                if name in ("model name", "flags", "features", "cpu part", "cpu implementer"):
                    lines.append(line.strip())
                if not line.strip() and len(lines) > 2:
                    break  # the first processor tells
    except OSError:
        pass
    return "\n".join(lines)


def _build_and_load(package: str, source: str, depends: tuple[str, ...]) -> ctypes.CDLL:
    files = resources.files(package)
    texts = []
    for name in (source, *depends):
        try:
            texts.append((name, files.joinpath(name).read_bytes()))
        except (FileNotFoundError, OSError) as error:
            raise NativeBuildError(f"{package}/{name} is missing from the installation") from error
    cc = _compiler()
    digest = hashlib.sha256()
    for name, text in texts:
        digest.update(name.encode() + b"\0" + text + b"\0")
    digest.update(repr((cc, _FLAGS, _ARCH)).encode() + _cpu_signature().encode())
    stem = Path(source).stem
    name = f"{stem}-{digest.hexdigest()[:20]}{_suffix()}"
    target = _writable_cache_dir() / name
    if not target.exists():
        _compile(cc, package, texts, target)
    try:
        return ctypes.CDLL(str(target))
    except OSError as error:
        raise NativeBuildError(f"the built library {target} does not load: {error}") from error


def _suffix() -> str:
    system = platform.system()
    return ".dll" if system == "Windows" else ".dylib" if system == "Darwin" else ".so"


def _compile(cc: list[str], package: str, texts: list, target: Path) -> None:
    """Compile into ``target`` (written under a temporary name, then renamed: atomic)."""
    with tempfile.TemporaryDirectory(prefix="graphnn-build-") as tmp:
        folder = Path(tmp) / package.replace(".", "/")
        folder.mkdir(parents=True)
        for name, text in texts:
            (folder / name).write_bytes(text)
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        errors = []
        for flags in ((*_FLAGS, _ARCH), _FLAGS):
            command = [*cc, *flags, str(folder / texts[0][0]), "-o", str(partial)]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=300)
            except (OSError, subprocess.TimeoutExpired) as error:
                raise NativeBuildError(f"{shlex.join(command)} could not run: {error}") from error
            if done.returncode == 0:
                os.replace(partial, target)
                return
            errors.append(f"$ {shlex.join(command)}\n{done.stderr.strip()}")
        partial.unlink(missing_ok=True)
    shown = "\n".join(errors[-1].splitlines()[:25])
    raise NativeBuildError(f"the C compiler failed on {package}/{texts[0][0]}:\n{shown}")
