r"""``SparseNetwork``: a sparse voxel network that is a networkx DAG of layer nodes.

The network *is* its graph: :attr:`SparseNetwork.graph` is a
``networkx.DiGraph`` whose nodes are the layers (``"input"``, ``"L0"``,
``"L1"``, ...) and whose edges are the tensors between them.  Every node has
an ``op`` and its hyper-parameters as plain attributes, every node and edge
its number of ``channels``:

=====================  ==============================================  =======================
``op``                 attributes (besides ``channels``)               module
=====================  ==============================================  =======================
``input``              --                                              --
``submanifold_conv``   ``kernel_size``                                 ``SubmanifoldConv3d``
``conv``               ``kernel_size``, ``stride``,                    ``SparseConv3d``, no
                       ``min_active_inputs``                           padding (valid)
``max_pool``           ``kernel_size``, ``stride``                     ``SparseMaxPool3d``
``avg_pool``           ``kernel_size``, ``stride``                     ``SparseAvgPool3d``
``batch_norm``         --                                              ``SparseBatchNorm``
``activation``         ``function`` (``relu``, ``leakyrelu``,          ``SparseReLU``, ...
                       ``vleakyrelu``, ``prelu``, ``tanh``,
                       ``sigmoid``)
``dropout``            ``p``                                           ``SparseDropout``
``global_max_pool``    --                                              ``SparseGlobalMaxPool``
``global_avg_pool``    --                                              ``SparseGlobalAvgPool``
``linear``             --                                              ``nn.Linear`` (masked)
``add``, ``concat``    edges carry ``port`` (input order)              -- (residual / merge)
=====================  ==============================================  =======================

Builders (:meth:`SparseNetwork.add_conv`, :meth:`~SparseNetwork.add_lenet_mp`,
..., with PySparseConvNet's camelCase names) append nodes; after editing the
graph by hand, :meth:`SparseNetwork.recompile` rebuilds the modules and keeps
those of the nodes whose op, hyper-parameters and channel counts did not
change.  :meth:`~SparseNetwork.to_graph` gives the layer graph or the
channel-level graph (see :mod:`graphnn.sparse3d.network_graph`), and
:meth:`~SparseNetwork.from_graph` builds a network back from a layer graph.

Spatial sizes follow SparseConvNet: a valid convolution of size ``f`` and
stride ``s`` needs ``f + (out - 1) s`` input positions per axis, a pooling
of size ``p`` and stride ``s`` needs ``p + (out - 1) s``, and the other
layers keep the size (:meth:`SparseNetwork.input_spatial_size`).

Examples
--------
>>> import torch
>>> from graphnn.sparse3d import SparseDataset
>>> net = SparseNetwork(in_features=1, n_classes=2)
>>> _ = net.add_conv(4, 3).add_lenet_mp(8, 2, 1, 3, 2).add_lenet_mp(8, 2, 1, 1, 1)
>>> net.add_classifier().input_spatial_size()
6
>>> list(net.graph)
['input', 'L0', 'L1', 'L2', 'L3', 'L4', 'L5', 'L6', 'L7', 'L8']
>>> data = SparseDataset.shapes(1, 5, classes=["box", "torus"], seed=0, spatial_size=6)
>>> net(next(iter(data.loader(batch_size=2)))).shape
torch.Size([2, 2])
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Hashable, Iterator, Sequence

import networkx as nx
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from graphnn.sparse3d.batch import SparseBatch
from graphnn.sparse3d.conv import SparseConv3d, SubmanifoldConv3d
from graphnn.sparse3d.layers import (
    SparseBatchNorm,
    SparseDropout,
    SparseLeakyReLU,
    SparsePReLU,
    SparseReLU,
    SparseSigmoid,
    SparseTanh,
    SparseVeryLeakyReLU,
)
from graphnn.sparse3d.pool import (
    SparseAvgPool3d,
    SparseGlobalAvgPool,
    SparseGlobalMaxPool,
    SparseMaxPool3d,
)
from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = ["ACTIVATIONS", "OPS", "LayerActivation", "ChannelMaskedLinear", "SparseNetwork"]

#: Activation names of the ``activation`` op (SparseConvNet's upper-case names are accepted).
ACTIVATIONS: dict[str, Callable[[int], nn.Module]] = {
    "relu": lambda c: SparseReLU(),
    "leakyrelu": lambda c: SparseLeakyReLU(),
    "vleakyrelu": lambda c: SparseVeryLeakyReLU(),
    "prelu": lambda c: SparsePReLU(c),
    "tanh": lambda c: SparseTanh(),
    "sigmoid": lambda c: SparseSigmoid(),
}
#: Names meaning "no activation" in the builders.
_NO_ACTIVATION = ("none", "nosigmoid", "identity", "")

_CONVS = ("submanifold_conv", "conv")
#: Ops with a weight ``[.., C_in, C_out]`` and a ``channel_mask [C_in, C_out]``.
WEIGHT_OPS = (*_CONVS, "linear")
_POOLS = ("max_pool", "avg_pool")
_GLOBAL = ("global_max_pool", "global_avg_pool")
_MERGE = ("add", "concat")
#: Every op a node may have.
OPS = ("input", *WEIGHT_OPS, *_POOLS, "batch_norm", "activation", "dropout", *_GLOBAL, *_MERGE)
#: The hyper-parameters of each op (besides ``channels``), as node attributes.
_PARAMS = {
    "submanifold_conv": ("kernel_size",),
    "conv": ("kernel_size", "stride", "min_active_inputs"),
    "max_pool": ("kernel_size", "stride"),
    "avg_pool": ("kernel_size", "stride"),
    "activation": ("function",),
    "dropout": ("p",),
}
_FORMAT = "graphnn-sparse-network"


class ChannelMaskedLinear(nn.Linear):
    """``torch.nn.Linear`` with a boolean ``channel_mask [in, out]`` (the conv layers' layout).

    The weight used is ``weight * channel_mask.T``, so masked connections get
    no gradient.

    Examples
    --------
    >>> layer = ChannelMaskedLinear(3, 2)
    >>> layer.channel_mask[:, 1] = False
    >>> bool((layer(torch.ones(1, 3))[0, 1] == layer.bias[1]).item())
    True
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias)
        self.register_buffer("channel_mask", torch.ones(in_features, out_features, dtype=bool))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x (weight * channel_mask.T)^T + bias``."""
        return F.linear(x, self.weight * self.channel_mask.T, self.bias)


@dataclasses.dataclass
class LayerActivation:
    """The output of one layer node, from :meth:`SparseNetwork.layer_activations`.

    Attributes
    ----------
    name : str
        The node.
    op : str
    coords : torch.Tensor
        ``int32 [N, 4]`` active sites ``(batch, x, y, z)``; after a global
        pooling or a linear layer one site ``(b, 0, 0, 0)`` per sample.
    features : torch.Tensor
        ``[N, C]``.
    spatial_shape : tuple of 3 ints
        ``(1, 1, 1)`` after a global pooling.
    """

    name: str
    op: str
    coords: torch.Tensor
    features: torch.Tensor
    spatial_shape: tuple[int, int, int]


def _positive_int(name: str, value: object, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _probability(name: str, p: object) -> float:
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p < 1:
        raise ValueError(f"{name} (a dropout probability) must lie in [0, 1), got {p!r}")
    return float(p)


def _activation_name(name: str | None) -> str | None:
    if name is None or (isinstance(name, str) and name.lower() in _NO_ACTIVATION):
        return None
    if not isinstance(name, str) or name.lower() not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; use one of {', '.join(ACTIVATIONS)} or None"
        )
    return name.lower()


def _build_module(op: str, attrs: dict, c_in: int) -> nn.Module | None:
    c_out = attrs["channels"]
    if op == "submanifold_conv":
        return SubmanifoldConv3d(c_in, c_out, attrs["kernel_size"])
    if op == "conv":
        return SparseConv3d(
            c_in,
            c_out,
            attrs["kernel_size"],
            attrs["stride"],
            padding=0,
            min_active_inputs=attrs["min_active_inputs"],
        )
    if op in _POOLS:
        pool = SparseMaxPool3d if op == "max_pool" else SparseAvgPool3d
        return pool(attrs["kernel_size"], attrs["stride"])
    if op == "batch_norm":
        return SparseBatchNorm(c_in)
    if op == "activation":
        return ACTIVATIONS[_activation_name(attrs["function"])](c_in)
    if op == "dropout":
        return SparseDropout(attrs["p"])
    if op in _GLOBAL:
        return SparseGlobalMaxPool() if op == "global_max_pool" else SparseGlobalAvgPool()
    if op == "linear":
        return ChannelMaskedLinear(c_in, c_out)
    return None  # input, add, concat


class SparseNetwork(nn.Module):
    r"""A sparse convolutional network built layer by layer, that is also its layer graph.

    Parameters
    ----------
    dimension : int, default 3
        Only 3 (voxels) is supported.
    in_features : int, default 1
        Channels of the input tensor (``SparseDataset(features=...)``).
    n_classes : int, optional
        Outputs of the classifier added by :meth:`add_classifier`.

    Attributes
    ----------
    graph : networkx.DiGraph
        The layer graph (see the module notes); edit it, then call
        :meth:`recompile`.
    layers : torch.nn.ModuleDict
        The module of every node that has one, keyed by node name.

    Notes
    -----
    ``forward(x)`` takes a :class:`~graphnn.sparse3d.tensor.SparseVoxelTensor`
    or a :class:`~graphnn.sparse3d.batch.SparseBatch` with ``in_features``
    channels on a grid of at least :meth:`input_spatial_size` positions per
    axis (a larger grid is accepted: the valid convolutions drop a border
    that does not fill a window, as ``torch``'s convolutions do, and the
    classifier pools whatever sites remain).  It returns logits ``[B,
    n_classes]`` once a classifier is added, the sink node's output (a
    sparse tensor) otherwise.

    Examples
    --------
    >>> net = SparseNetwork(in_features=1, n_classes=10)
    >>> for i in range(6):  # SparseConvNet's DeepC2
    ...     _ = net.add_lenet_mp(32 * (i + 1), 2, 1, 3 if i < 5 else 1, 2 if i < 5 else 1)
    >>> net.add_softmax().input_spatial_size()
    126
    """

    def __init__(self, dimension: int = 3, in_features: int = 1, n_classes: int | None = None):
        super().__init__()
        if dimension != 3:
            raise ValueError(f"SparseNetwork supports dimension 3 only, got {dimension!r}")
        self.in_features = _positive_int("in_features", in_features)
        self.n_classes = None if n_classes is None else _positive_int("n_classes", n_classes)
        self.graph = nx.DiGraph(dimension=3, in_features=self.in_features)
        self.graph.add_node("input", op="input", channels=self.in_features)
        self.layers = nn.ModuleDict()
        self._signatures: dict[str, tuple] = {}
        self._pending: tuple[nx.DiGraph, str] | None = None
        self.recompile()

    # --- building ------------------------------------------------------------------------

    @property
    def output_node(self) -> str:
        """The sink of the graph: the node whose output the network returns."""
        return self._sink

    @property
    def output_channels(self) -> int:
        """The channels of the output node."""
        return self.graph.nodes[self._sink]["channels"]

    def _new_name(self) -> str:
        i = self.graph.number_of_nodes() - 1
        while f"L{i}" in self.graph:
            i += 1
        return f"L{i}"

    def _snapshot(self) -> None:
        if self._pending is None:
            self._pending = (self.graph.copy(), self._sink)

    def _commit(self) -> SparseNetwork:
        """Recompile after a builder's edit; on an error give back the graph before it."""
        try:
            self.recompile()
        except BaseException:
            if self._pending is not None:
                self.graph, self._sink = self._pending
            raise
        finally:
            self._pending = None
        return self

    def _append(self, op: str, channels: int | None = None, **params) -> str:
        self._snapshot()
        pooled = any(self.graph.nodes[v]["op"] in _GLOBAL for v in self.graph)
        if pooled and op not in ("linear", "dropout", "activation"):
            raise ValueError(f"cannot add a {op} layer after the classifier's global pooling")
        tail = self._sink
        name = self._new_name()
        c = self.output_channels if channels is None else channels
        self.graph.add_node(name, op=op, **params, channels=c)
        self.graph.add_edge(tail, name, channels=self.output_channels, port=0)
        self._sink = name
        return name

    def add_conv(
        self,
        n_features: int,
        filter_size: int = 3,
        filter_stride: int = 1,
        activation: str | None = "vleakyrelu",
        dropout: float = 0.0,
        min_active_inputs: int = 1,
        submanifold: bool | None = None,
    ) -> SparseNetwork:
        """Append a convolution (with its input dropout and its activation); return ``self``.

        Parameters
        ----------
        n_features : int
            Output channels.
        filter_size, filter_stride : int
            The cubic window and its stride.
        activation : str or None, default "vleakyrelu"
            A name of :data:`ACTIVATIONS`, or ``None``.
        dropout : float, default 0
            Dropout probability on the convolution's *input* (SparseConvNet
            applies it there); a ``dropout`` node before the conv when positive.
        min_active_inputs : int, default 1
            Active inputs an output site of a valid convolution needs.
        submanifold : bool, optional
            Default: ``filter_stride == 1`` and an odd ``filter_size``
            (output sites = input sites); ``False``: a valid convolution
            (no padding), as SparseConvNet's ``ConvolutionalLayer``.

        Returns
        -------
        SparseNetwork

        Raises
        ------
        ValueError
            For a non-positive size, or a submanifold conv with a stride or an
            even size.
        """
        n_features = _positive_int("n_features", n_features)
        f = _positive_int("filter_size", filter_size)
        s = _positive_int("filter_stride", filter_stride)
        m = _positive_int("min_active_inputs", min_active_inputs)
        act = _activation_name(activation)
        dropout = _probability("dropout", dropout)
        if submanifold is None:
            submanifold = s == 1 and f % 2 == 1
        if submanifold and (s != 1 or f % 2 == 0 or m != 1):
            raise ValueError(
                "a submanifold convolution needs stride 1, an odd filter_size and "
                f"min_active_inputs 1, got filter_size={f}, filter_stride={s}, "
                f"min_active_inputs={m}"
            )
        if m > f**3:
            raise ValueError(f"min_active_inputs must be at most {f**3} (filter volume), got {m}")
        if dropout > 0:
            self._append("dropout", p=dropout)
        if submanifold:
            self._append("submanifold_conv", n_features, kernel_size=f)
        else:
            self._append("conv", n_features, kernel_size=f, stride=s, min_active_inputs=m)
        if act is not None:
            self._append("activation", function=act)
        return self._commit()

    def add_max_pool(self, pool_size: int, pool_stride: int | None = None) -> SparseNetwork:
        """Append a max pooling (``pool_stride`` defaults to ``pool_size``); return ``self``."""
        p = _positive_int("pool_size", pool_size)
        s = p if pool_stride is None else _positive_int("pool_stride", pool_stride)
        self._append("max_pool", kernel_size=p, stride=s)
        return self._commit()

    def add_avg_pool(self, pool_size: int, pool_stride: int | None = None) -> SparseNetwork:
        """Append an average pooling over the active sites; return ``self``."""
        p = _positive_int("pool_size", pool_size)
        s = p if pool_stride is None else _positive_int("pool_stride", pool_stride)
        self._append("avg_pool", kernel_size=p, stride=s)
        return self._commit()

    def add_batch_norm(self) -> SparseNetwork:
        """Append a batch normalization over the active sites; return ``self``."""
        self._append("batch_norm")
        return self._commit()

    def add_activation(self, name: str) -> SparseNetwork:
        """Append an activation (a name of :data:`ACTIVATIONS`); return ``self``."""
        act = _activation_name(name)
        if act is None:
            raise ValueError(f"add_activation needs an activation name, got {name!r}")
        self._append("activation", function=act)
        return self._commit()

    def add_dropout(self, p: float) -> SparseNetwork:
        """Append a dropout of probability ``p`` on the features; return ``self``."""
        self._append("dropout", p=_probability("p", p))
        return self._commit()

    def add_lenet_mp(
        self,
        n_features: int,
        filter_size: int,
        filter_stride: int,
        pool_size: int,
        pool_stride: int,
        activation: str | None = "vleakyrelu",
        dropout: float = 0.0,
        min_active_inputs: int = 1,
    ) -> SparseNetwork:
        """Append SparseConvNet's ``addLeNetLayerMP`` block; return ``self``.

        A valid convolution (``filter_size``, ``filter_stride``; a pointwise
        submanifold one when ``filter_size`` is 1, SparseConvNet's
        network-in-network layer), its activation, then a max pooling when
        ``pool_size > 1``.  See :meth:`add_conv` for the other arguments.
        """
        f = _positive_int("filter_size", filter_size)
        self.add_conv(
            n_features,
            f,
            filter_stride,
            activation,
            dropout,
            min_active_inputs,
            submanifold=f == 1 and filter_stride == 1,
        )
        if _positive_int("pool_size", pool_size) > 1:
            self.add_max_pool(pool_size, pool_stride)
        return self

    def add_classifier(self, n_classes: int | None = None, pooling: str = "max") -> SparseNetwork:
        """Append the classifier: a global pooling of each sample's sites, then a linear layer.

        SparseConvNet's softmax layer is a fully connected layer on the
        features of the single ``1 x 1 x 1`` output position.  Here a global
        pooling (max by default) comes first: when the input grid has exactly
        :meth:`input_spatial_size` positions, each sample has at most that one
        site, so the pooling is exact; a sample without any site gets zero
        features.  The softmax itself is left to the loss (logits out).

        Parameters
        ----------
        n_classes : int, optional
            Default: the network's ``n_classes``, which it sets.
        pooling : {"max", "avg"}, default "max"

        Returns
        -------
        SparseNetwork

        Raises
        ------
        ValueError
            Without a number of classes, for another pooling, or when there
            already is a classifier.
        """
        if n_classes is None:
            n_classes = self.n_classes
        if n_classes is None:
            raise ValueError("add_classifier needs n_classes (or SparseNetwork(n_classes=...))")
        n_classes = _positive_int("n_classes", n_classes)
        if pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
        self._append(f"global_{pooling}_pool")
        self._append("linear", n_classes)
        self.graph.graph["n_classes"] = n_classes
        self._commit()
        self.n_classes = n_classes
        return self

    def add_softmax(self) -> SparseNetwork:
        """Append the classifier (:meth:`add_classifier` with ``n_classes``); return ``self``."""
        return self.add_classifier()

    def add_skip(self, source: str, target: str, kind: str = "add") -> SparseNetwork:
        """Merge the output of ``source`` into that of ``target``: a residual connection.

        A new ``add`` (sum) or ``concat`` (channels of ``target`` then of
        ``source``) node takes both outputs and replaces ``target`` as the
        input of ``target``'s successors (or becomes the output).  At run time
        both inputs must have the same sites (same coordinates and grid),
        e.g. ``source`` before a chain of submanifold convolutions.

        Raises
        ------
        ValueError
            For an unknown node or kind, a ``source`` that is not upstream of
            ``target``, or ``add`` with different channel counts.
        """
        for role, node in (("source", source), ("target", target)):
            if node not in self.graph:
                raise ValueError(f"{role} {node!r} is not a node of the network")
        if kind not in _MERGE:
            raise ValueError(f"kind must be 'add' or 'concat', got {kind!r}")
        if source == target or not nx.has_path(self.graph, source, target):
            raise ValueError(f"source {source!r} must be upstream of target {target!r}")
        c_t, c_s = (self.graph.nodes[v]["channels"] for v in (target, source))
        if kind == "add" and c_t != c_s:
            raise ValueError(
                f"add needs equal channels, {target!r} has {c_t} and {source!r} has {c_s}"
            )
        self._snapshot()
        name = self._new_name()
        successors = list(self.graph.successors(target))
        self.graph.add_node(name, op=kind, channels=c_t if kind == "add" else c_t + c_s)
        for v in successors:
            attrs = self.graph.edges[target, v]
            self.graph.remove_edge(target, v)
            attrs["channels"] = self.graph.nodes[name]["channels"]
            self.graph.add_edge(name, v, **attrs)
        self.graph.add_edge(target, name, channels=c_t, port=0)
        self.graph.add_edge(source, name, channels=c_s, port=1)
        return self._commit()

    # PySparseConvNet names, same argument order.
    def addLeNetLayerMP(  # noqa: D102
        self,
        nFeatures: int,
        filterSize: int,
        filterStride: int,
        poolSize: int,
        poolStride: int,
        activationFn: str | None = "vleakyrelu",
        dropout: float = 0.0,
        minActiveInputs: int = 1,
    ) -> SparseNetwork:
        return self.add_lenet_mp(
            nFeatures, filterSize, filterStride, poolSize, poolStride, activationFn, dropout,
            minActiveInputs,
        )  # fmt: skip

    def addConvolutionalLayer(  # noqa: D102
        self,
        nFeatures: int,
        filterSize: int,
        filterStride: int,
        activationFn: str | None = "vleakyrelu",
        dropout: float = 0.0,
        minActiveInputs: int = 1,
    ) -> SparseNetwork:
        # SparseConvNet's convolutional layer is valid (no padding); size 1 is pointwise.
        submanifold = filterSize == 1 and filterStride == 1
        return self.add_conv(
            nFeatures, filterSize, filterStride, activationFn, dropout, minActiveInputs, submanifold
        )

    def addSoftmaxLayer(self) -> SparseNetwork:  # noqa: D102
        return self.add_softmax()

    def addLeNetLayerROFMP(self, *args, **kwargs) -> SparseNetwork:
        """Not supported: random overlapping fractional max pooling (ROFMP) is not implemented."""
        raise NotImplementedError("addLeNetLayerROFMP: fractional max pooling is not implemented")

    def addLeNetLayerPOFMP(self, *args, **kwargs) -> SparseNetwork:
        """Not supported: pseudo-random fractional max pooling (POFMP) is not implemented."""
        raise NotImplementedError("addLeNetLayerPOFMP: fractional max pooling is not implemented")

    # --- compilation ---------------------------------------------------------------------

    def _fingerprint(self) -> tuple:
        G = self.graph
        nodes = tuple((v, tuple(sorted(d.items()))) for v, d in G.nodes(data=True))
        edges = tuple((u, v, d.get("port", 0), d.get("channels")) for u, v, d in G.edges(data=True))
        return nodes, edges

    def recompile(self) -> SparseNetwork:
        """Rebuild the modules from :attr:`graph`; return ``self``.

        The module of a node whose op, hyper-parameters and input/output
        channels are unchanged is kept (same parameters, same object); the
        others are built afresh.  Call it after editing the graph (the
        builders do).

        Raises
        ------
        ValueError
            For a graph that is not a valid network; the message names the node.
        """
        order, preds, sink, c_in = _check_graph(self.graph)
        modules, signatures = {}, {}
        for v in order:
            attrs = self.graph.nodes[v]
            op = attrs["op"]
            sig = (op, c_in[v], *(attrs.get(p) for p in (*_PARAMS.get(op, ()), "channels")))
            if self._signatures.get(v) == sig and v in self.layers:
                modules[v] = self.layers[v]
            else:
                module = _build_module(op, attrs, c_in[v])
                if module is None:
                    continue
                modules[v] = module.train(self.training)
            signatures[v] = sig
        ref = next(iter(self.parameters()), None)
        self.layers = nn.ModuleDict(modules)
        if ref is not None:
            self.layers.to(device=ref.device, dtype=ref.dtype)
        self._signatures = signatures
        self._order, self._preds, self._sink, self._c_in = order, preds, sink, c_in
        self._compiled = self._fingerprint()
        self._input_size = _input_sizes(self, 1)
        return self

    # --- spatial sizes -------------------------------------------------------------------

    def input_spatial_size(self, output_spatial_size: int = 1) -> int:
        """Return the input grid size per axis that gives ``output_spatial_size`` at the output.

        Backwards through the layers as SparseConvNet: a valid convolution of
        size ``f`` and stride ``s`` needs ``f + (out - 1) s`` positions, a
        pooling ``p + (out - 1) s``, the other layers keep the size.  With a
        classifier, ``output_spatial_size`` is the size entering its global
        pooling: 1 (the default) is SparseConvNet's single output position.

        Raises
        ------
        ValueError
            If the branches of a merge node need different sizes (names it).
        """
        _positive_int("output_spatial_size", output_spatial_size)
        return _input_sizes(self, output_spatial_size)

    def output_spatial_size(self, input_spatial_size: int) -> int:
        """Return the grid size per axis at the output (the classifier's input) for an input size.

        Raises
        ------
        ValueError
            Naming the first layer whose window does not fit the size or
            whose stride does not divide ``size - window`` (SparseConvNet's
            arithmetic must be exact).
        """
        sizes = {"input": _positive_int("input_spatial_size", input_spatial_size)}
        for v in self._order[1:]:
            attrs = self.graph.nodes[v]
            ins = {sizes[u] for u in self._preds[v]}
            if len(ins) > 1:
                raise ValueError(f"the inputs of {v} ({attrs['op']}) have sizes {sorted(ins)}")
            (n,) = ins
            if attrs["op"] == "conv" or attrs["op"] in _POOLS:
                f, s = attrs["kernel_size"], attrs["stride"]
                if n < f or (n - f) % s:
                    raise ValueError(
                        f"layer {v} ({attrs['op']}, size {f}, stride {s}) does not fit an input "
                        f"of size {n}: (size - {f}) must be a non-negative multiple of {s}"
                    )
                n = (n - f) // s + 1
            sizes[v] = n
        return sizes[self._sink]

    # --- forward -------------------------------------------------------------------------

    def _as_tensor(self, x: SparseVoxelTensor | SparseBatch) -> SparseVoxelTensor:
        if isinstance(x, SparseBatch):
            x = SparseVoxelTensor.from_batch(x)
        if not isinstance(x, SparseVoxelTensor):
            raise TypeError(
                f"SparseNetwork takes a SparseVoxelTensor or a SparseBatch, got {type(x).__name__}"
            )
        if x.channels != self.in_features:
            raise ValueError(
                f"the network has {self.in_features} input features, the input has {x.channels}"
            )
        if min(x.spatial_shape) < self._input_size:
            raise ValueError(
                f"the input grid {x.spatial_shape} is smaller than the network's input spatial "
                f"size {self._input_size} on some axis (use SparseDataset(spatial_size="
                f"{self._input_size}))"
            )
        return x

    def _run(self, x: SparseVoxelTensor, record: Callable | None = None):
        if self._fingerprint() != self._compiled:
            raise RuntimeError("the graph was edited since it was compiled: call recompile()")
        x = self._as_tensor(x)
        remaining = {v: self.graph.out_degree(v) for v in self._order}
        values = {}
        for v in self._order:
            op = self.graph.nodes[v]["op"]
            ins = [values[u] for u in self._preds[v]]
            if op == "input":
                y = x
            elif op in _MERGE:
                y = _merge(v, op, self._preds[v], ins)
            else:
                y = self.layers[v](ins[0])
            if record is not None:
                record(v, op, ins, y)
            values[v] = y
            for u in self._preds[v]:
                remaining[u] -= 1
                if remaining[u] == 0 and u != self._sink:
                    del values[u]
        return values[self._sink]

    def forward(self, x: SparseVoxelTensor | SparseBatch) -> torch.Tensor | SparseVoxelTensor:
        """Run the network: logits ``[B, n_classes]``, or the output sparse tensor.

        Raises
        ------
        TypeError, ValueError
            For another input type, another number of channels, a grid
            smaller than :meth:`input_spatial_size`, or merge inputs whose
            sites differ.
        RuntimeError
            If :attr:`graph` was edited without :meth:`recompile`.
        """
        return self._run(x)

    def layer_activations(self, x: SparseVoxelTensor | SparseBatch) -> list[LayerActivation]:
        """Return the output of every node, in execution order (input first), without gradients."""
        out: list[LayerActivation] = []

        def record(v, op, ins, y):
            if isinstance(y, SparseVoxelTensor):
                out.append(LayerActivation(v, op, y.coords, y.features, y.spatial_shape))
            else:
                coords = torch.zeros(y.shape[0], 4, dtype=torch.int32, device=y.device)
                coords[:, 0] = torch.arange(y.shape[0], dtype=torch.int32, device=y.device)
                out.append(LayerActivation(v, op, coords, y, (1, 1, 1)))

        with torch.no_grad():
            self._run(x, record)
        return out

    def multiply_adds(self, x: SparseVoxelTensor | SparseBatch) -> int:
        """Multiply-adds of a forward pass on ``x`` (all samples together).

        A convolution counts, per live kernel pair (input site, offset,
        output site), its live ``(c_in, c_out)`` mask entries; a linear layer
        its live entries per sample.  Other layers count nothing.  To count
        the passes a training loop makes anyway, without running another,
        use :meth:`counting_multiply_adds`.
        """
        with self.counting_multiply_adds() as total, torch.no_grad():
            self._run(x)
        return total[0]

    @contextlib.contextmanager
    def counting_multiply_adds(self) -> Iterator[list[int]]:
        """Count the multiply-adds of every forward pass run inside the ``with`` block.

        Yields a one-element list whose item grows by the count of
        :meth:`multiply_adds` with each pass (through forward hooks on the
        weight layers, so nothing is run twice).

        Examples
        --------
        >>> import torch
        >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
        >>> net = SparseNetwork(in_features=1).add_conv(2, 3, activation=None)
        >>> sites = torch.tensor([[0, 1, 1, 1], [0, 1, 1, 2]])
        >>> x = SparseVoxelTensor(sites, torch.ones(2, 1), (4, 4, 4))
        >>> with net.counting_multiply_adds() as total:
        ...     _ = net(x)
        >>> total[0] == net.multiply_adds(x) == 2 * (2 + 2)  # 4 pairs (2 centres, 2 neighbours)
        True
        """
        total = [0]

        def count(module: nn.Module, inputs: tuple, output: object) -> None:
            live = int(module.channel_mask.sum())
            if isinstance(module, ChannelMaskedLinear):
                total[0] += live * output.shape[0]
            else:
                total[0] += live * int((module._kernel_map(inputs[0]).neighbors >= 0).sum())

        handles = [
            self.layers[v].register_forward_hook(count)
            for v in self._order
            if self.graph.nodes[v]["op"] in WEIGHT_OPS
        ]
        try:
            yield total
        finally:
            for handle in handles:
                handle.remove()

    # --- graph round trips (see network_graph) --------------------------------------------

    def to_graph(self, level: str = "layer") -> nx.DiGraph:
        """Return the layer graph (a copy of :attr:`graph`) or the channel graph.

        ``level="layer"``: structure and hyper-parameters only (the weights
        are in :meth:`state_dict`).  ``level="channel"``: node ``(layer, c)``
        per channel; an edge per live mask entry of a convolution or linear
        layer (``kind="weight"``, ``weight`` the norm of its kernel), channel
        ``c`` to ``c`` through the other layers (``kind="identity"``),
        channels offset by the earlier inputs through a concat.

        Examples
        --------
        >>> net = SparseNetwork(in_features=2).add_conv(3, 1, activation=None)
        >>> G = net.to_graph("channel")
        >>> G.number_of_nodes(), G.number_of_edges()
        (5, 6)
        """
        from graphnn.sparse3d.network_graph import channel_graph

        if level == "layer":
            return self.graph.copy()
        if level == "channel":
            return channel_graph(self)
        raise ValueError(f"level must be 'layer' or 'channel', got {level!r}")

    @classmethod
    def from_graph(cls, G: nx.DiGraph) -> SparseNetwork:
        """Build a network (fresh parameters) from a layer graph (:meth:`to_graph`).

        Raises
        ------
        ValueError
            For a graph that is not a valid layer graph (the node named).
        """
        if not isinstance(G, nx.DiGraph):
            raise TypeError(f"from_graph takes a networkx.DiGraph, got {type(G).__name__}")
        if "input" not in G or G.nodes["input"].get("op") != "input":
            raise ValueError("a layer graph needs a node 'input' with op 'input'")
        net = cls(
            G.graph.get("dimension", 3),
            G.graph.get("in_features", G.nodes["input"].get("channels", 1)),
            G.graph.get("n_classes"),
        )
        net.graph = G.copy()
        return net.recompile()

    def apply_channel_graph(self, G: nx.DiGraph) -> SparseNetwork:
        """Set the channel masks from a channel graph (see :func:`~graphnn.sparse3d.network_graph.apply_channel_graph`)."""  # noqa: E501
        from graphnn.sparse3d.network_graph import apply_channel_graph

        return apply_channel_graph(self, G)

    def prune_channels(self, layer: str, channels: Sequence[int]) -> SparseNetwork:
        """Prune output channels of a conv/linear layer (see :func:`~graphnn.sparse3d.network_graph.prune_channels`)."""  # noqa: E501
        from graphnn.sparse3d.network_graph import prune_channels

        return prune_channels(self, layer, channels)

    def shrink(self) -> SparseNetwork:
        """Remove pruned channels physically (see :func:`~graphnn.sparse3d.network_graph.shrink`)."""  # noqa: E501
        from graphnn.sparse3d.network_graph import shrink

        return shrink(self)

    # --- weights and files ---------------------------------------------------------------

    def get_weights(self) -> dict[str, list[np.ndarray]]:
        """Node name -> its parameters and buffers as numpy arrays, in ``state_dict`` order."""
        weights: dict[str, list[np.ndarray]] = {}
        for key, value in self.state_dict().items():
            weights.setdefault(key.split(".")[1], []).append(value.detach().cpu().numpy().copy())
        return weights

    def set_weights(self, weights: dict[str, Sequence[np.ndarray]]) -> SparseNetwork:
        """Load what :meth:`get_weights` gives (all nodes or some); return ``self``.

        Raises
        ------
        ValueError
            For an unknown node, or arrays of the wrong number or shape.
        """
        state = self.state_dict()
        for name, arrays in weights.items():
            keys = [k for k in state if k.split(".")[1] == name]
            if not keys:
                raise ValueError(f"node {name!r} has no weights in this network")
            if len(arrays) != len(keys):
                raise ValueError(f"node {name!r} takes {len(keys)} arrays, got {len(arrays)}")
            for key, array in zip(keys, arrays, strict=True):
                if tuple(np.shape(array)) != tuple(state[key].shape):
                    raise ValueError(
                        f"{key} has shape {tuple(state[key].shape)}, got {np.shape(array)}"
                    )
                state[key] = torch.as_tensor(np.asarray(array)).to(state[key])
        self.load_state_dict(state)
        return self

    def save(self, path: str | os.PathLike) -> None:
        """Save the layer graph (node-link data) and the ``state_dict`` with ``torch.save``.

        The file holds only plain containers, numbers, strings and tensors:
        :meth:`load` reads it with ``torch.load(weights_only=True)``.
        """
        data = nx.node_link_data(self.graph, edges="edges")
        torch.save({"format": _FORMAT, "graph": data, "state_dict": self.state_dict()}, path)

    @staticmethod
    def _read(path: str | os.PathLike) -> dict:
        data = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"{os.fspath(path)!r} is not a file written by SparseNetwork.save")
        return data

    @classmethod
    def load(cls, path: str | os.PathLike, first_n_layers: int | None = None) -> SparseNetwork:
        """Rebuild a network saved by :meth:`save`, with (the first ``first_n_layers``) weights."""
        data = cls._read(path)
        net = cls.from_graph(nx.node_link_graph(data["graph"], edges="edges"))
        return net._load_state(data["state_dict"], first_n_layers, path)

    def load_weights(
        self, path: str | os.PathLike, first_n_layers: int | None = None
    ) -> SparseNetwork:
        """Load the weights of the first ``first_n_layers`` nodes (all by default) from a file.

        Layers count the nodes after the input in execution order; those
        nodes must have the same names, ops and shapes in both networks
        (PySparseConvNet's ``loadWeights(file, firstNlayers)``: a network
        sharing a prefix with the saved one).

        Raises
        ------
        ValueError
            Naming the first node that differs.
        """
        return self._load_state(self._read(path)["state_dict"], first_n_layers, path)

    def _load_state(self, state: dict, first_n: int | None, path) -> SparseNetwork:
        nodes = self._order[1:] if first_n is None else self._order[1 : 1 + first_n]
        own = self.state_dict()
        wanted = {k for k in own if k.split(".")[1] in nodes}
        for key in sorted(wanted):
            if key not in state or state[key].shape != own[key].shape:
                got = tuple(state[key].shape) if key in state else "nothing"
                raise ValueError(
                    f"{os.fspath(path)!r}: node {key.split('.')[1]} differs, {key} has shape "
                    f"{tuple(own[key].shape)} here and {got} in the file"
                )
            own[key] = state[key]
        self.load_state_dict(own)
        return self

    # --- workflow (graphnn.sparse3d.training) ----------------------------------------------

    def train_epoch(self, *args, **kwargs):
        """One training epoch: :func:`graphnn.sparse3d.training.train_epoch` on ``self``."""
        from graphnn.sparse3d import training

        return training.train_epoch(self, *args, **kwargs)

    def evaluate(self, *args, **kwargs):
        """Evaluate with test-time repeats: :func:`graphnn.sparse3d.training.evaluate`."""
        from graphnn.sparse3d import training

        return training.evaluate(self, *args, **kwargs)

    def predict(self, *args, **kwargs):
        """Class probabilities ``[N, n_classes]``: :func:`graphnn.sparse3d.training.predict`."""
        from graphnn.sparse3d import training

        return training.predict(self, *args, **kwargs)

    def fit(self, *args, **kwargs):
        """Several epochs with a log: :func:`graphnn.sparse3d.training.fit`."""
        from graphnn.sparse3d import training

        return training.fit(self, *args, **kwargs)

    def processDataset(
        self,
        dataset,
        batchSize: int = 100,
        learningRate: float = 0.01,
        momentum: float = 0.99,
        **kwargs,
    ):
        """PySparseConvNet's ``processDataset(dataset, batchSize, learningRate, momentum)``.

        One training epoch (:meth:`train_epoch`) with PySparseConvNet's
        arguments in its order; other keywords (``weight_decay``, ``loss``,
        ``progress``, ...) go to :func:`~graphnn.sparse3d.training.train_epoch`.
        ``learningRate`` defaults to 0.01, not to SparseConvNet's 0: graphnn
        trains with a positive rate and evaluates with :meth:`evaluate`.
        """
        return self.train_epoch(dataset, batchSize, lr=learningRate, momentum=momentum, **kwargs)

    def processDatasetRepeatTest(
        self,
        dataset,
        batchSize: int = 100,
        nReps: int = 12,
        predictionsFilename: str = "",
        confusionMatrixFilename: str = "",
        **kwargs,
    ):
        """PySparseConvNet's ``processDatasetRepeatTest(dataset, batchSize=100, nReps=12, ...)``.

        :meth:`evaluate` with ``nReps`` test-time repeats, with PySparseConvNet's
        arguments in its order (an empty file name writes nothing); other
        keywords go to :func:`~graphnn.sparse3d.training.evaluate`.
        """
        return self.evaluate(
            dataset,
            nReps,
            batchSize,
            predictions=predictionsFilename or None,
            confusion=confusionMatrixFilename or None,
            **kwargs,
        )

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f"in_features={self.in_features}, n_classes={self.n_classes}, "
            f"nodes={self.graph.number_of_nodes()}, input_spatial_size={self._input_size}"
        )


