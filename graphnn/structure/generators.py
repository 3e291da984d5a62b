"""Random and regular structures: oriented random graphs, random DAGs, layered nets.

Every generator returns a ``networkx.DiGraph`` without cycles whose nodes are
ints.  The classical random-graph models (Erdős-Rényi, Watts-Strogatz,
Barabási-Albert) are networkx's own, turned into DAGs by :func:`orient`; an int
``seed`` is passed to networkx unchanged, so ``erdos_renyi_dag(n, p, seed=s)``
equals ``orient(networkx.gnp_random_graph(n, p, seed=s))``, and a numpy
``Generator`` seeds them through :func:`graphnn._random.nx_seed`.  The others draw
from a numpy ``Generator`` made once from ``seed``, and sample the edges of
whole blocks of node pairs at once, so a million edges take about as long as
networkx needs to store them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import networkx as nx
import numpy as np

from graphnn._random import SeedLike, as_rng, nx_seed
from graphnn._validation import (
    check_int,
    check_probability,
    fmt_nodes,
    require_no_self_loops,
)
from graphnn.exceptions import StructureError
from graphnn.structure._sampling import bernoulli_pairs

__all__ = [
    "orient",
    "erdos_renyi_dag",
    "watts_strogatz_dag",
    "barabasi_albert_dag",
    "random_dag",
    "layered",
    "layered_edges",
    "randwire",
]

#: The random-graph models :func:`randwire` accepts.
RANDWIRE_MODELS = ("er", "ba", "ws")


def orient(G: nx.Graph, order: Iterable[Hashable] | None = None) -> nx.DiGraph:
    """Orient every edge of an undirected graph from the earlier to the later node.

    Parameters
    ----------
    G : networkx.Graph
        An undirected simple graph (no self-loops).
    order : iterable of nodes, optional
        A permutation of the nodes of ``G``.  Each edge ``{u, v}`` goes from
        the node that comes first in ``order`` to the other.  Default: the
        order of ``G.nodes`` (for networkx's generators, the node index).

    Returns
    -------
    networkx.DiGraph
        A DAG with the nodes of ``G`` in the order of ``G.nodes`` and copies
        of its node, edge and graph attribute dicts (values are shared).

    Raises
    ------
    StructureError
        If ``G`` is directed, a multigraph, or has self-loops (named).
    ValueError
        If ``order`` is not a permutation of the nodes of ``G``.
    TypeError
        If ``G`` is not a networkx graph.

    Examples
    --------
    >>> import networkx as nx
    >>> D = orient(nx.cycle_graph(3))
    >>> list(D.edges)
    [(0, 1), (0, 2), (1, 2)]
    >>> list(orient(nx.path_graph(3), order=[2, 1, 0]).edges)
    [(1, 0), (2, 1)]
    """
    if not isinstance(G, nx.Graph):
        raise TypeError(f"expected an undirected networkx.Graph, got {type(G).__name__}")
    if G.is_directed() or G.is_multigraph():
        raise StructureError(
            f"orient expects an undirected simple networkx.Graph, got a {type(G).__name__}; "
            "convert it with networkx.Graph(G) first"
        )
    require_no_self_loops(G, "remove them first: a self-loop cannot be oriented into a DAG")
    position = _positions(G, order)
    D = nx.DiGraph()
    D.graph.update(G.graph)
    D.add_nodes_from(G.nodes(data=True))
    D.add_edges_from(
        (u, v, d) if position[u] < position[v] else (v, u, d) for u, v, d in G.edges(data=True)
    )
    return D


def _positions(G: nx.Graph, order: Iterable[Hashable] | None) -> dict[Hashable, int]:
    if order is None:
        return {v: i for i, v in enumerate(G)}
    order = list(order)
    position = {}
    for i, v in enumerate(order):
        if v not in G:
            raise ValueError(f"order contains {v!r}, which is not a node of the graph")
        if v in position:
            raise ValueError(f"order contains node {v!r} twice; it must be a permutation")
        position[v] = i
    if len(position) < len(G):
        missing = [v for v in G if v not in position]
        raise ValueError(f"order lacks nodes {fmt_nodes(missing)}; it must be a permutation")
    return position


def erdos_renyi_dag(n: int, p: float, seed: SeedLike = None) -> nx.DiGraph:
    """Return ``orient(networkx.gnp_random_graph(n, p, seed))``.

    Parameters
    ----------
    n : int
        Number of nodes (at least 1), labelled ``0 .. n-1``.
    p : float
        Probability of each edge, in ``[0, 1]``.
    seed : None, int or numpy.random.Generator, optional
        An int is passed to networkx unchanged.

    Returns
    -------
    networkx.DiGraph
        Every edge goes from the lower to the higher label.

    Raises
    ------
    ValueError, TypeError
        If ``n`` or ``p`` is out of range or of the wrong type.

    Examples
    --------
    >>> D = erdos_renyi_dag(6, 0.5, seed=1)
    >>> all(u < v for u, v in D.edges)
    True
    """
    check_int("n", n, low=1)
    check_probability("p", p)
    return orient(nx.gnp_random_graph(n, p, seed=nx_seed(seed)))


def watts_strogatz_dag(n: int, k: int, p: float, seed: SeedLike = None) -> nx.DiGraph:
    """Return ``orient(networkx.watts_strogatz_graph(n, k, p, seed))``.

    Parameters
    ----------
    n : int
        Number of nodes (at least 1), labelled ``0 .. n-1``.
    k : int
        Each node starts joined to its ``k`` nearest ring neighbours
        (``k - 1`` when ``k`` is odd, as in networkx); ``0 <= k <= n``.
    p : float
        Probability of rewiring each edge, in ``[0, 1]``.
    seed : None, int or numpy.random.Generator, optional
        An int is passed to networkx unchanged.

    Returns
    -------
    networkx.DiGraph
        Every edge goes from the lower to the higher label.

    Raises
    ------
    ValueError, TypeError
        If an argument is out of range or of the wrong type.

    Examples
    --------
    >>> D = watts_strogatz_dag(8, 4, 0.0)
    >>> D.number_of_edges(), sorted(D.succ[0])
    (16, [1, 2, 6, 7])
    """
    check_int("n", n, low=1)
    check_int("k", k, low=0, high=n, what=f"between 0 and n = {n}")
    check_probability("p", p)
    return orient(nx.watts_strogatz_graph(n, k, p, seed=nx_seed(seed)))


def barabasi_albert_dag(n: int, m: int, seed: SeedLike = None) -> nx.DiGraph:
    """Return ``orient(networkx.barabasi_albert_graph(n, m, seed))``.

    Parameters
    ----------
    n : int
        Number of nodes (at least 2), labelled ``0 .. n-1``.
    m : int
        Edges from each new node to existing ones; ``1 <= m < n``.
    seed : None, int or numpy.random.Generator, optional
        An int is passed to networkx unchanged.

    Returns
    -------
    networkx.DiGraph
        Every edge goes from the lower (older) to the higher (newer) label.

    Raises
    ------
    ValueError, TypeError
        If an argument is out of range or of the wrong type.

    Examples
    --------
    >>> barabasi_albert_dag(10, 2, seed=0).number_of_edges()
    16
    """
    check_int("n", n, low=2)
    check_int("m", m, low=1, high=n - 1, what=f"between 1 and n - 1 = {n - 1}")
    return orient(nx.barabasi_albert_graph(n, m, seed=nx_seed(seed)))


def random_dag(n: int, p: float, seed: SeedLike = None) -> nx.DiGraph:
    """Return a random DAG: each pair in a random order is an edge with probability ``p``.

    A topological order is drawn uniformly (a random permutation of the
    labels); then each of the ``n (n - 1) / 2`` pairs (earlier, later) is an
    edge independently with probability ``p``.

    Parameters
    ----------
    n : int
        Number of nodes (at least 1), labelled ``0 .. n-1``.
    p : float
        Probability of each edge, in ``[0, 1]``.
    seed : None, int or numpy.random.Generator, optional
        ``None`` draws fresh entropy, an int gives a reproducible result, a
        ``Generator`` is used (and advanced).

    Returns
    -------
    networkx.DiGraph
        Nodes in label order, edges sorted by (source, target) label.  Label
        order is in general *not* a topological order, which makes these
        graphs good test inputs.

    Raises
    ------
    ValueError, TypeError
        If ``n`` or ``p`` is out of range or of the wrong type.

    Examples
    --------
    >>> D = random_dag(5, 1.0, seed=0)
    >>> D.number_of_edges()
    10
    >>> import networkx as nx
    >>> nx.is_directed_acyclic_graph(random_dag(50, 0.3, seed=1))
    True

    Notes
    -----
    The number of edges is drawn from the binomial distribution, then that
    many pairs without replacement, so time and memory are O(n + m) for ``m``
    edges, not O(n²).
    """
    check_int("n", n, low=1)
    check_probability("p", p)
    rng = as_rng(seed)
    order = rng.permutation(n)
    # Block j (one per later position j >= 1) holds the pairs (j, i) for i < j.
    later = np.arange(1, n, dtype=np.int64)
    head, tail = bernoulli_pairs(rng, later, np.ones_like(later), np.zeros_like(later), later, p)
    tail, head = order[tail], order[head]
    by_tail = np.lexsort((head, tail))
    return _graph(n, tail[by_tail], head[by_tail])


def layered(
    sizes: Sequence[int],
    density: float = 1.0,
    skip_density: float = 0.0,
    seed: SeedLike = None,
) -> nx.DiGraph:
    """Return a random layered feed-forward structure with the given layer widths.

    Nodes are ``0 .. N-1``, numbered layer by layer.  Each pair of nodes in
    consecutive layers is an edge with probability ``density``; each pair in
    layers ``i`` and ``j >= i + 2`` is a skip-layer edge with probability
    ``skip_density``.  Then, so that no unit is dead and the layers are as
    asked, every node of a layer ``>= 1`` without a predecessor in the
    previous layer gets one, and every node of a layer before the last without
    a successor in the next layer gets one, each chosen uniformly.

    Parameters
    ----------
    sizes : sequence of int
        Widths of the layers, at least two, each at least 1.
    density : float, default 1.0
        Probability of each edge between consecutive layers, in ``[0, 1]``.
    skip_density : float, default 0.0
        Probability of each skip-layer edge, in ``[0, 1]``.
    seed : None, int or numpy.random.Generator, optional
        ``None`` draws fresh entropy, an int gives a reproducible result, a
        ``Generator`` is used (and advanced).

    Returns
    -------
    networkx.DiGraph
        ``layers(G)`` has exactly the widths ``sizes``; inputs are layer 0,
        outputs the last layer, and there are no dead units.  Edges are
        sorted by (source, target).

    Raises
    ------
    ValueError, TypeError
        If an argument is out of range or of the wrong type.

    Examples
    --------
    >>> G = layered([2, 3, 1])  # the complete 2-3-1 network
    >>> G.number_of_edges()
    9
    >>> from graphnn.structure.layering import layers
    >>> layers(layered([4, 8, 8, 2], density=0.1, skip_density=0.1, seed=0))
    [[0, 1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11], [12, 13, 14, 15, 16, 17, 18, 19], [20, 21]]

    Notes
    -----
    Because of the added edges the realised density between consecutive
    layers is slightly above ``density`` when ``density`` is small (each
    node gets at least one predecessor and one successor).  With
    ``density=1`` and ``skip_density=0`` the result is the complete layered
    network.  Time and memory are O(N + m) for ``m`` edges.
    """
    widths, tail, head = layered_edges(sizes, density, skip_density, seed)
    return _graph(int(widths.sum()), tail, head)


def layered_edges(
    sizes: Sequence[int],
    density: float = 1.0,
    skip_density: float = 0.0,
    seed: SeedLike = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the edges :func:`layered` draws, as arrays, without building a graph.

    For networks too large to hold comfortably as a networkx graph (a model
    can be compiled from these arrays directly).  Same arguments, same
    random draws and the same edges as :func:`layered`.

    Returns
    -------
    tuple of numpy.ndarray
        ``(widths, tails, heads)``: the int64 layer widths, and the edges
        ``tails[i] -> heads[i]`` between nodes ``0 .. sum(widths) - 1``
        sorted by (tail, head).

    Raises
    ------
    ValueError, TypeError
        If an argument is out of range or of the wrong type.

    Examples
    --------
    >>> widths, tails, heads = layered_edges([2, 1])
    >>> widths.tolist(), tails.tolist(), heads.tolist()
    ([2, 1], [0, 1], [2, 2])
    """
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a sequence of ints, got {type(sizes).__name__}")
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least 2 layers (input and output), got {sizes!r}")
    for i, size in enumerate(sizes):
        check_int(f"sizes[{i}]", size, low=1)
    check_probability("density", density)
    check_probability("skip_density", skip_density)
    rng = as_rng(seed)
    width = np.array([int(s) for s in sizes], dtype=np.int64)
    start = np.concatenate(([0], np.cumsum(width)[:-1]))
    tail, head = bernoulli_pairs(rng, start[:-1], width[:-1], start[1:], width[1:], density)
    tail, head = _connect_lonely(rng, width, start, tail, head)
    low, high = np.triu_indices(len(width), k=2)
    skip = bernoulli_pairs(rng, start[low], width[low], start[high], width[high], skip_density)
    tail = np.concatenate((tail, skip[0]))
    head = np.concatenate((head, skip[1]))
    order = np.lexsort((head, tail))
    return width, tail[order], head[order]


def randwire(
    n: int,
    model: str = "ws",
    *,
    k: int = 4,
    p: float | None = None,
    m: int = 5,
    seed: SeedLike = None,
) -> nx.DiGraph:
    """Return a RandWire structure: a random graph between one input and one output.

    An undirected random graph on ``n`` nodes is drawn from ``model``,
    oriented from the lower to the higher node index, and then a unique input
    node ``-1`` is joined to every source and every sink is joined to a unique
    output node ``n`` (Xie et al., 2019).

    Parameters
    ----------
    n : int
        Number of inner nodes, labelled ``0 .. n-1``.
    model : {"ws", "er", "ba"}, default "ws"
        ``"er"``: Erdős-Rényi with edge probability ``p`` (default 0.2);
        ``"ba"``: Barabási-Albert with ``m`` edges per new node;
        ``"ws"``: Watts-Strogatz with ``k`` neighbours and rewiring
        probability ``p`` (default 0.75).  The defaults are the paper's.
    k : int, default 4
        Used by ``"ws"`` only.
    p : float, optional
        Used by ``"er"`` and ``"ws"``; giving it with ``"ba"`` is an error.
    m : int, default 5
        Used by ``"ba"`` only.
    seed : None, int or numpy.random.Generator, optional
        An int is passed to the networkx generator unchanged.

    Returns
    -------
    networkx.DiGraph
        Nodes ``-1, 0, .., n-1, n`` in that order; ``-1`` is the only input and
        ``n`` the only output.

    Raises
    ------
    ValueError, TypeError
        If ``model`` is unknown or an argument is out of range.

    Examples
    --------
    >>> G = randwire(32, "ws", seed=0)
    >>> from graphnn.structure.roles import inputs, outputs
    >>> inputs(G), outputs(G)
    ([-1], [32])
    >>> list(randwire(3, "er", p=0.0).edges)
    [(-1, 0), (-1, 1), (-1, 2), (0, 3), (1, 3), (2, 3)]

    References
    ----------
    .. [1] S. Xie, A. Kirillov, R. Girshick and K. He, "Exploring Randomly
       Wired Neural Networks for Image Recognition", ICCV 2019,
       arXiv:1904.01569.
    """
    if model not in RANDWIRE_MODELS:
        raise ValueError(f"model must be one of {', '.join(RANDWIRE_MODELS)}; got {model!r}")
    if model == "er":
        inner = erdos_renyi_dag(n, 0.2 if p is None else p, seed=seed)
    elif model == "ba":
        if p is not None:
            raise ValueError("p is not a parameter of the 'ba' model; pass m instead")
        inner = barabasi_albert_dag(n, m, seed=seed)
    else:
        inner = watts_strogatz_dag(n, k, 0.75 if p is None else p, seed=seed)
    G = nx.DiGraph()
    G.add_node(-1)
    G.add_nodes_from(range(n))
    G.add_node(n)
    G.add_edges_from((-1, v) for v in range(n) if not inner.pred[v])
    G.add_edges_from(inner.edges)
    G.add_edges_from((v, n) for v in range(n) if not inner.succ[v])
    return G


def _connect_lonely(rng, width, start, tail, head):
    """Add edges between consecutive layers so that no node lacks a neighbour there.

    Each node of a layer ``>= 1`` without a predecessor among ``tail -> head``
    gets one drawn uniformly from the layer before; then each node of a layer
    before the last without a successor gets one from the layer after.
    """
    n = int(width.sum())
    layer_of = np.repeat(np.arange(len(width)), width)
    has_pred = np.zeros(n, dtype=bool)
    has_pred[head] = True
    has_pred[: width[0]] = True
    lonely = np.flatnonzero(~has_pred)
    before = layer_of[lonely] - 1
    tail = np.concatenate((tail, start[before] + rng.integers(0, width[before])))
    head = np.concatenate((head, lonely))
    has_succ = np.zeros(n, dtype=bool)
    has_succ[tail] = True
    has_succ[n - width[-1] :] = True
    lonely = np.flatnonzero(~has_succ)
    after = layer_of[lonely] + 1
    tail = np.concatenate((tail, lonely))
    head = np.concatenate((head, start[after] + rng.integers(0, width[after])))
    return tail, head


def _graph(n: int, tail: np.ndarray, head: np.ndarray) -> nx.DiGraph:
    """Nodes ``0 .. n-1`` and the edges ``tail[i] -> head[i]`` in that order, as Python ints."""
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_edges_from(zip(tail.tolist(), head.tolist(), strict=True))
    return G
