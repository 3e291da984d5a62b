"""Compile a structure and run one forward: graphnn.compile against deepstruct's MaskedDeepDAN.

Peer: deepstruct 0.10.0 (pyPaddle's successor), ``deepstruct.sparse.MaskedDeepDAN``.

What is compared, like with like:

* The structure ``S`` is ``layered([n / 10] * 10, density=0.1, skip_density=0.02,
  seed=0)``: ten layers of ``n / 10`` nodes with skip connections between any
  two layers, int labels.
* deepstruct gets ``S`` as a ``CachedLayeredGraph`` (``LayeredGraph.load_from``,
  a fresh one per repetition, built before the clock starts, so its layer
  index is not cached) and builds ``MaskedDeepDAN(64, 10, S)``: a dense input
  adapter from 64 inputs to S's layer 0, one masked layer per pair of
  connected layers of S, a dense output adapter from S's last layer to 10
  outputs.
* graphnn gets the networkx graph ``S`` plus the same adapters as nodes and
  edges (built before the clock starts): 64 input nodes joined to every
  node of S's layer 0, every node of S's last layer joined to 10 output
  nodes; then ``graphnn.compile`` (layering, planning, masked layers with
  ``layout="auto"``).
* Both then run one forward of a float32 batch of 64 (with autograd on).

Both models hold the same live weights (checked before timing: same layer
widths and the same number of live connections).  They are not the same
function: deepstruct applies the activation to each skip layer's output
separately before summing, and gives each skip layer its own bias; graphnn
computes ``relu(bias + sum of all incoming edges)`` per node.  The timed
work is building the model from its structure and one forward.

Then graphnn alone (no peer can build these), the structures of
``bench_scale`` at 10k nodes / 100k edges and 100k nodes / 1M edges: a
layered net with skips (``layered([n / 10] * 10, density=10 / (n / 10),
skip_density=0.3 / (n / 10))``) and an oriented Watts-Strogatz graph
(``watts_strogatz_dag(n, 20, 0.1)``, whose longest-path layering has almost
one layer per node).  Compile time and first-forward time are separate rows,
medians over ``--large-repeat`` fresh compilations (each forward is the first
of its model).

Run:  python -m benchmarks.bench_compile [--quick]
"""

from __future__ import annotations

import argparse
import sys

import networkx as nx
import torch

import graphnn
from benchmarks._harness import Row, median_seconds, report
from benchmarks.bench_scale import KINDS, scale_structure
from graphnn.structure.generators import layered
from graphnn.structure.layering import layers

N_INPUTS, N_OUTPUTS, BATCH = 64, 10, 64
DEPTH, DENSITY, SKIP_DENSITY = 10, 0.1, 0.02


def with_adapters(S: nx.DiGraph, n_inputs: int, n_outputs: int) -> nx.DiGraph:
    """``S`` with deepstruct's adapters as nodes and edges.

    New input nodes joined to every node of S's layer 0, every node of S's
    last layer joined to new output nodes.
    """
    levels = layers(S)
    n = S.number_of_nodes()
    ins = range(n, n + n_inputs)
    outs = range(n + n_inputs, n + n_inputs + n_outputs)
    H = nx.DiGraph()
    H.add_nodes_from(ins)
    H.add_nodes_from(S)
    H.add_nodes_from(outs)
    H.add_edges_from((i, v) for i in ins for v in levels[0])
    H.add_edges_from(S.edges)
    H.add_edges_from((v, o) for v in levels[-1] for o in outs)
    return H


def layout_summary(model: graphnn.MaskedDAG) -> str:
    """E.g. ``"11 stages: 9 dense, 2 sparse"``."""
    chosen = [layer.layout for layer in model.masked_layers()]
    counts = ", ".join(f"{chosen.count(k)} {k}" for k in ("dense", "sparse") if k in chosen)
    return f"{len(chosen)} stages: {counts}"


def deepstruct_peer():
    """Return ``(to_structure, build, live_weights)`` for deepstruct, or ``None`` if it is not
    installed."""
    try:
        from deepstruct.graph import LayeredGraph
        from deepstruct.sparse import MaskedDeepDAN, maskable_layers
    except ImportError:
        return None
    sys.setrecursionlimit(100_000)  # its layering recurses once per layer

    def build(structure):
        return MaskedDeepDAN(N_INPUTS, N_OUTPUTS, structure)

    def live_weights(model) -> int:
        return int(sum(int(layer.mask.sum()) for layer in maskable_layers(model)))

    return LayeredGraph.load_from, build, live_weights


