"""From a networkx DAG to a trained digit classifier and back again, with nothing lost.

Builds a locally connected network as a plain ``networkx.DiGraph`` (every
hidden unit of the first layer sees one 4x4 patch of the 8x8 image, a sparse
second layer, skip connections from the patches to the outputs), compiles it
with ``graphnn.compile`` and trains it on scikit-learn's handwritten digits
(no download).  Then it goes back to the graph and checks, printing each
check:

1. ``model.to_graph()`` has the nodes and edges that were drawn, in order,
   with the trained weights and biases as attributes;
2. GraphML written with ``graphnn.write_graphml`` and read back with
   ``graphnn.read_graphml`` is the same graph (labels, values and types);
3. the model compiled from the file computes *identical* outputs
   (``torch.equal``, not merely close) and the same test accuracy;
4. plain networkx reads the file too;
5. pruning by editing the graph in networkx (removing the edges of smallest
   ``|weight|``) gives the graph of the torch model pruned by its masks
   (``recompute_mask``), and the same function (to float rounding: the
   recompiled layers skip the units left without connections, so sums run
   in another order); the pruned graph is then retrained.

Run:  python examples/networkx_roundtrip.py [--out networkx-roundtrip] [--seed 0]
      [--epochs 40] [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import networkx as nx
import numpy as np
import torch
from torch.nn import functional as F

import graphnn
from graphnn.datasets import digits

BATCH, LEARNING_RATE = 64, 3e-3
PATCH, STRIDE, FILTERS = 4, 2, 8  # 3 x 3 patch positions, 8 units each: 72 hidden units


def locally_connected(seed: int, hidden: int = 32, density: float = 0.5) -> nx.DiGraph:
    """Return a locally connected digit classifier as a networkx DAG.

    Parameters
    ----------
    seed : int
        For the sparse connections between the two hidden layers.
    hidden : int, default 32
        Units of the second hidden layer.
    density : float, default 0.5
        Probability of each connection from the first hidden layer to the second.

    Returns
    -------
    networkx.DiGraph
        Inputs ``("pixel", row, column)`` in row-major order (the column order
        of the digits' features), patch units ``("patch", row, column,
        filter)``, hidden units ``("hidden", i)`` and outputs ``("digit", d)``.
        Patch units also feed the outputs directly (skip connections).
    """
    rng = np.random.default_rng(seed)
    G = nx.DiGraph()
    G.add_nodes_from(("pixel", r, c) for r in range(8) for c in range(8))
    corners = range(0, 8 - PATCH + 1, STRIDE)
    patches = [("patch", r, c, f) for r in corners for c in corners for f in range(FILTERS)]
    for unit in patches:
        _, r0, c0, _ = unit
        G.add_edges_from(
            (("pixel", r, c), unit) for r in range(r0, r0 + PATCH) for c in range(c0, c0 + PATCH)
        )
    hiddens = [("hidden", i) for i in range(hidden)]
    for unit in hiddens:
        chosen = rng.random(len(patches)) < density
        chosen[rng.integers(len(patches))] = True  # at least one input
        G.add_edges_from((p, unit) for p, keep in zip(patches, chosen, strict=True) if keep)
    digits = [("digit", d) for d in range(10)]
    G.add_edges_from((h, d) for h in hiddens for d in digits)
    G.add_edges_from((p, d) for p in patches[::FILTERS] for d in digits)  # one filter skips
    return G


def train(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int) -> None:
    """Train ``model`` in place with Adam on shuffled minibatches.

    Parameters
    ----------
    model : torch.nn.Module
        The compiled structure.
    x, y : torch.Tensor
        Training features and labels.
    epochs : int
        Passes over the data.
    seed : int
        For the order of the batches.
    """
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    model.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(x), generator=generator).split(BATCH):
            optimizer.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    model.eval()


@torch.no_grad()
def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Return the fraction of ``x`` that ``model`` classifies as ``y``."""
    return (model(x).argmax(1) == y).float().mean().item()


