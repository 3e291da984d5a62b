"""Migrating a pyPaddle / deepstruct script: the old names via graphnn.compat, then graphnn's own.

pyPaddle (later deepstruct) built masked feed-forward networks
(``MaskedDeepFFN``) and networks on a given DAG (``MaskedDeepDAN`` on a
``CachedLayeredGraph``), pruned them by weight magnitude
(``recompute_mask``) and read the structure back (``generate_structure``).
This script runs such a script twice on scikit-learn's digits (8x8 images
standing in for MNIST's 28x28; no download):

1. as written for pyPaddle, with only the imports changed to
   ``from graphnn.compat import MaskedDeepFFN, MaskedDeepDAN, CachedLayeredGraph``;
2. the native graphnn way: ``graphnn.nn.MaskedFFN``, ``graphnn.compile`` on a
   plain ``networkx.DiGraph``, ``graphnn.prune.magnitude(threshold=...)``,
   ``model.to_graph()`` and GraphML.

With the same seed both ways give identical models, outputs and pruned
structures, which the script checks with ``torch.equal`` and prints.  One
difference is on purpose: pyPaddle's ``MaskedDeepDAN(784, 10,
pruned_structure)`` starts from new random weights (the structure has none),
while ``graphnn.compile(model.to_graph())`` keeps the trained ones.

Run:  python examples/migrate_pypaddle.py [--epochs 15] [--theta 0.05] [--seed 0]
      [--out migrate-pypaddle] [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import networkx as nx
import torch
from torch.nn import functional as F

import graphnn
from graphnn import generators, prune
from graphnn.compat import CachedLayeredGraph, MaskedDeepDAN, MaskedDeepFFN
from graphnn.datasets import digits
from graphnn.nn import MaskedFFN

BATCH, LEARNING_RATE = 64, 3e-3
#: What a pyPaddle / deepstruct name becomes in graphnn.
NAMES = [
    ("MaskedDeepFFN(shape, 10, [100, 100])", "graphnn.nn.MaskedFFN(shape, 10, [100, 100])"),
    ("MaskedDeepDAN(784, 10, structure)", "graphnn.compile(structure with inputs and outputs)"),
    ("CachedLayeredGraph / LayeredGraph", "networkx.DiGraph + graphnn.layers / layer_index"),
    ("structure.get_layer_size(l)", "len(graphnn.layers(G)[l])"),
    ("model.apply_mask()", "model.apply_mask()"),
    ("model.recompute_mask(theta)", "prune.magnitude(model, threshold=theta, protect=False)"),
    ("model.generate_structure()", "model.to_graph() (with weights, biases, roles)"),
    ("MaskedDeepDAN(784, 10, pruned)", "graphnn.compile(model.to_graph()) (weights kept)"),
    ("structure.save(path) / load", "graphnn.write_graphml / read_graphml"),
]


def train(model: torch.nn.Module, data: tuple[torch.Tensor, ...], epochs: int, seed: int) -> float:
    """Train ``model`` in place (Adam, shuffled minibatches); return its test accuracy.

    Parameters
    ----------
    model : torch.nn.Module
        Any classifier of ``[N, 1, 8, 8]`` images.
    data : tuple of torch.Tensor
        What :func:`load` returns.
    epochs : int
        Passes over the training split.
    seed : int
        For the order of the batches.

    Returns
    -------
    float
    """
    x_train, y_train, _, _ = data
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    for _ in range(epochs):
        for batch in torch.randperm(len(x_train), generator=generator).split(BATCH):
            optimizer.zero_grad()
            F.cross_entropy(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
    return accuracy(model, data)


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: tuple[torch.Tensor, ...]) -> float:
    """Return the test accuracy of ``model``."""
    _, _, x_test, y_test = data
    return (model(x_test).argmax(1) == y_test).float().mean().item()


def hidden_structure(seed: int) -> nx.DiGraph:
    """Return a random layered DAG (20-20-10 units, skip connections) for the DAG networks."""
    return generators.layered([20, 20, 10], density=0.3, skip_density=0.1, seed=seed)


def with_dense_ends(structure: nx.DiGraph, n_inputs: int, n_outputs: int) -> nx.DiGraph:
    """Put ``structure`` between dense input and output units, as ``MaskedDeepDAN`` does.

    Parameters
    ----------
    structure : networkx.DiGraph
        The hidden DAG.
    n_inputs, n_outputs : int
        Sizes of the task.

    Returns
    -------
    networkx.DiGraph
        Inputs ``("input", i)`` feed every source of ``structure``, every sink
        feeds the outputs ``("output", j)``; nodes and edges in that order.
    """
    G = nx.DiGraph()
    G.add_nodes_from(("input", i) for i in range(n_inputs))
    G.add_nodes_from(structure)
    G.add_nodes_from(("output", j) for j in range(n_outputs))
    sources = [v for v in structure if structure.in_degree(v) == 0]
    sinks = [v for v in structure if structure.out_degree(v) == 0]
    G.add_edges_from((("input", i), v) for v in sources for i in range(n_inputs))
    G.add_edges_from(structure.edges)
    G.add_edges_from((v, ("output", j)) for v in sinks for j in range(n_outputs))
    return G


def main(argv: list[str] | None = None) -> dict:
    """Run the pyPaddle-style script and its native graphnn twin; compare them.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    dict
        ``"checks"`` (name to bool, each printed), ``"accuracy"`` (name to
        test accuracy) and ``"graphml"`` (the pruned DAG network's file).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="training epochs")
    parser.add_argument("--theta", type=float, default=0.05, help="recompute_mask's threshold")
    parser.add_argument("--seed", type=int, default=0, help="for the split, structure, weights")
    parser.add_argument("--out", default="migrate-pypaddle", help="folder for the GraphML file")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (small networks: 1 is fastest)"
    )
    parser.add_argument("--quick", action="store_true", help="2 epochs (a smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 2
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
    x_train, y_train, x_test, y_test = digits(args.seed)
    data = (x_train.reshape(-1, 1, 8, 8), y_train, x_test.reshape(-1, 1, 8, 8), y_test)
    x = data[2]
    checks: dict[str, bool] = {}
    scores: dict[str, float] = {}

    def check(name: str, passed: bool) -> None:
        checks[name] = bool(passed)
        print(f"  [{'ok' if passed else 'FAILED'}] {name}")

    def show(name: str, value: float) -> None:
        scores[name] = value
        print(f"  {name}: test accuracy {value:.2%}")

    # --- 1. the pyPaddle / deepstruct script, imports changed to graphnn.compat ---------------
    print("1. pyPaddle / deepstruct, `from graphnn.compat import ...`")
    torch.manual_seed(args.seed)
    old_ffn = MaskedDeepFFN((1, 8, 8), 10, [100, 100])
    show("MaskedDeepFFN, trained", train(old_ffn, data, args.epochs, args.seed))
    old_ffn.recompute_mask(args.theta)
    show(f"MaskedDeepFFN, recompute_mask({args.theta})", accuracy(old_ffn, data))
    old_structure = old_ffn.generate_structure()
    print(
        f"  generate_structure(): layers {old_structure.layers}, sizes "
        f"{[old_structure.get_layer_size(i) for i in old_structure.layers]}, "
        f"{old_structure.number_of_edges()} edges between the hidden layers"
    )

    structure = CachedLayeredGraph()  # ".. add nodes & edges to the networkx graph structure"
    structure.add_nodes_from(hidden_structure(args.seed))
    structure.add_edges_from(hidden_structure(args.seed).edges)
    torch.manual_seed(args.seed)
    old_dan = MaskedDeepDAN(64, 10, structure)
    show("MaskedDeepDAN, trained", train(old_dan, data, args.epochs, args.seed))
    old_dan.apply_mask()
    old_dan.recompute_mask(args.theta)
    show(f"MaskedDeepDAN, recompute_mask({args.theta})", accuracy(old_dan, data))
    pruned_structure = old_dan.generate_structure()
    new_model = MaskedDeepDAN(64, 10, pruned_structure)
    show("MaskedDeepDAN(64, 10, pruned_structure): new random weights", accuracy(new_model, data))

    # --- 2. the same with graphnn's own names ------------------------------------------------
    print("\n2. graphnn")
    torch.manual_seed(args.seed)
    ffn = MaskedFFN((1, 8, 8), 10, [100, 100])
    show("MaskedFFN, trained", train(ffn, data, args.epochs, args.seed))
    # protect=False: recompute_mask may disconnect an input or output unit; protect=True
    # (the default) would keep each of them connected.
    prune.magnitude(ffn, threshold=args.theta, protect=False)
    show(f"MaskedFFN, prune.magnitude(threshold={args.theta})", accuracy(ffn, data))
    G_ffn = ffn.to_graph()
    hidden = [v for v in G_ffn if G_ffn.nodes[v]["role"] == "hidden"]
    print(
        f"  to_graph(): layer widths {[len(layer) for layer in graphnn.layers(G_ffn)]}, "
        f"{G_ffn.number_of_edges()} live connections with their weights"
    )
    with torch.no_grad():
        same = torch.equal(ffn(x), old_ffn(x))
    check("pruned MaskedFFN = pruned MaskedDeepFFN: identical outputs (torch.equal)", same)
    renamed = {v: v - 64 for v in hidden}  # generate_structure numbers hidden units from 0
    check(
        "generate_structure() = the hidden part of to_graph(), same edges",
        list(old_structure.edges)
        == [(renamed[u], renamed[v]) for u, v in G_ffn.edges if u in renamed and v in renamed],
    )

    G = with_dense_ends(hidden_structure(args.seed), 64, 10)  # a plain networkx.DiGraph
    torch.manual_seed(args.seed)
    dan = graphnn.compile(G)
    show("graphnn.compile(G), trained", train(dan, data, args.epochs, args.seed))
    prune.magnitude(dan, threshold=args.theta, protect=False)
    show(f"compile(G), prune.magnitude(threshold={args.theta})", accuracy(dan, data))
    with torch.no_grad():
        same = torch.equal(dan(x), old_dan(x))
    check("compile(G) = MaskedDeepDAN(64, 10, structure): identical outputs after pruning", same)
    H = dan.to_graph()
    again = graphnn.compile(H)
    with torch.no_grad():
        same = torch.equal(again(x), dan(x))
    show("graphnn.compile(model.to_graph()): trained weights kept", accuracy(again, data))
    check("the recompiled pruned network computes identical outputs", same)
    path = out / "pruned-dan.graphml"
    graphnn.write_graphml(H, path)
    same = graphnn.graphs_equal(graphnn.read_graphml(path), H)
    check(f"{path.name} reads back as the same graph (graphnn.read_graphml)", same)

    print("\npyPaddle / deepstruct name               graphnn")
    for old, new in NAMES:
        print(f"  {old:<39}{new}")
    print(f"\n{time.perf_counter() - start:.1f} s")
    return {"checks": checks, "accuracy": scores, "graphml": path}


if __name__ == "__main__":
    main()
