"""Which kernels run a sparse product: the backend switch, and the rule of every dispatch point.

graphnn has one dispatch point per operation (the masked product in
:mod:`graphnn.nn.functional`, the sparse convolution in
:mod:`graphnn.sparse3d.ops`, pooling and kernel-map look-ups beside it).
Each asks this module which implementation runs on its tensors:

* :func:`use_triton` - graphnn's Triton kernels (:mod:`triton_kernels`): by
  default on CUDA tensors when triton is importable;
* :func:`use_native` - a native C kernel (compiled at first use by
  :mod:`graphnn._native`): by default on CPU tensors when it builds (one
  warning when it does not, then the torch path);
* otherwise the plain torch path, the reference the others are tested against.

:func:`backend` forces one of them inside a ``with`` block.  Nothing here
imports triton or a kernel: they are imported by the dispatch points, when
they run.

Examples
--------
>>> import torch
>>> use_triton(torch.ones(1))  # a CPU tensor: no Triton kernel by default
False
>>> with backend("torch"):
...     current()
'torch'
>>> current()
'auto'
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from graphnn import _native
from graphnn.exceptions import NativeBuildError

if TYPE_CHECKING:
    import torch

__all__ = [
    "BACKENDS",
    "NativeKernel",
    "backend",
    "current",
    "triton_available",
    "triton_module",
    "use_native",
    "use_triton",
]

#: ``auto``: Triton kernels on CUDA devices when triton imports; on the CPU the native kernels
#: where they build, torch ops elsewhere.  ``torch``: the torch path everywhere (the reference).
BACKENDS = ("auto", "torch", "triton", "native")
_backend = "auto"
_warned: set[str] = set()


@contextmanager
def backend(name: str) -> Iterator[None]:
    """Run the sparse products inside the ``with`` block on the backend ``name``.

    Parameters
    ----------
    name : {"auto", "torch", "triton", "native"}
        ``"triton"`` uses graphnn's kernels whatever the device (on the CPU
        they need ``TRITON_INTERPRET=1`` set before triton is imported).
        ``"torch"`` runs plain torch ops everywhere (the reference path).
        ``"native"`` requires graphnn's native CPU kernels where an
        operation has one (the sparse 3D convolution; CPU only, an error if
        it cannot be built); operations without one run on torch.

    Raises
    ------
    ValueError
        For an unknown name.
    ImportError
        For ``"triton"`` when triton cannot be imported.

    Examples
    --------
    >>> with backend("torch"):
    ...     pass
    """
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {name!r}")
    if name == "triton" and not triton_available():
        raise ImportError("the triton backend needs the triton package (Linux x86_64)")
    previous, _backend = _backend, name
    try:
        yield
    finally:
        _backend = previous


def current() -> str:
    """Return the backend chosen now: ``"auto"`` unless a :func:`backend` block says otherwise."""
    return _backend


@cache
def triton_available() -> bool:
    """Whether the triton package can be imported (looked up once, without importing it)."""
    return importlib.util.find_spec("triton") is not None


def use_triton(t: torch.Tensor) -> bool:
    """Whether graphnn's Triton kernels run on ``t``.

    Raises
    ------
    RuntimeError
        Under ``backend("triton")`` for a tensor off CUDA when Triton's
        interpreter is not on (``TRITON_INTERPRET=1``).
    """
    if _backend == "auto":
        return t.is_cuda and triton_available()
    if _backend == "triton" and not t.is_cuda and os.environ.get("TRITON_INTERPRET") != "1":
        raise RuntimeError(
            f"the Triton kernels need a CUDA device, or Triton's interpreter for tensors on "
            f"{t.device}: set TRITON_INTERPRET=1 before triton is imported"
        )
    return _backend == "triton"


def triton_module(name: str, t: torch.Tensor) -> ModuleType | None:
    """Return ``triton_kernels.<name>`` when the Triton kernels run on ``t``, else None.

    Under ``auto`` a kernel module that fails to import means the torch path
    runs; under ``backend("triton")`` the ``ImportError`` is raised.
    """
    if not use_triton(t):
        return None
    try:
        return importlib.import_module(f"triton_kernels.{name}")
    except ImportError:
        if _backend == "triton":
            raise
        return None


class NativeKernel(Protocol):
    """A native kernel module, as :func:`use_native` asks it (``graphnn.sparse3d.ops.native``)."""

    #: What the kernel computes, for the messages ("sparse-convolution kernel").
    KERNEL: str

    def available(self) -> bool:
        """Whether the kernel is built and loaded (built at the first call)."""

    def build_error(self) -> str | None:
        """Why it is not available, or None."""


def use_native(t: torch.Tensor, kernel: NativeKernel) -> bool:
    """Whether the native ``kernel`` runs on ``t`` (ask after :func:`use_triton` said no).

    Under ``auto`` it runs on CPU tensors when it builds; when it does not
    (no C compiler, ...) a ``RuntimeWarning`` says why, once per kernel, and
    the torch path runs.  ``GRAPHNN_NATIVE=0`` turns it off silently.

    Raises
    ------
    ValueError
        Under ``backend("native")``, for a tensor off the CPU.
    NativeBuildError
        Under ``backend("native")``, when the kernel cannot be built.
    """
    if _backend == "native":
        if t.device.type != "cpu":
            raise ValueError(f"the native backend runs on the CPU; the tensors are on {t.device}")
        if not kernel.available():
            raise NativeBuildError(
                kernel.build_error() or f"the native {kernel.KERNEL} did not load"
            )
        return True
    if _backend != "auto" or t.device.type != "cpu" or not _native.enabled():
        return False
    if kernel.available():
        return True
    if kernel.KERNEL not in _warned:
        _warned.add(kernel.KERNEL)
        warnings.warn(
            f"graphnn's native {kernel.KERNEL} is not used, the torch path runs (slower); set "
            f"GRAPHNN_NATIVE=0 to silence this. {kernel.build_error()}",
            RuntimeWarning,
            stacklevel=5,
        )
    return False