def main(argv: list[str] | None = None) -> dict:
    """Run the round trip; return the accuracies, the checks and the files written.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    dict
        ``"accuracy"`` (test accuracy of the trained model), ``"checks"``
        (name to bool, every check printed), ``"graph"`` (the trained graph),
        ``"graphml"`` (its file), ``"pruned_accuracy"`` and
        ``"retrained_accuracy"`` (of the graph pruned in networkx, before and
        after retraining it).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="networkx-roundtrip", help="folder for the GraphML files")
    parser.add_argument("--seed", type=int, default=0, help="for the split, structure, weights")
    parser.add_argument("--epochs", type=int, default=40, help="training epochs")
    parser.add_argument("--keep", type=float, default=0.3, help="fraction kept by the pruning")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (small networks: 1 is fastest)"
    )
    parser.add_argument("--quick", action="store_true", help="a few epochs (a smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 3
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return run(args)
    finally:
        torch.set_num_threads(threads)


def run(args: argparse.Namespace) -> dict:
    """Do what :func:`main` says, with its parsed arguments; return its results."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = digits(args.seed)

    G = locally_connected(args.seed)
    graphnn.validate(G, allow_dead_units=False)
    print("the structure, drawn with networkx:")
    print(graphnn.summary(G))
    model = graphnn.compile(G)  # one masked layer per layer of G
    assert model.input_nodes == [("pixel", r, c) for r in range(8) for c in range(8)]
    train(model, x_train, y_train, args.epochs, args.seed)
    trained = accuracy(model, x_test, y_test)
    print(f"\ntrained {args.epochs} epochs on digits: test accuracy {trained:.2%}\n")

    checks: dict[str, bool] = {}

    def check(name: str, passed: bool) -> None:
        checks[name] = bool(passed)
        print(f"[{'ok' if passed else 'FAILED'}] {name}")

    H = model.to_graph()
    check("to_graph: same nodes in the same order", list(H) == list(G))
    check("to_graph: same edges in the same order", list(H.edges) == list(G.edges))
    check(
        "to_graph: every edge has its trained weight, every unit its bias",
        all("weight" in d for *_, d in H.edges(data=True))
        and all("bias" in H.nodes[v] for v in H if H.nodes[v]["role"] != "input"),
    )
    path = out / "trained.graphml"
    graphnn.write_graphml(H, path)
    H_file = graphnn.read_graphml(path)
    check(
        f"GraphML: {path.name} reads back as the same graph (tuple labels, float values)",
        graphnn.graphs_equal(H_file, H),
    )
    again = graphnn.compile(H_file)
    with torch.no_grad():
        same = torch.equal(again(x_test), model(x_test)) and torch.equal(
            again(x_train), model(x_train)
        )
    check("recompiled from the file: identical outputs (torch.equal), train and test", same)
    check(
        "recompiled from the file: same test accuracy",
        accuracy(again, x_test, y_test) == trained,
    )
    plain = nx.read_graphml(path)
    check(
        "plain networkx reads the file: same numbers of nodes and edges",
        (plain.number_of_nodes(), plain.number_of_edges())
        == (H.number_of_nodes(), H.number_of_edges()),
    )

    # Pruning two ways: as a graph edit in networkx, and as a mask edit in torch.
    magnitudes = np.array([abs(w) for *_, w in H.edges(data="weight")])
    threshold = float(np.quantile(magnitudes, 1.0 - args.keep))
    small = [(u, v) for u, v, w in H.edges(data="weight") if abs(w) < threshold]
    edited = graphnn.remove_edges(H, small)
    by_graph = graphnn.compile(edited, layout="dense")
    by_mask = copy.deepcopy(model).recompute_mask(threshold)
    check(
        f"pruned to {edited.number_of_edges()} of {H.number_of_edges()} edges in networkx: "
        "the graph of the model pruned by recompute_mask in torch",
        graphnn.graphs_equal(by_mask.to_graph(), edited),
    )
    with torch.no_grad():
        difference = (by_graph(x_test) - by_mask(x_test)).abs().max().item()
    check(f"... and the same outputs (largest difference {difference:.1e})", difference < 1e-5)
    pruned = accuracy(by_graph, x_test, y_test)
    retrain = max(1, args.epochs // 4)
    train(by_graph, x_train, y_train, retrain, args.seed + 1)  # the edited graph trains on
    retrained = accuracy(by_graph, x_test, y_test)
    graphnn.write_graphml(by_graph.to_graph(), out / "pruned.graphml")
    print(
        f"\npruned to {args.keep:.0%} of the edges: test accuracy {pruned:.2%}, "
        f"{retrained:.2%} after {retrain} epochs of retraining; GraphML in {out}/"
    )
    print(f"{time.perf_counter() - start:.1f} s")
    return {
        "accuracy": trained,
        "pruned_accuracy": pruned,
        "retrained_accuracy": retrained,
        "checks": checks,
        "graph": H,
        "graphml": path,
    }


if __name__ == "__main__":
    main()