def _check_graph(G: nx.DiGraph) -> tuple[list[str], dict, str, dict]:
    """Check a layer graph; return execution order, inputs per node, sink, input channels."""
    for v, attrs in G.nodes(data=True):
        if not isinstance(v, str) or not v or "." in v:
            raise ValueError(f"layer node names must be non-empty strings without '.', got {v!r}")
        op = attrs.get("op")
        if op not in OPS:
            raise ValueError(f"node {v!r} has op {op!r}; use one of {', '.join(OPS)}")
        for p in ("channels", *_PARAMS.get(op, ())):
            if p not in attrs:
                raise ValueError(f"node {v!r} ({op}) has no {p!r} attribute")
    if not nx.is_directed_acyclic_graph(G):
        raise ValueError(f"the layer graph has a cycle: {nx.find_cycle(G)}")
    inputs = [v for v in G if G.nodes[v]["op"] == "input"]
    if inputs != ["input"]:
        raise ValueError(f"the layer graph needs exactly one input node 'input', got {inputs}")
    sinks = [v for v in G if G.out_degree(v) == 0]
    if len(sinks) != 1:
        raise ValueError(f"the layer graph needs exactly one output node, got {sinks}")
    position = {v: i for i, v in enumerate(G)}
    order = list(nx.lexicographical_topological_sort(G, key=position.__getitem__))
    preds, c_in = {}, {}
    for v in order:
        op, c = G.nodes[v]["op"], G.nodes[v]["channels"]
        ins = sorted(G.predecessors(v), key=lambda u, v=v: G.edges[u, v].get("port", 0))
        preds[v] = ins
        counts = [G.nodes[u]["channels"] for u in ins]
        if op == "input":
            if ins:
                raise ValueError(f"the input node has inputs {ins}")
            c_in[v] = c
            continue
        if op in _MERGE:
            if len(ins) < 2:
                raise ValueError(f"node {v!r} ({op}) needs at least two inputs, got {ins}")
            if op == "add" and len(set(counts)) > 1:
                raise ValueError(f"node {v!r} (add) has inputs {ins} with channels {counts}")
            expected = counts[0] if op == "add" else sum(counts)
        else:
            if len(ins) != 1:
                raise ValueError(f"node {v!r} ({op}) needs exactly one input, got {ins}")
            expected = c if op in WEIGHT_OPS else counts[0]
        if c != expected:
            raise ValueError(f"node {v!r} ({op}) has channels={c}, its inputs give {expected}")
        c_in[v] = counts[0]
    return order, preds, sinks[0], c_in


