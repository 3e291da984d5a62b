"""From a structure to an execution plan: node order, stages, and the entries of each stage.

The compiled model keeps the nodes in *buffer order*: the inputs first (in
the order of ``G.nodes``), then every other node by layer, in the order of
``G.nodes`` inside a layer.  So the nodes of layers ``< L`` are a prefix of
the buffer.  Each layer's non-input nodes form a *stage*: one masked product
from the buffer columns its incoming edges come from (``columns``, sorted) to
its own nodes.  Skip connections are just more columns.

Planning is numpy over arrays of edges: nothing of size ``V x V`` is built,
and a structure of a million edges plans in about a second.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Hashable
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from graphnn.exceptions import StructureError
from graphnn.nn.activations import ACTIVATIONS, IDENTITY
from graphnn.structure.layering import LAYER
from graphnn.structure.roles import HIDDEN, INPUT, OUTPUT, ROLE
from graphnn.structure.validation import ACTIVATION, BIAS, WEIGHT, validated

__all__ = ["Plan", "StagePlan", "plan_from_graph", "plan_from_layers"]

_NODE_KEYS = (BIAS, ACTIVATION, LAYER, ROLE)


@dataclass(frozen=True)
class StagePlan:
    """The non-input nodes of one layer and the weight entries into them.

    Attributes
    ----------
    start, stop : int
        Buffer positions of the stage's nodes.
    columns : numpy.ndarray
        Sorted buffer positions the stage reads (all ``< start``).
    rows, cols : numpy.ndarray
        Each entry's node (``0 .. stop - start - 1``) and column (an index
        into ``columns``).
    edge_ids : numpy.ndarray
        The structure's edge behind each entry.
    activations : tuple of str
        The activation of each node of the stage.
    """

    start: int
    stop: int
    columns: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    edge_ids: np.ndarray
    activations: tuple[str, ...]


@dataclass
class Plan:
    """Everything needed to build the model and to give the structure back.

    Attributes
    ----------
    labels : list
        Node labels in buffer order.
    order : numpy.ndarray
        Buffer position of each node, in the order of ``G.nodes``.
    n_inputs : int
        The inputs are buffer positions ``0 .. n_inputs - 1``.
    outputs : numpy.ndarray
        Buffer positions of the outputs, in output order.
    layer : numpy.ndarray
        Layer of each buffer position.
    role : list of str
        Role of each buffer position.
    stages : list of StagePlan
        In buffer order.
    src, dst : numpy.ndarray
        The edges as buffer positions, in the order of ``G.edges``.
    weight : numpy.ndarray
        float64 per edge; NaN where the structure gives none.
    bias : numpy.ndarray
        float64 per buffer position; NaN where none is given (and for inputs).
    node_attrs, edge_attrs, graph_attrs : dict
        Attributes compiling does not use, kept for ``to_graph``: by buffer
        position, by edge id, and the graph's own.
    """

    labels: list
    order: np.ndarray
    n_inputs: int
    outputs: np.ndarray
    layer: np.ndarray
    role: list[str]
    stages: list[StagePlan]
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    node_attrs: dict[int, dict] = field(default_factory=dict)
    edge_attrs: dict[int, dict] = field(default_factory=dict)
    graph_attrs: dict = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.labels)

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return int(self.src.size)

    def fan_in(self) -> np.ndarray:
        """Return the number of incoming edges of each buffer position."""
        return np.bincount(self.dst, minlength=self.n_nodes)

    def fingerprint(self) -> bytes:
        """16 bytes that identify the structure (labels, edges, stages), not its parameters."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(repr(self.labels).encode())
        for array in (self.src, self.dst, np.array([(s.start, s.stop) for s in self.stages])):
            digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
        return digest.digest()


def _check_activation(name: object, where: str) -> str:
    if name not in ACTIVATIONS:
        raise ValueError(
            f"{where}: unknown activation {name!r}; accepted: {', '.join(ACTIVATIONS)}"
        )
    return name


def _scalar(value: object, where: str) -> float:
    if (
        np.ndim(value) != 0
        or isinstance(value, bool)
        or not isinstance(value, numbers.Real | np.number)
    ):
        raise StructureError(
            f"{where}={value!r}; a compiled model needs one real number per edge and node "
            "(arrays belong to convolution layers)"
        )
    return float(value)


def _default_activations(activation: object, output_activation: object) -> dict[str, str]:
    """Return the activations of the hidden and the output nodes that name none, checked."""
    return {
        HIDDEN: _check_activation(activation, "activation"),
        OUTPUT: _check_activation(
            IDENTITY if output_activation is None else output_activation, "output_activation"
        ),
    }


