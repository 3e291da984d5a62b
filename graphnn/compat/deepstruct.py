"""pyPaddle / deepstruct compatibility: migrating a script means changing its imports.

``from deepstruct.sparse import MaskedDeepFFN`` becomes
``from graphnn.compat.deepstruct import MaskedDeepFFN`` (or ``graphnn.compat``), and likewise for
:class:`MaskedDeepDAN`, :class:`LayeredGraph`, :class:`CachedLayeredGraph`,
:class:`MaskedLinearLayer`, :func:`maskable_layers` and :func:`prunable_layers`.
The models are graphnn models (a :class:`~graphnn.nn.MaskedFFN` and a
:class:`~graphnn.nn.MaskedDAG`), so ``to_graph()`` and the rest of graphnn
work on them.

What differs from deepstruct on purpose (each is said again where it applies):

* ``recompute_mask`` keeps masked connections masked (deepstruct's brought
  back every one whose weight passes the threshold); ``resurrect=True`` does
  what deepstruct did.
* :class:`MaskedDeepDAN` connects *every* sink of the structure to the
  outputs (deepstruct: only its last layer), and each unit sums all its
  inputs before one activation (deepstruct: one activation per skip layer).
* ``use_layer_norm=True`` raises: graphnn's units have no layer normalisation.
* Graphs keep any hashable labels, order a layer's nodes as ``G.nodes``, and
  ``save``/``load`` keep labels and attributes (deepstruct relabels to ints).

Examples
--------
>>> import torch
>>> model = MaskedDeepFFN((1, 28, 28), 10, [100, 100])
>>> model(torch.zeros(2, 1, 28, 28)).shape
torch.Size([2, 10])
>>> structure = model.recompute_mask(0.05).generate_structure()
>>> structure.layers, structure.first_layer_size, structure.number_of_edges() < 10_000
([0, 1], 100, True)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import BinaryIO, Self

import networkx as nx
import torch
from torch import nn

from graphnn._validation import check_int, fmt_nodes, require_digraph
from graphnn.exceptions import StructureError
from graphnn.nn.dag import MaskedDAG
from graphnn.nn.ffn import MaskedFFN, flat_input_size
from graphnn.nn.masked_linear import MaskedLinear
from graphnn.structure.graphml import read_graphml, write_graphml
from graphnn.structure.layering import LAYER, layer_index
from graphnn.structure.roles import ROLE

__all__ = [
    "MaskedDeepFFN",
    "MaskedDeepDAN",
    "LayeredGraph",
    "CachedLayeredGraph",
    "MaskedLinearLayer",
    "maskable_layers",
    "prunable_layers",
]

_Table = tuple[dict[Hashable, int], dict[int, list[Hashable]]]


# --- graphs ----------------------------------------------------------------------------------


class LayeredGraph(nx.DiGraph):
    """A ``networkx.DiGraph`` with deepstruct's layer queries.

    The layers are graphnn's (:func:`graphnn.layer_index`): ``0`` for a
    source, else one more than its highest predecessor; an explicit
    ``layer`` node attribute overrides that.  Each query computes the
    layering anew; :class:`CachedLayeredGraph` keeps it until the graph
    changes.  Unlike deepstruct, any hashable labels work, a layer's nodes are
    in the order of ``G.nodes``, and a cycle raises a
    :class:`~graphnn.StructureError` naming it.

    Examples
    --------
    >>> G = LayeredGraph([(0, 2), (1, 2), (2, 3), (0, 3)])
    >>> G.layers, G.num_layers, G.get_vertices(0), G.get_layer(3)
    ([0, 1, 2], 3, [0, 1], 2)
    >>> G.layer_connected(0, 2), G.layer_connection_size(2, 0), G.last_layer_size
    (True, 1, 1)
    """

    def _table(self) -> _Table:
        index = layer_index(self)
        by_layer: dict[int, list[Hashable]] = {}
        for v, layer in index.items():
            by_layer.setdefault(layer, []).append(v)
        return index, dict(sorted(by_layer.items()))

    @property
    def layers(self) -> list[int]:
        """The layers that hold a node, ascending (``[]`` for an empty graph)."""
        return list(self._table()[1])

    @property
    def num_layers(self) -> int:
        """The number of layers that hold a node."""
        return len(self._table()[1])

    @property
    def first_layer(self) -> int:
        """The lowest layer; ``IndexError`` for an empty graph (as deepstruct)."""
        return self._end_layer(0)

    @property
    def last_layer(self) -> int:
        """The highest layer; ``IndexError`` for an empty graph (as deepstruct)."""
        return self._end_layer(-1)

    @property
    def first_layer_size(self) -> int:
        """The number of nodes in the first layer."""
        return self.get_layer_size(self.first_layer)

    @property
    def last_layer_size(self) -> int:
        """The number of nodes in the last layer."""
        return self.get_layer_size(self.last_layer)

    def _end_layer(self, end: int) -> int:
        layers = self.layers
        if not layers:
            raise IndexError("the graph is empty, so it has no first or last layer")
        return layers[end]

    def get_layer(self, vertex: Hashable) -> int:
        """Return the layer of ``vertex`` (``KeyError`` if it is not a node)."""
        index = self._table()[0]
        if vertex not in index:
            raise KeyError(f"node {vertex!r} is not in the graph")
        return index[vertex]

    def get_vertices(self, layer: int) -> list[Hashable]:
        """Return the nodes of ``layer`` in the order of ``G.nodes`` (a new list)."""
        return list(_members(self._table()[1], layer))

    def get_layer_size(self, layer: int) -> int:
        """Return the number of nodes in ``layer``."""
        return len(_members(self._table()[1], layer))

    def layer_connected(self, layer_index1: int, layer_index2: int) -> bool:
        """Whether an edge joins the two layers (in either order)."""
        return self.layer_connection_size(layer_index1, layer_index2) > 0

    def layer_connection_size(self, layer_index1: int, layer_index2: int) -> int:
        """Return the number of edges between the two layers (in either order).

        Raises
        ------
        ValueError
            If the two layers are the same: no edge joins a layer to itself.
        KeyError
            If a layer holds no node.
        """
        if layer_index1 == layer_index2:
            raise ValueError(
                f"layer {layer_index1!r} has no connections inside itself; give two layers"
            )
        low, high = sorted((layer_index1, layer_index2))
        index, by_layer = self._table()
        _members(by_layer, high)
        return sum(index[w] == high for u in _members(by_layer, low) for w in self._succ[u])

    def save(self, path: str | os.PathLike | BinaryIO) -> None:
        """Write the graph as GraphML; :meth:`load` gives back the same labels and attributes."""
        write_graphml(self, path)

    @staticmethod
    def load(path: str | os.PathLike | BinaryIO) -> CachedLayeredGraph:
        """Read a graph written by :meth:`save` (or any GraphML file)."""
        return LayeredGraph.load_from(read_graphml(path))

    @staticmethod
    def load_from(graph: nx.DiGraph) -> CachedLayeredGraph:
        """Return a :class:`CachedLayeredGraph` copy of ``graph``, labels and attributes kept.

        deepstruct relabelled the nodes ``0 .. n-1`` and dropped attributes.
        """
        require_digraph(graph)
        return CachedLayeredGraph(graph)


def _members(by_layer: dict[int, list[Hashable]], layer: int) -> list[Hashable]:
    if layer not in by_layer:
        raise KeyError(f"no node is in layer {layer!r}; the layers are {list(by_layer)}")
    return by_layer[layer]


def _clears_cache(method: Callable) -> Callable:
    def mutate(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        finally:
            self._cache = None

    mutate.__name__, mutate.__qualname__ = method.__name__, f"CachedLayeredGraph.{method.__name__}"
    mutate.__doc__ = f"As ``networkx.DiGraph.{method.__name__}``; forgets the cached layers."
    return mutate


class CachedLayeredGraph(LayeredGraph):
    """A :class:`LayeredGraph` that computes its layers once until it changes.

    Every mutating method of ``networkx.DiGraph`` (``add_*``, ``remove_*``,
    ``update``, ``clear``, ``clear_edges``) forgets the cache, so do the
    networkx functions built on them (``nx.add_path``,
    ``nx.relabel_nodes(G, m, copy=False)``, ...).  A view (``G.subgraph``,
    ``G.reverse(copy=False)``) never caches, as its base graph may change.
    Writing a ``layer`` attribute in place (``G.nodes[v]["layer"] = 2``) is not
    seen: use ``G.add_node(v, layer=2)``.

    Examples
    --------
    >>> G = CachedLayeredGraph([(0, 1)])
    >>> G.num_layers
    2
    >>> G.add_edge(1, 2)
    >>> G.num_layers, G.get_vertices(2)
    (3, [2])
    """

    def __init__(self, incoming_graph_data=None, **attr) -> None:
        self._cache: _Table | None = None
        super().__init__(incoming_graph_data, **attr)

    add_node = _clears_cache(nx.DiGraph.add_node)
    add_nodes_from = _clears_cache(nx.DiGraph.add_nodes_from)
    remove_node = _clears_cache(nx.DiGraph.remove_node)
    remove_nodes_from = _clears_cache(nx.DiGraph.remove_nodes_from)
    add_edge = _clears_cache(nx.DiGraph.add_edge)
    add_edges_from = _clears_cache(nx.DiGraph.add_edges_from)
    add_weighted_edges_from = _clears_cache(nx.DiGraph.add_weighted_edges_from)
    remove_edge = _clears_cache(nx.DiGraph.remove_edge)
    remove_edges_from = _clears_cache(nx.DiGraph.remove_edges_from)
    update = _clears_cache(nx.DiGraph.update)
    clear = _clears_cache(nx.DiGraph.clear)
    clear_edges = _clears_cache(nx.DiGraph.clear_edges)

    def _table(self) -> _Table:
        if "_graph" in self.__dict__:  # a view: networkx sets _graph to the graph it shows
            return super()._table()
        if self._cache is None:
            self._cache = super()._table()
        return self._cache


# --- layers ----------------------------------------------------------------------------------


class MaskedLinearLayer(MaskedLinear):
    """deepstruct's ``MaskedLinearLayer``: a :class:`~graphnn.nn.MaskedLinear` and its idioms.

    ``layer.mask = m`` is checked like :meth:`~graphnn.nn.MaskedLinear.set_mask`
    (the shape of ``weight``, 0/1 or bool, within the layer's pattern;
    deepstruct stored any tensor), ``layer.saliency`` reads and sets the
    scores, and ``layer.recompute_mask(theta)`` keeps masked connections masked
    (``resurrect=True`` lets them back, as deepstruct did).  deepstruct's
    ``keep_layer_input`` and ``mask_as_params`` are not offered.

    Examples
    --------
    >>> import torch
    >>> layer = MaskedLinearLayer(3, 2)
    >>> layer.mask = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    >>> layer.get_weight_count()
    tensor(3)
    """

    def get_weight_count(self) -> torch.Tensor:
        """Return the number of live connections as a 0-d tensor (as deepstruct)."""
        return self.mask.sum()


def maskable_layers(model: nn.Module) -> Iterator[MaskedLinear]:
    """Yield the masked layers of ``model`` (itself included), in ``model.modules()`` order.

    Examples
    --------
    >>> from torch import nn
    >>> model = nn.Sequential(MaskedLinearLayer(4, 3), nn.ReLU(), MaskedLinear(3, 2))
    >>> [layer.out_features for layer in maskable_layers(model)]
    [3, 2]
    """
    return (m for m in model.modules() if isinstance(m, MaskedLinear))


#: deepstruct's older name of :func:`maskable_layers`.
prunable_layers = maskable_layers


# --- models ----------------------------------------------------------------------------------


def _check_layer_norm(use_layer_norm: bool) -> None:
    if use_layer_norm:
        raise ValueError(
            "use_layer_norm=True is not supported: a graphnn unit computes "
            "activation(bias + sum of weighted inputs) on its own, with no normalisation across "
            "a layer; leave use_layer_norm=False (deepstruct's default)"
        )


class _MaskableModel:
    """What deepstruct's ``MaskableModule`` adds to a compiled model (a mixin)."""

    layer_type = MaskedLinearLayer

    def recompute_mask(self, theta: float = 0.0001, *, resurrect: bool = False) -> Self:
        """Mask every connection whose saliency (``|weight|``) is below ``theta``; return the model.

        graphnn never brings a masked connection back unless ``resurrect=True``;
        deepstruct's layers recomputed their masks from the weights alone, so
        a masked weight still above ``theta`` came back (unless ``apply_mask()``
        had zeroed it): ``resurrect=True`` does that.
        """
        return super().recompute_mask(theta, resurrect=resurrect)

    @property
    def maskable_children(self) -> Iterator[MaskedLinear]:
        """The masked layers (see :func:`maskable_layers`)."""
        return maskable_layers(self)