def _input_sizes(net: SparseNetwork, out: int) -> int:
    need: dict[Hashable, int] = {net._sink: out}
    for v in reversed(net._order):
        attrs = net.graph.nodes[v]
        n = need[v]
        if attrs["op"] == "conv" or attrs["op"] in _POOLS:
            n = attrs["kernel_size"] + (n - 1) * attrs["stride"]
        for u in net._preds[v]:
            if need.setdefault(u, n) != n:
                raise ValueError(
                    f"node {u!r} feeds layers that need input sizes {need[u]} and {n} (check "
                    f"the branches merging at or after {v!r})"
                )
    return need["input"]


def _merge(v: str, op: str, names: list[str], ins: list) -> SparseVoxelTensor:
    first = ins[0]
    for name, t in zip(names[1:], ins[1:], strict=True):
        same = t.coords is first.coords or (
            t.coords.shape == first.coords.shape and bool(torch.equal(t.coords, first.coords))
        )
        if not same or t.spatial_shape != first.spatial_shape:
            raise ValueError(
                f"node {v!r} ({op}) needs inputs on the same sites: {names[0]!r} has "
                f"{first.num_sites} sites on {first.spatial_shape}, {name!r} has {t.num_sites} "
                f"on {t.spatial_shape}"
            )
    if op == "add":
        return first.replace_features(torch.stack([t.features for t in ins]).sum(0))
    return first.replace_features(torch.cat([t.features for t in ins], dim=1))
