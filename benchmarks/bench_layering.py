"""Longest-path layering: graphnn.layer_index against networkx and deepstruct.

Peers:

* networkx: the textbook longest-path layering with networkx's own
  ``topological_sort`` (``layer(v) = 1 + max(layer(u))`` over predecessors).
* deepstruct 0.10.0 (pyPaddle's successor): ``deepstruct.graph.build_layer_index``,
  which recomputes ``ancestors(v)`` for every vertex (quadratic), so it is run
  on the small cases only.

Run:  python -m benchmarks.bench_layering [--quick]
"""

from __future__ import annotations

import argparse
import sys

import networkx as nx

from benchmarks._harness import Row, median_seconds, report
from graphnn.structure.generators import layered, random_dag
from graphnn.structure.layering import layer_index


def networkx_layering(G: nx.DiGraph) -> dict:
    index = {}
    for v in nx.topological_sort(G):
        index[v] = max((index[u] + 1 for u in G.pred[v]), default=0)
    return index


def deepstruct_layering():
    try:
        from deepstruct.graph import build_layer_index
    except ImportError:
        return None
    sys.setrecursionlimit(1_000_000)  # it recurses once per layer

    def run(G: nx.DiGraph) -> dict:
        return build_layer_index(G)[0]

    return run


def cases(quick: bool) -> list[tuple[str, nx.DiGraph, bool]]:
    """(name, graph, whether deepstruct can finish it in reasonable time)."""
    small = [
        ("layered 5x50, density 0.3", layered([50] * 5, density=0.3, seed=0), True),
        (
            "random_dag n=2000, 10k edges",
            random_dag(2000, 10_000 / (2000 * 1999 / 2), seed=0),
            True,
        ),
    ]
    if quick:
        return small
    large = [
        (
            "random_dag n=5000, 50k edges",
            random_dag(5000, 50_000 / (5000 * 4999 / 2), seed=0),
            True,
        ),
        ("layered 11x1000, density 0.1", layered([1000] * 11, density=0.1, seed=0), False),
        ("random_dag n=100k, p=2e-4", random_dag(100_000, 2e-4, seed=0), False),
    ]
    return small + large


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small cases only")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    deepstruct = deepstruct_layering()
    rows = []
    for name, G, small in cases(args.quick):
        expected = networkx_layering(G)
        assert layer_index(G) == expected, name
        ours = median_seconds(lambda G=G: layer_index(G), args.repeat)
        theirs = median_seconds(lambda G=G: networkx_layering(G), args.repeat)
        edges = f"{name} [{G.number_of_edges()} edges]"
        rows.append(Row(edges, "networkx topological_sort DP", ours, theirs))
        if small:
            if deepstruct is not None:
                assert deepstruct(G) == expected, name
            slow = None if deepstruct is None else median_seconds(lambda G=G: deepstruct(G), 3)
            rows.append(Row(edges, "deepstruct 0.10 build_layer_index", ours, slow))
    report("Layering (graphnn.layer_index)", rows, args.repeat)


if __name__ == "__main__":
    main()