class MaskedDeepFFN(_MaskableModel, MaskedFFN):
    """deepstruct's ``MaskedDeepFFN``: a complete feed-forward network of masked layers.

    ReLU hidden units and linear outputs, as a :class:`~graphnn.nn.MaskedFFN`
    (so everything it has works too).  Its masked layers are
    :class:`MaskedLinearLayer` instances.

    Parameters
    ----------
    size_input : int or tuple of int
        Number of inputs; a shape such as ``(1, 28, 28)`` is flattened.
    size_output : int
        Number of outputs.
    hidden_layers : sequence of int
        Widths of the hidden layers.
    use_layer_norm : bool, default False
        Must be false (graphnn's units have no layer normalisation).
    layout, dtype, device : keyword only
        As for :class:`~graphnn.nn.MaskedDAG`.

    Raises
    ------
    ValueError
        If ``use_layer_norm`` is true or a size is not a positive int.

    Examples
    --------
    >>> model = MaskedDeepFFN(784, 10, [100, 50])
    >>> model.generate_structure().number_of_edges()
    5000
    >>> model.generate_structure(include_input=True, include_output=True).layers
    [0, 1, 2, 3]
    """

    def __init__(
        self,
        size_input: int | Sequence[int],
        size_output: int,
        hidden_layers: Sequence[int],
        use_layer_norm: bool = False,
        *,
        layout: str = "auto",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        _check_layer_norm(use_layer_norm)
        super().__init__(
            size_input, size_output, hidden_layers, layout=layout, dtype=dtype, device=device
        )

    def generate_structure(
        self, include_input: bool = False, include_output: bool = False
    ) -> CachedLayeredGraph:
        """Return the live connections as a graph with nodes ``0, 1, ...`` in layer order.

        By default the hidden layers only; ``include_input`` and
        ``include_output`` add the input and output layers (numbered as
        deepstruct numbers them).  Units that lost all their connections stay,
        as isolated nodes (deepstruct dropped them).

        Returns
        -------
        CachedLayeredGraph
        """
        widths = [self.n_inputs, *self.hidden_sizes, self.output_size]
        first = 0 if include_input else 1
        stop = len(widths) if include_output else len(widths) - 1
        start = sum(widths[:first])
        return _live(self.to_graph(), {v: v - start for v in range(start, sum(widths[:stop]))})


class MaskedDeepDAN(_MaskableModel, MaskedDAG):
    """deepstruct's ``MaskedDeepDAN``: a network on a given DAG, with dense adapters.

    The compiled structure has the input units ``("input", i)``, every
    input connected to every source of ``structure`` (its layer 0), the
    structure's own nodes and edges, and the output units ``("output", j)``
    fed by *every* sink of the structure, so no unit is dead (deepstruct fed
    the outputs from the last layer only).  Hidden units are ReLU, outputs
    linear.  Its masked layers are :class:`MaskedLinearLayer` instances.

    Parameters
    ----------
    size_input : int or tuple of int
        Number of inputs; a shape is flattened.
    size_output : int
        Number of outputs.
    structure : networkx.DiGraph
        A DAG with any hashable labels: a plain ``DiGraph``, a
        :class:`LayeredGraph`, or deepstruct's (``CachedLayeredGraph`` is a
        ``DiGraph``).  Its node and edge attributes are kept (a ``weight``,
        ``bias`` or ``activation`` is used) except ``role`` and ``layer``,
        which the adapters redefine.
    use_layer_norm : bool, default False
        Must be false (graphnn's units have no layer normalisation).
    layout, dtype, device : keyword only
        As for :class:`~graphnn.nn.MaskedDAG`.

    Raises
    ------
    ValueError
        If ``use_layer_norm`` is true, a size is not a positive int, or the
        structure is empty.
    StructureError
        If the structure has a cycle, or nodes labelled like the adapters.

    Notes
    -----
    A graphnn unit sums all its weighted inputs, adds one bias and applies
    one activation: ``relu(b + sum_u w_u h_u)``.  deepstruct kept one masked
    layer (with its own bias) per pair of connected layers and summed the
    *activated* results, ``relu(W x + b) + relu(W' x' + b')``, for a unit with
    skip connections.  Without skip connections the two agree.

    Examples
    --------
    >>> import torch
    >>> structure = CachedLayeredGraph([(0, 2), (1, 2), (2, 3), (0, 3), (1, 4)])
    >>> model = MaskedDeepDAN(784, 10, structure)
    >>> model(torch.zeros(3, 1, 28, 28)).shape
    torch.Size([3, 10])
    >>> sorted(model.to_graph().predecessors(("output", 0)))  # the sinks 3 and 4
    [3, 4]
    >>> list(model.generate_structure().edges) == list(structure.edges)
    True
    """

    def __init__(
        self,
        size_input: int | Sequence[int],
        size_output: int,
        structure: nx.DiGraph,
        use_layer_norm: bool = False,
        *,
        layout: str = "auto",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        _check_layer_norm(use_layer_norm)
        graph = _dan_graph(flat_input_size(size_input, "size_input"), size_output, structure)
        super().__init__(graph, layout=layout, dtype=dtype, device=device)

    def generate_structure(
        self, include_input: bool = False, include_output: bool = False
    ) -> CachedLayeredGraph:
        """Return the structure's nodes (its own labels) and their live connections.

        ``include_input`` and ``include_output`` add the adapter units
        ``("input", i)`` and ``("output", j)`` and their live connections.
        The result has no parameters (as deepstruct's); ``to_graph()`` has them.

        Returns
        -------
        CachedLayeredGraph
        """
        graph = self.to_graph()
        inputs, outputs = self.input_nodes, self.output_nodes
        adapters = {*inputs, *outputs}
        nodes = [v for v in graph if v not in adapters]
        nodes = (inputs if include_input else []) + nodes + (outputs if include_output else [])
        return _live(graph, {v: v for v in nodes})


def _live(graph: nx.DiGraph, rename: dict[Hashable, Hashable]) -> CachedLayeredGraph:
    """Return the nodes ``rename`` keeps, renamed, in its order, and the edges among them."""
    structure = CachedLayeredGraph()
    structure.add_nodes_from(rename.values())
    structure.add_edges_from(
        (rename[u], rename[v]) for u, v in graph.edges if u in rename and v in rename
    )
    return structure


def _dan_graph(n_inputs: int, size_output: int, structure: nx.DiGraph) -> nx.DiGraph:
    """Return the structure between dense adapters: inputs -> sources, sinks -> outputs."""
    check_int("size_output", size_output, low=1)
    require_digraph(structure)
    if structure.number_of_nodes() == 0:
        raise ValueError("structure is empty; MaskedDeepDAN needs at least one node")
    inputs = [("input", i) for i in range(n_inputs)]
    outputs = [("output", j) for j in range(size_output)]
    clash = [v for v in (*inputs, *outputs) if v in structure]
    if clash:
        raise StructureError(
            f"structure has nodes {fmt_nodes(clash)}, the labels of MaskedDeepDAN's input and "
            "output units; relabel them (e.g. with graphnn.relabel)",
            nodes=clash,
        )
    graph = nx.DiGraph()
    graph.graph.update(structure.graph)
    graph.add_nodes_from(inputs)
    graph.add_nodes_from(
        (v, {k: x for k, x in data.items() if k not in (ROLE, LAYER)})
        for v, data in structure.nodes(data=True)
    )
    graph.add_nodes_from(outputs)
    graph.add_edges_from((x, v) for v, d in structure.in_degree() if d == 0 for x in inputs)
    graph.add_edges_from(structure.edges(data=True))
    graph.add_edges_from((v, y) for v, d in structure.out_degree() if d == 0 for y in outputs)
    return graph
