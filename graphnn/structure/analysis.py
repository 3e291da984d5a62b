"""Structural summary of a structure, for network-science work.

:func:`summary` gathers, in one O(V + E) pass after layering, the numbers a
researcher looks at first when comparing sparse networks: size, roles, the
layer widths, how dense each pair of consecutive layers is, how many skip
edges there are and how far they reach, degree statistics, the longest path
and the number of dead units.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import networkx as nx
import numpy as np

from graphnn.structure.layering import LAYER, layer_index
from graphnn.structure.roles import HIDDEN, INPUT, OUTPUT, dead_units, roles

__all__ = ["summary", "StructureSummary", "DegreeStats"]


@dataclass(frozen=True)
class DegreeStats:
    """Minimum, maximum, mean and (population) standard deviation of degrees."""

    min: int
    max: int
    mean: float
    std: float

    @classmethod
    def of(cls, degrees: np.ndarray) -> DegreeStats:
        """Return the statistics of an array of degrees (zeros if it is empty)."""
        if degrees.size == 0:
            return cls(0, 0, 0.0, 0.0)
        return cls(
            int(degrees.min()), int(degrees.max()), float(degrees.mean()), float(degrees.std())
        )

    def __str__(self) -> str:
        return f"min {self.min}, max {self.max}, mean {self.mean:.3g}, std {self.std:.3g}"


@dataclass(frozen=True)
class StructureSummary:
    """What :func:`summary` returns: plain data, printable.

    Attributes
    ----------
    n_nodes, n_edges : int
        Size of the structure.
    density : float
        ``n_edges`` over the most edges a DAG on ``n_nodes`` nodes can have,
        ``n_nodes * (n_nodes - 1) / 2`` (0 for a single node).
    n_inputs, n_hidden, n_outputs : int
        Nodes per role.
    n_dead_units : int
        Hidden nodes on no input-to-output path.
    layer_widths : tuple of int
        Number of nodes in each layer.
    layer_densities : tuple of float
        For each consecutive pair of layers ``(l, l + 1)``, the edges between
        them over ``width[l] * width[l + 1]``.
    n_skip_edges : int
        Edges that span two layers or more.
    skip_spans : dict
        ``{span: count}`` of the skip edges, where ``span = layer(v) - layer(u)``.
    longest_path : int
        Number of edges on a longest path.
    in_degree, out_degree : DegreeStats
        Over all nodes.
    """

    n_nodes: int
    n_edges: int
    density: float
    n_inputs: int
    n_hidden: int
    n_outputs: int
    n_dead_units: int
    layer_widths: tuple[int, ...]
    layer_densities: tuple[float, ...]
    n_skip_edges: int
    skip_spans: dict[int, int] = field(default_factory=dict)
    longest_path: int = 0
    in_degree: DegreeStats = DegreeStats(0, 0, 0.0, 0.0)
    out_degree: DegreeStats = DegreeStats(0, 0, 0.0, 0.0)

    @property
    def n_layers(self) -> int:
        """Number of layers."""
        return len(self.layer_widths)

    def as_dict(self) -> dict:
        """Return the summary as a dict of plain Python values (JSON-ready)."""
        data = asdict(self)
        data["n_layers"] = self.n_layers
        data["skip_spans"] = {str(k): v for k, v in self.skip_spans.items()}
        return data

    def __str__(self) -> str:
        spans = ", ".join(f"span {s}: {c}" for s, c in sorted(self.skip_spans.items()))
        pairs = ", ".join(f"{i}->{i + 1}: {d:.3g}" for i, d in enumerate(self.layer_densities))
        rows = [
            ("nodes", f"{self.n_nodes}"),
            ("edges", f"{self.n_edges} (density {self.density:.3g})"),
            (
                "roles",
                f"{self.n_inputs} inputs, {self.n_hidden} hidden, {self.n_outputs} outputs",
            ),
            ("dead units", f"{self.n_dead_units}"),
            ("layers", f"{self.n_layers}, widths {list(self.layer_widths)}"),
            ("layer densities", pairs or "-"),
            ("skip edges", f"{self.n_skip_edges}" + (f" ({spans})" if spans else "")),
            ("longest path", f"{self.longest_path} edges"),
            ("in-degree", str(self.in_degree)),
            ("out-degree", str(self.out_degree)),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def summary(G: nx.DiGraph) -> StructureSummary:
    """Summarise a structure.

    Parameters
    ----------
    G : networkx.DiGraph
        A structure (a DAG; see :func:`graphnn.structure.validate`).

    Returns
    -------
    StructureSummary
        Printable; ``as_dict()`` gives plain data.

    Raises
    ------
    StructureError
        If ``G`` cannot be layered or its roles are invalid.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([(0, 2), (1, 2), (2, 3), (0, 3)])
    >>> s = summary(G)
    >>> s.layer_widths, s.n_skip_edges, s.skip_spans, s.longest_path
    ((2, 1, 1), 1, {2: 1}, 2)
    >>> print(s)  # doctest: +NORMALIZE_WHITESPACE
    nodes            4
    edges            4 (density 0.667)
    roles            2 inputs, 1 hidden, 1 outputs
    dead units       0
    layers           3, widths [2, 1, 1]
    layer densities  0->1: 1, 1->2: 1
    skip edges       1 (span 2: 1)
    longest path     2 edges
    in-degree        min 0, max 2, mean 1, std 1
    out-degree       min 0, max 2, mean 1, std 0.707
    """
    index = layer_index(G)
    role = Counter(roles(G).values())
    n, m = G.number_of_nodes(), G.number_of_edges()
    widths = Counter(index.values())
    n_layers = max(widths) + 1 if widths else 0
    layer_widths = tuple(widths.get(layer, 0) for layer in range(n_layers))
    spans: Counter[int] = Counter()
    consecutive: Counter[int] = Counter()  # edges from layer l to l + 1, by l
    for u, v in G.edges:
        span = index[v] - index[u]
        spans[span] += 1
        if span == 1:
            consecutive[index[u]] += 1
    layer_densities = tuple(
        _ratio(consecutive[layer], layer_widths[layer] * layer_widths[layer + 1])
        for layer in range(n_layers - 1)
    )
    skip_spans = {s: c for s, c in sorted(spans.items()) if s >= 2}
    return StructureSummary(
        n_nodes=n,
        n_edges=m,
        density=_ratio(m, n * (n - 1) // 2),
        n_inputs=role[INPUT],
        n_hidden=role[HIDDEN],
        n_outputs=role[OUTPUT],
        n_dead_units=len(dead_units(G)),
        layer_widths=layer_widths,
        layer_densities=layer_densities,
        n_skip_edges=sum(skip_spans.values()),
        skip_spans=skip_spans,
        longest_path=_longest_path(G, index),
        in_degree=DegreeStats.of(np.fromiter((d for _, d in G.in_degree), int, n)),
        out_degree=DegreeStats.of(np.fromiter((d for _, d in G.out_degree), int, n)),
    )


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def _longest_path(G: nx.DiGraph, index: dict) -> int:
    """Return the number of edges on a longest path of ``G``, layered by ``index``."""
    if not any(lv is not None for _, lv in G.nodes(data=LAYER)):
        return max(index.values(), default=0)  # longest-path layering: it is the top layer
    length = dict.fromkeys(G, 0)
    for v in sorted(G, key=index.__getitem__):  # edges go up in layer: a topological order
        for u in G.pred[v]:
            length[v] = max(length[v], length[u] + 1)
    return max(length.values(), default=0)