def plan_from_graph(
    G: nx.DiGraph, *, activation: str = "relu", output_activation: str | None = None
) -> Plan:
    """Plan the model of a structure.

    Parameters
    ----------
    G : networkx.DiGraph
        A valid structure (see :func:`graphnn.structure.validate`).  Edge
        ``weight``, node ``bias``, ``activation``, ``layer`` and ``role``
        attributes are used; others are kept for ``to_graph``.
    activation : str, default "relu"
        Activation of hidden nodes without an ``activation`` attribute.
    output_activation : str, optional
        Activation of output nodes without one; default the identity.

    Returns
    -------
    Plan

    Raises
    ------
    StructureError
        If ``G`` is not a valid structure, a weight or bias is not one real
        number, or an input carries a bias or an activation.
    ValueError
        If an activation name is unknown.

    Examples
    --------
    >>> import networkx as nx
    >>> plan = plan_from_graph(nx.DiGraph([("x", "h"), ("h", "y"), ("x", "y")]))
    >>> plan.labels, [(s.start, s.stop, s.columns.tolist()) for s in plan.stages]
    (['x', 'h', 'y'], [(1, 2, [0]), (2, 3, [0, 1])])
    """
    index, role = validated(G)
    defaults = _default_activations(activation, output_activation)
    labels, n_inputs, bounds = _buffer_order(G, index, role)
    position = {v: i for i, v in enumerate(labels)}
    bias, activations, node_attrs = _node_parameters(G, role, position, defaults)
    src, dst, weight, edge_attrs = _edge_parameters(G, position)
    return Plan(
        labels=labels,
        order=np.fromiter((position[v] for v in G), np.int64, len(labels)),
        n_inputs=n_inputs,
        outputs=np.fromiter((position[v] for v in G if role[v] == OUTPUT), np.int64),
        layer=np.fromiter((index[v] for v in labels), np.int64, len(labels)),
        role=[role[v] for v in labels],
        stages=_stages(bounds, src, dst, activations),
        src=src,
        dst=dst,
        weight=weight,
        bias=bias,
        node_attrs=node_attrs,
        edge_attrs=edge_attrs,
        graph_attrs=dict(G.graph),
    )


def _buffer_order(
    G: nx.DiGraph, index: dict[Hashable, int], role: dict[Hashable, str]
) -> tuple[list, int, list[tuple[int, int]]]:
    """Return the labels in buffer order, the number of inputs and each stage's positions.

    The inputs come first, then the other nodes layer by layer; inside a
    layer, and among the inputs, nodes keep the order of ``G.nodes``.
    """
    buckets: dict[int, list[Hashable]] = {}
    for v in G:
        if role[v] != INPUT:
            buckets.setdefault(index[v], []).append(v)
    labels = [v for v in G if role[v] == INPUT]
    n_inputs = len(labels)
    bounds = []
    for layer in sorted(buckets):
        bounds.append((len(labels), len(labels) + len(buckets[layer])))
        labels += buckets[layer]
    return labels, n_inputs, bounds


def _node_parameters(
    G: nx.DiGraph,
    role: dict[Hashable, str],
    position: dict[Hashable, int],
    defaults: dict[str, str],
) -> tuple[np.ndarray, list[str], dict[int, dict]]:
    """Return each buffer position's bias (NaN: none given) and activation, and other attributes.

    Raises
    ------
    StructureError
        If an input has a bias or an activation, or a bias is not one real number.
    ValueError
        If a node names an unknown activation.
    """
    bias = np.full(len(position), np.nan)
    activations: list[str] = [IDENTITY] * len(position)
    node_attrs: dict[int, dict] = {}
    for v, data in G.nodes(data=True):
        i = position[v]
        if role[v] == INPUT:
            _check_input_attributes(v, data)
        else:
            if data.get(BIAS) is not None:
                bias[i] = _scalar(data[BIAS], f"node {v!r} has {BIAS}")
            name = data.get(ACTIVATION)
            activations[i] = (
                defaults[role[v]] if name is None else _check_activation(name, f"node {v!r}")
            )
        extra = {k: value for k, value in data.items() if k not in _NODE_KEYS}
        if extra:
            node_attrs[i] = extra
    return bias, activations, node_attrs


def _check_input_attributes(v: Hashable, data: dict) -> None:
    """Raise if the input ``v`` carries a bias or an activation (inputs are not computed)."""
    for key in (BIAS, ACTIVATION):
        if data.get(key) is not None:
            raise StructureError(
                f"input node {v!r} has {key}={data[key]!r}; inputs are not computed, "
                f"so they take no {key}",
                nodes=[v],
            )


