"""The builder of a ``SparseNetwork``: PySparseConvNet's layer-by-layer construction as graph edits.

Every builder method appends nodes to the layer graph (or, for
:meth:`~NetworkBuilder.add_skip`, splices a merge node into it) and
recompiles the network; on an error the graph is given back as it was
before the call.  :class:`NetworkBuilder` is a mixin of
:class:`~graphnn.sparse3d.network.model.SparseNetwork`, which holds the
graph, its modules and ``recompile``.

Examples
--------
>>> from graphnn.sparse3d import SparseNetwork
>>> net = SparseNetwork(in_features=1, n_classes=3).add_lenet_mp(8, 2, 1, 3, 2).add_softmax()
>>> [net.graph.nodes[v]["op"] for v in net.graph]
['input', 'conv', 'activation', 'max_pool', 'global_max_pool', 'linear']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

from graphnn._validation import check_int, check_probability
from graphnn.exceptions import NetworkGraphError
from graphnn.sparse3d.network.nodes import GLOBAL_POOLS, MERGES, activation_name

if TYPE_CHECKING:
    from graphnn.sparse3d.network.model import SparseNetwork

__all__ = ["NetworkBuilder"]


class NetworkBuilder:
    """The builder methods of :class:`~graphnn.sparse3d.network.model.SparseNetwork`.

    Each returns the network, so calls chain.  The network provides
    ``graph``, ``n_classes``, ``output_channels``, ``_sink`` and
    ``recompile()``.
    """

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
        pooled = any(self.graph.nodes[v]["op"] in GLOBAL_POOLS for v in self.graph)
        if pooled and op not in ("linear", "dropout", "activation"):
            raise NetworkGraphError(
                f"cannot add a {op} layer after the classifier's global pooling", nodes=[self._sink]
            )
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
        n_features = check_int("n_features", n_features, low=1, what="a positive int")
        f = check_int("filter_size", filter_size, low=1, what="a positive int")
        s = check_int("filter_stride", filter_stride, low=1, what="a positive int")
        m = check_int("min_active_inputs", min_active_inputs, low=1, what="a positive int")
        act = activation_name(activation)
        dropout = check_probability("dropout", dropout, below_one=True)
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
        p = check_int("pool_size", pool_size, low=1, what="a positive int")
        s = (
            p
            if pool_stride is None
            else check_int("pool_stride", pool_stride, low=1, what="a positive int")
        )
        self._append("max_pool", kernel_size=p, stride=s)
        return self._commit()

    def add_avg_pool(self, pool_size: int, pool_stride: int | None = None) -> SparseNetwork:
        """Append an average pooling over the active sites; return ``self``."""
        p = check_int("pool_size", pool_size, low=1, what="a positive int")
        s = (
            p
            if pool_stride is None
            else check_int("pool_stride", pool_stride, low=1, what="a positive int")
        )
        self._append("avg_pool", kernel_size=p, stride=s)
        return self._commit()

    def add_batch_norm(self) -> SparseNetwork:
        """Append a batch normalization over the active sites; return ``self``."""
        self._append("batch_norm")
        return self._commit()

    def add_activation(self, name: str) -> SparseNetwork:
        """Append an activation (a name of :data:`ACTIVATIONS`); return ``self``."""
        act = activation_name(name)
        if act is None:
            raise ValueError(f"add_activation needs an activation name, got {name!r}")
        self._append("activation", function=act)
        return self._commit()

    def add_dropout(self, p: float) -> SparseNetwork:
        """Append a dropout of probability ``p`` on the features; return ``self``."""
        self._append("dropout", p=check_probability("p", p, below_one=True))
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
        f = check_int("filter_size", filter_size, low=1, what="a positive int")
        pool = check_int("pool_size", pool_size, low=1, what="a positive int")
        if pool > 1 and pool_stride is not None:  # checked before anything is added
            check_int("pool_stride", pool_stride, low=1, what="a positive int")
        self.add_conv(
            n_features,
            f,
            filter_stride,
            activation,
            dropout,
            min_active_inputs,
            submanifold=f == 1 and filter_stride == 1,
        )
        if pool > 1:
            self.add_max_pool(pool, pool_stride)
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
        n_classes = check_int("n_classes", n_classes, low=1, what="a positive int")
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
        NetworkGraphError
            For an unknown node, a ``source`` that is not upstream of
            ``target``, or ``add`` with different channel counts.
        ValueError
            For an unknown kind.
        """
        for role, node in (("source", source), ("target", target)):
            if node not in self.graph:
                message = f"{role} {node!r} is not a node of the network"
                raise NetworkGraphError(message, nodes=[node])
        if kind not in MERGES:
            raise ValueError(f"kind must be 'add' or 'concat', got {kind!r}")
        if source == target or not nx.has_path(self.graph, source, target):
            raise NetworkGraphError(
                f"source {source!r} must be upstream of target {target!r}", nodes=[source, target]
            )
        c_t, c_s = (self.graph.nodes[v]["channels"] for v in (target, source))
        if kind == "add" and c_t != c_s:
            raise NetworkGraphError(
                f"add needs equal channels, {target!r} has {c_t} and {source!r} has {c_s}",
                nodes=[target, source],
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
