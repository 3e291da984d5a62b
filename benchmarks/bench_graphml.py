"""GraphML: graphnn.write_graphml / read_graphml against networkx's own.

The structure is a layered net with a float ``weight`` on every edge and a
float ``bias`` on every non-input node, the attributes a model exports.
Both libraries write to and read from files in the same temporary folder.
graphnn's read also restores typed labels and checks the file as it goes.

Run:  python -m benchmarks.bench_graphml [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import networkx as nx
import numpy as np

from benchmarks._harness import Row, median_seconds, report
from graphnn.structure.equality import assert_graphs_equal
from graphnn.structure.generators import layered
from graphnn.structure.graphml import read_graphml, write_graphml


def weighted(sizes: list[int], density: float) -> nx.DiGraph:
    G = layered(sizes, density=density, seed=0)
    rng = np.random.default_rng(0)
    for (u, v), w in zip(G.edges, rng.standard_normal(G.number_of_edges()).tolist(), strict=True):
        G.edges[u, v]["weight"] = w
    for v in range(sizes[0], G.number_of_nodes()):
        G.nodes[v]["bias"] = float(rng.standard_normal())
    return G


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 100k edges instead of 1M")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes, density = ([300] * 11, 0.11) if args.quick else ([1000] * 11, 0.1)
    G = weighted(sizes, density)
    name = f"layered 11x{sizes[0]}, weight+bias [{G.number_of_edges()} edges]"
    with tempfile.TemporaryDirectory() as folder:
        ours, theirs = Path(folder, "graphnn.graphml"), Path(folder, "networkx.graphml")
        write_ours = median_seconds(lambda: write_graphml(G, ours), args.repeat)
        write_theirs = median_seconds(lambda: nx.write_graphml(G, theirs), args.repeat)
        read_ours = median_seconds(lambda: read_graphml(ours), args.repeat)
        read_theirs = median_seconds(lambda: nx.read_graphml(theirs, node_type=int), args.repeat)
        assert_graphs_equal(read_graphml(ours), G)
        sizes_mb = f"{ours.stat().st_size / 1e6:.0f} MB vs {theirs.stat().st_size / 1e6:.0f} MB"
    rows = [
        Row(f"write {name}", "networkx.write_graphml", write_ours, write_theirs),
        Row(f"read {name}", "networkx.read_graphml", read_ours, read_theirs),
    ]
    report(f"GraphML (file sizes graphnn vs networkx: {sizes_mb})", rows, args.repeat)


if __name__ == "__main__":
    main()
