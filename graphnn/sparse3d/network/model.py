r"""``SparseNetwork``: a sparse voxel network that is a networkx DAG of layer nodes.

The network *is* its graph: :attr:`SparseNetwork.graph` is a
``networkx.DiGraph`` whose nodes are the layers (``"input"``, ``"L0"``,
``"L1"``, ...) and whose edges are the tensors between them.  Every node has
an ``op`` and its hyper-parameters as plain attributes, every node and edge
its number of ``channels`` (the ops are listed in
:mod:`~graphnn.sparse3d.network.nodes`, the graph's rules in
:mod:`~graphnn.sparse3d.network.layer_graph`).

The builders (:meth:`~SparseNetwork.add_conv`, :meth:`~SparseNetwork.add_lenet_mp`,
..., :mod:`~graphnn.sparse3d.network.builder`) append nodes; after editing
the graph by hand, :meth:`SparseNetwork.recompile` rebuilds the modules and
keeps those of the nodes whose op, hyper-parameters and channel counts did
not change.  :meth:`~SparseNetwork.to_graph` gives the layer graph or the
channel-level graph (:mod:`graphnn.sparse3d.network.channel_graph`), and
:meth:`~SparseNetwork.from_graph` builds a network back from a layer graph.
Training is done by the functions of :mod:`graphnn.sparse3d.training`
(the methods of the same names call them); PySparseConvNet's camelCase names
are in :mod:`graphnn.compat.pysparseconvnet`.

Spatial sizes follow SparseConvNet: a valid convolution of size ``f`` and
stride ``s`` needs ``f + (out - 1) s`` input positions per axis, a pooling
of size ``p`` and stride ``s`` needs ``p + (out - 1) s``, and the other
layers keep the size (:meth:`SparseNetwork.input_spatial_size`).

Examples
--------
>>> import torch
>>> from graphnn.sparse3d import SparseDataset
>>> net = SparseNetwork(in_features=1, n_classes=2, seed=0)
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
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import torch
from torch import nn

from graphnn._random import SeedLike, as_rng, check_seed, torch_seeded
from graphnn._validation import check_int
from graphnn.exceptions import NetworkGraphError
from graphnn.sparse3d import training
from graphnn.sparse3d.data.batch import SparseBatch
from graphnn.sparse3d.network import weights as weight_files
from graphnn.sparse3d.network.builder import NetworkBuilder
from graphnn.sparse3d.network.channel_graph import (
    apply_channel_graph,
    channel_graph,
    prune_channels,
    shrink,
)
from graphnn.sparse3d.network.deprecated import add_moved_methods
from graphnn.sparse3d.network.layer_graph import check_layer_graph, input_size, merge
from graphnn.sparse3d.network.nodes import (
    MERGES,
    PARAMS,
    POOLS,
    WEIGHT_OPS,
    ChannelMaskedLinear,
    build_module,
)
from graphnn.sparse3d.tensor import SparseVoxelTensor

if TYPE_CHECKING:
    from graphnn.sparse3d.training.common import Loss
    from graphnn.sparse3d.training.fitting import EpochRecord, TrainingLog
    from graphnn.sparse3d.training.reports import EpochReport, EvaluationReport

__all__ = ["LayerActivation", "SparseNetwork"]


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


class SparseNetwork(NetworkBuilder, nn.Module):
    r"""A sparse convolutional network built layer by layer, that is also its layer graph.

    Parameters
    ----------
    dimension : int, default 3
        Only 3 (voxels) is supported.
    in_features : int, default 1
        Channels of the input tensor (``SparseDataset(features=...)``).
    n_classes : int, optional
        Outputs of the classifier added by :meth:`add_classifier`.
    seed : None, int or numpy.random.Generator, optional
        Draws the parameters of every module the network builds; ``None``
        (the default) draws from torch's global generator, so
        ``torch.manual_seed`` decides.

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
    or a :class:`~graphnn.sparse3d.data.batch.SparseBatch` with ``in_features``
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

    def __init__(
        self,
        dimension: int = 3,
        in_features: int = 1,
        n_classes: int | None = None,
        *,
        seed: SeedLike = None,
    ) -> None:
        super().__init__()
        if dimension != 3:
            raise ValueError(f"SparseNetwork supports dimension 3 only, got {dimension!r}")
        self.in_features = check_int("in_features", in_features, low=1, what="a positive int")
        self.n_classes = (
            None
            if n_classes is None
            else check_int("n_classes", n_classes, low=1, what="a positive int")
        )
        seed = check_seed(seed)
        self._rng = None if seed is None else as_rng(seed)
        self.graph = nx.DiGraph(dimension=3, in_features=self.in_features)
        self.graph.add_node("input", op="input", channels=self.in_features)
        self.layers = nn.ModuleDict()
        self._signatures: dict[str, tuple] = {}
        self._pending: tuple[nx.DiGraph, str] | None = None
        self.recompile()

    @property
    def output_node(self) -> str:
        """The sink of the graph: the node whose output the network returns."""
        return self._sink

    @property
    def output_channels(self) -> int:
        """The channels of the output node."""
        return self.graph.nodes[self._sink]["channels"]

    @property
    def execution_order(self) -> list[str]:
        """The nodes in the order they run, ``"input"`` first (a copy)."""
        return list(self._plan.order)

    def inputs_of(self, node: str) -> list[str]:
        """Return the input nodes of ``node``, in port order."""
        return list(self._plan.inputs[node])

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
        NetworkGraphError
            For a graph that is not a valid network; the message names the node.
        """
        plan = check_layer_graph(self.graph)
        modules, signatures = {}, {}
        for v in plan.order:
            attrs = self.graph.nodes[v]
            op, c_in = attrs["op"], plan.in_channels[v]
            sig = (op, c_in, *(attrs.get(p) for p in (*PARAMS.get(op, ()), "channels")))
            if self._signatures.get(v) == sig and v in self.layers:
                modules[v] = self.layers[v]
            elif op in ("input", *MERGES):  # no module, no draw from the seed
                continue
            else:
                with torch_seeded(self._rng):
                    module = build_module(op, attrs, c_in)
                modules[v] = module.train(self.training)
            signatures[v] = sig
        ref = next(iter(self.parameters()), None)
        self.layers = nn.ModuleDict(modules)
        if ref is not None:
            self.layers.to(device=ref.device, dtype=ref.dtype)
        self._signatures = signatures
        self._plan, self._sink = plan, plan.sink
        self._compiled = self._fingerprint()
        self._input_size = input_size(self.graph, plan, 1)
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
        NetworkGraphError
            If the branches of a merge node need different sizes (names it).
        """
        out = check_int("output_spatial_size", output_spatial_size, low=1, what="a positive int")
        return input_size(self.graph, self._plan, out)

    def output_spatial_size(self, input_spatial_size: int) -> int:
        """Return the grid size per axis at the output (the classifier's input) for an input size.

        Raises
        ------
        ValueError
            Naming the first layer whose window does not fit the size or
            whose stride does not divide ``size - window`` (SparseConvNet's
            arithmetic must be exact).
        """
        sizes = {
            "input": check_int(
                "input_spatial_size", input_spatial_size, low=1, what="a positive int"
            )
        }
        for v in self.execution_order[1:]:
            attrs = self.graph.nodes[v]
            ins = {sizes[u] for u in self._plan.inputs[v]}
            if len(ins) > 1:
                raise ValueError(f"the inputs of {v} ({attrs['op']}) have sizes {sorted(ins)}")
            (n,) = ins
            if attrs["op"] == "conv" or attrs["op"] in POOLS:
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
        order, inputs = self._plan.order, self._plan.inputs
        remaining = {v: self.graph.out_degree(v) for v in order}
        values = {}
        for v in order:
            op = self.graph.nodes[v]["op"]
            ins = [values[u] for u in inputs[v]]
            if op == "input":
                y = x
            elif op in MERGES:
                y = merge(v, op, inputs[v], ins)
            else:
                y = self.layers[v](ins[0])
            if record is not None:
                record(v, op, ins, y)
            values[v] = y
            for u in inputs[v]:
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
                total[0] += live * int((module.kernel_map(inputs[0]).neighbors >= 0).sum())

        handles = [
            self.layers[v].register_forward_hook(count)
            for v in self.execution_order
            if self.graph.nodes[v]["op"] in WEIGHT_OPS
        ]
        try:
            yield total
        finally:
            for handle in handles:
                handle.remove()

    # --- graph round trips (see channel_graph) --------------------------------------------

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
        if level == "layer":
            return self.graph.copy()
        if level == "channel":
            return channel_graph(self)
        raise ValueError(f"level must be 'layer' or 'channel', got {level!r}")

    @classmethod
    def from_graph(cls, G: nx.DiGraph, *, seed: SeedLike = None) -> SparseNetwork:
        """Build a network (fresh parameters, drawn with ``seed``) from a layer graph.

        Raises
        ------
        TypeError
            If ``G`` is not a ``networkx.DiGraph``.
        NetworkGraphError
            For a graph that is not a valid layer graph (the node named).
        """
        if not isinstance(G, nx.DiGraph):
            raise TypeError(f"from_graph takes a networkx.DiGraph, got {type(G).__name__}")
        if "input" not in G or G.nodes["input"].get("op") != "input":
            raise NetworkGraphError("a layer graph needs a node 'input' with op 'input'")
        net = cls(
            G.graph.get("dimension", 3),
            G.graph.get("in_features", G.nodes["input"].get("channels", 1)),
            G.graph.get("n_classes"),
            seed=seed,
        )
        net.graph = G.copy()
        return net.recompile()

    def apply_channel_graph(self, G: nx.DiGraph) -> SparseNetwork:
        """Set the channel masks from a channel graph (see :func:`~graphnn.sparse3d.network.channel_graph.apply_channel_graph`)."""  # noqa: E501
        return apply_channel_graph(self, G)

    def prune_channels(self, layer: str, channels: Sequence[int]) -> SparseNetwork:
        """Prune output channels of a conv/linear layer (see :func:`~graphnn.sparse3d.network.channel_graph.prune_channels`)."""  # noqa: E501
        return prune_channels(self, layer, channels)

    def shrink(self) -> SparseNetwork:
        """Remove pruned channels physically (see :func:`~graphnn.sparse3d.network.channel_graph.shrink`)."""  # noqa: E501
        return shrink(self)

    # --- weights and files (see weights) -----------------------------------------------------

    def get_weights(self) -> dict[str, list[np.ndarray]]:
        """Node name -> its parameters and buffers as numpy arrays, in ``state_dict`` order."""
        return weight_files.get_weights(self)

    def set_weights(self, weights: dict[str, Sequence[np.ndarray]]) -> SparseNetwork:
        """Load what :meth:`get_weights` gives (all nodes or some); return ``self``.

        Raises
        ------
        ValueError
            For an unknown node, or arrays of the wrong number or shape.
        """
        return weight_files.set_weights(self, weights)

    def save(self, path: str | os.PathLike) -> None:
        """Save the layer graph and the ``state_dict`` with ``torch.save`` (see :meth:`load`)."""
        weight_files.save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike, first_n_layers: int | None = None) -> SparseNetwork:
        """Rebuild a network saved by :meth:`save`, with (the first ``first_n_layers``) weights."""
        graph, state = weight_files.read(path)
        return weight_files.load_state(cls.from_graph(graph), state, first_n_layers, path)

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
        return weight_files.load_state(self, weight_files.read(path)[1], first_n_layers, path)

    # --- training (graphnn.sparse3d.training) --------------------------------------------------

    def train_epoch(
        self,
        dataset,
        batch_size: int = 32,
        optimizer: torch.optim.Optimizer | None = None,
        *,
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        loss: Loss | None = None,
        hidden: str | None = None,
        num_workers: int = 0,
        progress: bool | None = None,
        device: torch.device | str | None = None,
    ) -> EpochReport:
        """One training epoch: :func:`graphnn.sparse3d.training.train_epoch` of ``self``."""
        return training.train_epoch(
            self, dataset, batch_size, optimizer, lr=lr, momentum=momentum,
            weight_decay=weight_decay, loss=loss, hidden=hidden, num_workers=num_workers,
            progress=progress, device=device,
        )  # fmt: skip

    def evaluate(
        self,
        dataset,
        repeats: int = 1,
        batch_size: int = 32,
        *,
        loss: Loss | None = None,
        predictions: str | os.PathLike | None = None,
        confusion: str | os.PathLike | None = None,
        num_workers: int = 0,
        progress: bool | None = None,
        device: torch.device | str | None = None,
    ) -> EvaluationReport:
        """Evaluate with test-time repeats: :func:`graphnn.sparse3d.training.evaluate`."""
        return training.evaluate(
            self, dataset, repeats, batch_size, loss=loss, predictions=predictions,
            confusion=confusion, num_workers=num_workers, progress=progress, device=device,
        )  # fmt: skip

    def predict(
        self,
        dataset,
        repeats: int = 1,
        batch_size: int = 32,
        *,
        num_workers: int = 0,
        progress: bool | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Class probabilities ``[N, n_classes]``: :func:`graphnn.sparse3d.training.predict`."""
        return training.predict(
            self, dataset, repeats, batch_size, num_workers=num_workers, progress=progress,
            device=device,
        )  # fmt: skip

    def fit(
        self,
        train,
        test=None,
        epochs: int = 10,
        *,
        batch_size: int = 32,
        optimizer: torch.optim.Optimizer | None = None,
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        lr_decay: float | None = None,
        test_every: int = 1,
        repeats: int = 1,
        loss: Loss | None = None,
        num_workers: int = 0,
        progress: bool | None = None,
        device: torch.device | str | None = None,
        on_epoch: Callable[[EpochRecord], object] | None = None,
    ) -> TrainingLog:
        """Several epochs with a log: :func:`graphnn.sparse3d.training.fit` of ``self``."""
        return training.fit(
            self, train, test, epochs, batch_size=batch_size, optimizer=optimizer, lr=lr,
            momentum=momentum, weight_decay=weight_decay, lr_decay=lr_decay,
            test_every=test_every, repeats=repeats, loss=loss, num_workers=num_workers,
            progress=progress, device=device, on_epoch=on_epoch,
        )  # fmt: skip

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f"in_features={self.in_features}, n_classes={self.n_classes}, "
            f"nodes={self.graph.number_of_nodes()}, input_spatial_size={self._input_size}"
        )


add_moved_methods(SparseNetwork)
