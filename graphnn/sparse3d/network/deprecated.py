"""PySparseConvNet's camelCase methods on ``SparseNetwork``: deprecated, now in ``graphnn.compat``.

``SparseNetwork.addLeNetLayerMP`` and the other names of :data:`MOVED`
still work for one release: each warns (``DeprecationWarning``) and runs the
method of :class:`graphnn.compat.pysparseconvnet.SparseNetwork`, where they
live now.  They leave ``graphnn.sparse3d.SparseNetwork`` in graphnn 0.3.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

__all__ = ["MOVED", "add_moved_methods"]

#: PySparseConvNet's camelCase methods, moved to graphnn.compat.pysparseconvnet.SparseNetwork.
MOVED = (
    "addConvolutionalLayer",
    "addLeNetLayerMP",
    "addLeNetLayerPOFMP",
    "addLeNetLayerROFMP",
    "addSoftmaxLayer",
    "processDataset",
    "processDatasetRepeatTest",
)


def _moved(name: str) -> Callable:
    """Return the deprecated method ``name``: a warning, then the compat class's method."""

    def method(self, *args, **kwargs):
        warnings.warn(
            f"SparseNetwork.{name} is PySparseConvNet's name and moved to "
            "graphnn.compat.pysparseconvnet.SparseNetwork (also graphnn.compat.SparseNetwork); "
            "it leaves graphnn.sparse3d.SparseNetwork in graphnn 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        # the one upward import of the package, until the deprecated names go (tests allow it)
        from graphnn.compat.pysparseconvnet import PySparseConvNetMethods

        return getattr(PySparseConvNetMethods, name)(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Deprecated: use ``graphnn.compat.pysparseconvnet.SparseNetwork.{name}``."
    return method


def add_moved_methods(cls: type) -> type:
    """Give ``cls`` the deprecated method of every name of :data:`MOVED`; return it."""
    for name in MOVED:
        setattr(cls, name, _moved(name))
    return cls
