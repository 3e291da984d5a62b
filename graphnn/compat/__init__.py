"""The seed projects' names on graphnn: migrating a script means changing its imports.

* :mod:`~graphnn.compat.deepstruct` - pyPaddle / deepstruct: ``MaskedDeepFFN``,
  ``MaskedDeepDAN``, ``LayeredGraph``, ``CachedLayeredGraph``,
  ``MaskedLinearLayer``, ``maskable_layers``, ``prunable_layers``;
* :mod:`~graphnn.compat.pysparseconvnet` - PySparseConvNet: ``SparseNetwork``
  with its camelCase builder and workflow methods.

The core classes carry graphnn's own names only; these modules translate.

Examples
--------
>>> from graphnn.compat import MaskedDeepFFN, SparseNetwork
>>> MaskedDeepFFN(4, 2, [8, 8]).generate_structure().num_layers
2
>>> SparseNetwork(3, 1, 2).addLeNetLayerMP(8, 2, 1, 1, 1).addSoftmaxLayer().n_classes
2
"""

from graphnn.compat.deepstruct import (
    CachedLayeredGraph,
    LayeredGraph,
    MaskedDeepDAN,
    MaskedDeepFFN,
    MaskedLinearLayer,
    maskable_layers,
    prunable_layers,
)
from graphnn.compat.pysparseconvnet import SparseNetwork

__all__ = [
    "CachedLayeredGraph",
    "LayeredGraph",
    "MaskedDeepDAN",
    "MaskedDeepFFN",
    "MaskedLinearLayer",
    "SparseNetwork",
    "maskable_layers",
    "prunable_layers",
]
