"""graphnn: sparse neural networks seen as graphs.

Every model is a networkx DAG.  This top-level namespace re-exports the
structure API (:mod:`graphnn.structure`), the error hierarchy
(:mod:`graphnn.exceptions`) and the compiler (:func:`compile`,
:mod:`graphnn.nn`); random structures are in :mod:`graphnn.generators`,
hypothesis strategies in :mod:`graphnn.strategies`, pruning in
:mod:`graphnn.prune`, sparse 3D networks in :mod:`graphnn.sparse3d` and the
seed projects' names in :mod:`graphnn.compat`.

Every name is loaded when first used (a module ``__getattr__``), so
``import graphnn`` and the torch-free parts (``graphnn.structure``,
``graphnn.generators``, ``graphnn.strategies``, ``graphnn.sparse3d.mesh``)
never import torch; ``graphnn.compile`` and the other model names do.

Examples
--------
>>> import networkx as nx
>>> import graphnn
>>> graphnn.layers(nx.DiGraph([("x", "h"), ("h", "y"), ("x", "y")]))
[['x'], ['h'], ['y']]
"""

from __future__ import annotations

from importlib import metadata

from graphnn._lazy import attach

try:
    __version__ = metadata.version("graphnn")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

#: The subpackages and modules a user reaches as ``graphnn.<name>``.
_SUBMODULES = (
    "backends",
    "compat",
    "datasets",
    "exceptions",
    "generators",
    "nn",
    "prune",
    "sparse3d",
    "strategies",
    "structure",
)
#: Every other public name, and the module it comes from.
_NAMES = {
    **dict.fromkeys(
        (
            "CommandError",
            "DatasetError",
            "GraphMLError",
            "GraphnnError",
            "MeshError",
            "NativeBuildError",
            "NetworkGraphError",
            "OFFError",
            "SparseDataError",
            "StructureError",
        ),
        "graphnn.exceptions",
    ),
    **dict.fromkeys(("MaskedDAG", "MaskedFFN", "MaskedLinear", "compile"), "graphnn.nn"),
    **dict.fromkeys(
        (
            "ACTIVATION",
            "BIAS",
            "HIDDEN",
            "INPUT",
            "LAYER",
            "OUTPUT",
            "ROLE",
            "ROLES",
            "WEIGHT",
            "DegreeStats",
            "StructureSummary",
            "add_skip_connections",
            "assert_graphs_equal",
            "dead_units",
            "graphs_equal",
            "inputs",
            "layer_index",
            "layers",
            "outputs",
            "read_graphml",
            "relabel",
            "remove_dead_units",
            "remove_edges",
            "remove_nodes",
            "roles",
            "summary",
            "validate",
            "values_equal",
            "write_graphml",
        ),
        "graphnn.structure",
    ),
}

__getattr__, __dir__, __all__ = attach(__name__, _SUBMODULES, _NAMES)
__all__ = ["__version__", *__all__]
