"""Lazy package namespaces: names loaded from their modules when first used (PEP 562).

``graphnn`` and ``graphnn.sparse3d`` export many names whose modules import
torch; with :func:`attach` a package lists them instead of importing them, so
importing the package (or a torch-free subpackage of it, such as
``graphnn.structure`` or ``graphnn.sparse3d.mesh``) stays cheap and
torch-free until a name that needs torch is used.

Examples
--------
>>> getattr_, dir_, all_ = attach("graphnn", ["structure"], {"validate": "graphnn.structure"})
>>> getattr_("validate").__name__, all_
('validate', ['structure', 'validate'])
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping

__all__ = ["attach"]


def attach(
    package: str, submodules: Iterable[str], names: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """Return ``__getattr__``, ``__dir__`` and ``__all__`` for a lazy package namespace.

    Parameters
    ----------
    package : str
        The package's name (``__name__``).
    submodules : iterable of str
        Subpackages and modules reached as ``package.<name>``.
    names : mapping of str to str
        Every other name, and the module it is imported from.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__, __all__)``: assign them in the package.
        A name, once loaded, is stored in the package's namespace.
    """
    submodules = tuple(submodules)
    exported = sorted([*submodules, *names])

    def __getattr__(name: str) -> object:
        if name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        elif name in names:
            value = getattr(importlib.import_module(names[name]), name)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exported})

    return __getattr__, __dir__, exported