def check_same_weights(H: nx.DiGraph, model: graphnn.MaskedDAG, theirs, live_weights) -> None:
    """Same layer widths, same number of live weights, same output shape."""
    structure = theirs._structure
    theirs_widths = [N_INPUTS, *map(structure.get_layer_size, structure.layers), N_OUTPUTS]
    assert [len(level) for level in layers(H)] == theirs_widths, theirs_widths
    ours_live = sum(layer.weight_count for layer in model.masked_layers())
    assert ours_live == live_weights(theirs) == H.number_of_edges(), ours_live
    x = torch.randn(BATCH, N_INPUTS)
    assert theirs(x).shape == model(x).shape == (BATCH, N_OUTPUTS)


def compare_with_deepstruct(sizes: list[int], repeat: int) -> list[Row]:
    peer = deepstruct_peer()
    to_structure, build, live_weights = peer if peer is not None else (None, None, None)
    x = torch.randn(BATCH, N_INPUTS)
    rows = []
    for n in sizes:
        S = layered([n // DEPTH] * DEPTH, density=DENSITY, skip_density=SKIP_DENSITY, seed=0)
        H = with_adapters(S, N_INPUTS, N_OUTPUTS)
        model = graphnn.compile(H)
        model(x)  # warms graphnn up; the check warms deepstruct up
        if peer is not None:
            check_same_weights(H, model, build(to_structure(S)), live_weights)
        ours = median_seconds(lambda H=H: graphnn.compile(H)(x), repeat)
        theirs = None
        if peer is not None:
            fresh = iter([to_structure(S) for _ in range(repeat)])  # no cached layer index
            theirs = median_seconds(lambda fresh=fresh: build(next(fresh))(x), repeat)
        case = (
            f"{n} nodes, {DEPTH} layers, {S.number_of_edges()} edges "
            f"(+{H.number_of_edges() - S.number_of_edges()} adapter edges), "
            f"{layout_summary(model)}"
        )
        rows.append(Row(case, "deepstruct 0.10 MaskedDeepDAN + forward", ours, theirs))
    return rows


def graphnn_alone(cases: list[tuple[str, nx.DiGraph]], repeat: int) -> list[Row]:
    rows = []
    for name, G in cases:
        models: list[graphnn.MaskedDAG] = []
        compile_s = median_seconds(
            lambda G=G, models=models: models.append(graphnn.compile(G)), repeat
        )
        layouts = layout_summary(models[0])
        x = torch.randn(BATCH, models[0].n_inputs)
        # each forward is the first of a freshly compiled model
        forward_s = median_seconds(lambda models=models, x=x: models.pop()(x), repeat)
        case = f"{name} [{G.number_of_nodes()} nodes, {G.number_of_edges()} edges, {layouts}]"
        rows.append(Row(f"compile {case}", "none", compile_s, None))
        rows.append(Row(f"first forward, batch {BATCH}, {case}", "none", forward_s, None))
    return rows


def large_cases(quick: bool) -> list[tuple[str, nx.DiGraph]]:
    """The structures of bench_scale, at 10k nodes (100k edges) and 100k nodes (1M edges)."""
    sizes = [10_000] if quick else [10_000, 100_000]
    kinds = ["layered"] if quick else list(KINDS)
    return [scale_structure(kind, n) for n in sizes for kind in kinds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small cases only")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--large-repeat", type=int, default=1, help="repetitions of the graphnn-only cases"
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch threads: {torch.get_num_threads()}, float32\n")
    sizes = [250, 500] if args.quick else [250, 500, 1000, 2000]
    report(
        "Compile + first forward: graphnn.compile vs deepstruct MaskedDeepDAN "
        f"({N_INPUTS} inputs, {N_OUTPUTS} outputs, batch {BATCH})",
        compare_with_deepstruct(sizes, args.repeat),
        args.repeat,
    )
    report(
        "graphnn alone: compile and first forward of large structures",
        graphnn_alone(large_cases(args.quick), args.large_repeat),
        args.large_repeat,
    )


if __name__ == "__main__":
    main()
