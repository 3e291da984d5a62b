"""``SparseNetwork``: sparse voxel networks held as a networkx DAG of layer nodes.

:class:`SparseNetwork` (:mod:`~graphnn.sparse3d.network.model`) holds the
layer graph, its modules and the builder of
:mod:`~graphnn.sparse3d.network.builder`; the ops a node may have are in
:mod:`~graphnn.sparse3d.network.nodes`, the rules of the layer graph in
:mod:`~graphnn.sparse3d.network.layer_graph`, the channel-level graph and
channel pruning in :mod:`~graphnn.sparse3d.network.channel_graph`, weights
and files in :mod:`~graphnn.sparse3d.network.weights`, and ready-made
architectures (:func:`deep_c2`) in :mod:`~graphnn.sparse3d.network.architectures`.

Examples
--------
>>> from graphnn.sparse3d.network import deep_c2
>>> deep_c2(10, width=4).input_spatial_size()
126
"""

from graphnn.sparse3d.network.architectures import deep_c2
from graphnn.sparse3d.network.model import LayerActivation, SparseNetwork
from graphnn.sparse3d.network.nodes import ACTIVATIONS, OPS, ChannelMaskedLinear

__all__ = [
    "ACTIVATIONS",
    "OPS",
    "ChannelMaskedLinear",
    "LayerActivation",
    "SparseNetwork",
    "deep_c2",
]