def _edge_parameters(
    G: nx.DiGraph, position: dict[Hashable, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, dict]]:
    """Return the edges as buffer positions, their weights (NaN: none given), other attributes.

    All in the order of ``G.edges``.  This is the hot loop of planning, kept
    inline: only a weight that is not a Python float costs a call.

    Raises
    ------
    StructureError
        If a weight is not one real number.
    """
    m = G.number_of_edges()
    src = np.empty(m, dtype=np.int64)
    dst = np.empty(m, dtype=np.int64)
    weight = np.full(m, np.nan)
    edge_attrs: dict[int, dict] = {}
    for e, (u, v, data) in enumerate(G.edges(data=True)):
        src[e] = position[u]
        dst[e] = position[v]
        if data:
            w = data.get(WEIGHT)
            if w is not None:
                weight[e] = w if type(w) is float else _scalar(w, f"edge {u!r} -> {v!r} has weight")
            if len(data) > (WEIGHT in data):
                edge_attrs[e] = {k: value for k, value in data.items() if k != WEIGHT}
    return src, dst, weight, edge_attrs


def plan_from_layers(
    widths: np.ndarray,
    tails: np.ndarray,
    heads: np.ndarray,
    *,
    activation: str = "relu",
    output_activation: str | None = None,
) -> Plan:
    """Plan a layered network given by arrays (see ``graphnn.generators.layered_edges``).

    Nodes are ``0 .. sum(widths) - 1`` numbered layer by layer; every edge
    must go from a layer to a later one.  This skips building a networkx
    graph, for large networks.

    Raises
    ------
    ValueError
        If an edge does not go to a later layer, or an activation is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> plan = plan_from_layers(np.array([2, 1]), np.array([0, 1]), np.array([2, 2]))
    >>> plan.n_inputs, plan.outputs.tolist(), plan.stages[0].columns.tolist()
    (2, [2], [0, 1])
    """
    defaults = _default_activations(activation, output_activation)
    widths = np.asarray(widths, dtype=np.int64)
    tails, heads = np.asarray(tails, dtype=np.int64), np.asarray(heads, dtype=np.int64)
    n = int(widths.sum())
    layer = np.repeat(np.arange(widths.size), widths)
    if tails.size and (tails.min() < 0 or heads.max() >= n or np.any(layer[tails] >= layer[heads])):
        raise ValueError("every edge must go from a node of one layer to a node of a later layer")
    starts = np.concatenate(([0], np.cumsum(widths)))
    last = widths.size - 1
    role = [INPUT if k == 0 else OUTPUT if k == last else HIDDEN for k in layer.tolist()]
    activations = [IDENTITY if r == INPUT else defaults[r] for r in role]
    bounds = [(int(starts[k]), int(starts[k + 1])) for k in range(1, widths.size)]
    return Plan(
        labels=list(range(n)),
        order=np.arange(n),
        n_inputs=int(widths[0]),
        outputs=np.arange(int(starts[-2]), n),
        layer=layer,
        role=role,
        stages=_stages(bounds, tails, heads, activations),
        src=tails,
        dst=heads,
        weight=np.full(tails.size, np.nan),
        bias=np.full(n, np.nan),
    )


def _stages(
    bounds: list[tuple[int, int]], src: np.ndarray, dst: np.ndarray, activations: list[str]
) -> list[StagePlan]:
    by_target = np.argsort(dst, kind="stable")
    sorted_dst = dst[by_target]
    stages = []
    for start, stop in bounds:
        lo, hi = np.searchsorted(sorted_dst, [start, stop])
        edge_ids = by_target[lo:hi]
        sources = src[edge_ids]
        assert sources.size == 0 or sources.max() < start, "an edge reads a later node"
        columns = np.unique(sources)
        stages.append(
            StagePlan(
                start=start,
                stop=stop,
                columns=columns,
                rows=dst[edge_ids] - start,
                cols=np.searchsorted(columns, sources),
                edge_ids=edge_ids,
                activations=tuple(activations[start:stop]),
            )
        )
    return stages


def init_bounds(fan_in: np.ndarray) -> np.ndarray:
    """``1 / sqrt(fan_in)`` (0 where ``fan_in`` is 0): the bound of the uniform initialisation."""
    with np.errstate(divide="ignore"):
        bound = 1.0 / np.sqrt(fan_in.astype(np.float64))
    bound[fan_in == 0] = 0.0
    return bound
