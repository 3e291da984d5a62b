"""Seeded random structures: ``graphnn.generators``.

The generators live in :mod:`graphnn.structure.generators`; this module is
their public name.

Examples
--------
>>> from graphnn import generators
>>> G = generators.randwire(16, "ws", seed=0)
>>> G.number_of_nodes()
18
"""

from graphnn.structure.generators import (
    barabasi_albert_dag,
    erdos_renyi_dag,
    layered,
    layered_edges,
    orient,
    random_dag,
    randwire,
    watts_strogatz_dag,
)

__all__ = [
    "barabasi_albert_dag",
    "erdos_renyi_dag",
    "layered",
    "layered_edges",
    "orient",
    "random_dag",
    "randwire",
    "watts_strogatz_dag",
]
