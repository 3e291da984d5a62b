"""Research with hypothesis: state claims about sparse networks, check them on random structures.

``graphnn.strategies`` draws random structures (DAGs, layered DAGs, with
weights, biases and activations); hypothesis runs a claim on many of them and,
when one fails, shrinks it to a smallest counterexample.  This script checks
three things, each driven programmatically and seeded (``--seed``), and
prints what it found:

1. *Claim*: removing the dead units of a pruned model
   (``graphnn.prune.remove_dead_units``, which folds the constant units into
   the biases they feed) never changes its outputs.  Expected to hold.
2. *Claim*: dropping the dead units from the model's *graph*
   (``graphnn.remove_dead_units``, a pure graph edit) never changes the
   outputs either.  Expected to fail: a unit that lost all its inputs still
   sends its constant ``activation(bias)``; hypothesis finds and shrinks a
   counterexample, which is why the model-level function folds constants.
   (With the default 200 examples it is found for seeds 0-5; the 50 of
   ``--quick`` miss it for some seeds, and the script then says "NO
   COUNTEREXAMPLE": a search that found nothing, not a proof.)
3. *Measurement*: over random hidden structures between the 64 pixels and
   10 classes of scikit-learn's digits, how does the test accuracy after
   pruning half of the connections (magnitude, no retraining) relate to the
   structure: hidden units, edges, depth, skip edges?  Prints the Spearman
   correlations and writes a scatter plot and a CSV file.

Run:  python examples/hypothesis_research.py [--examples 200] [--structures 40] [--epochs 10]
      [--seed 0] [--out hypothesis-research] [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import torch
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from scipy.stats import spearmanr
from torch.nn import functional as F

import graphnn
from graphnn import prune
from graphnn.datasets import digits
from graphnn.strategies import dags, layered_dags, structures

ACTIVATIONS = ("identity", "relu", "tanh", "sigmoid")
MEASURES = ("hidden units", "edges", "depth", "skip edges", "mean in-degree")
BATCH, LEARNING_RATE, PRUNED = 64, 1e-2, 0.5


@dataclass
class Finding:
    """What hypothesis found about one claim.

    Attributes
    ----------
    claim : str
        The claim, in words.
    runs : int
        How often the claim was run (examples drawn, plus shrinking steps
        after a failure).
    tallied : int
        How many of those runs' examples ``tally`` accepted.
    counterexample : object or None
        The smallest failing example, or None if the claim held.
    message : str
        The failure's message ("" if it held).
    """

    claim: str
    runs: int
    tallied: int = 0
    counterexample: object = None
    message: str = ""

    @property
    def held(self) -> bool:
        """Whether no counterexample was found."""
        return self.counterexample is None


def check(
    claim: str,
    strategy: st.SearchStrategy,
    prop: Callable[[object], None],
    examples: int,
    seed: int,
    tally: Callable[[object], bool] | None = None,
) -> Finding:
    """Run ``prop`` on up to ``examples`` draws of ``strategy``; shrink a failure.

    Parameters
    ----------
    claim : str
        The claim, for the report.
    strategy : SearchStrategy
        Draws the examples.
    prop : callable
        Raises ``AssertionError`` when the claim fails for an example.
    examples : int
        Hypothesis's ``max_examples``.
    seed : int
        Hypothesis's random seed (no example database: runs are reproducible).
    tally : callable, optional
        Count the examples it returns true for (to show what was exercised).

    Returns
    -------
    Finding
    """
    runs, tallied, last = 0, 0, None

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],  # not "explain": its tracing is slow
        verbosity=Verbosity.quiet,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        print_blob=False,
    )
    @given(strategy)
    def run(example: object) -> None:
        nonlocal runs, tallied, last
        runs, last = runs + 1, example
        tallied += bool(tally and tally(example))
        prop(example)

    try:
        run()
    except AssertionError as error:  # hypothesis re-raises it after shrinking, on the smallest
        return Finding(claim, runs, tallied, last, str(error))
    return Finding(claim, runs, tallied)


# --- claims 1 and 2: dead units ----------------------------------------------------------------


@st.composite
def pruned_structures(draw: st.DrawFn, max_nodes: int = 10) -> nx.DiGraph:
    """Strategy for pruned structures: random DAGs pruned by weight magnitude.

    The structure has weights and biases in ``[-1, 1]``, activations from
    :data:`ACTIVATIONS` and explicit roles, so that a unit that lost its
    inputs stays a hidden unit (a constant) instead of becoming an input.
    Every edge whose ``|weight|`` is below a drawn threshold is removed, so
    hypothesis shrinks a counterexample by shrinking the graph and its values.

    Parameters
    ----------
    draw : callable
        Given by hypothesis.
    max_nodes : int, default 10
        Bound on the number of nodes.

    Returns
    -------
    networkx.DiGraph
        The pruned structure, with graph attributes ``"threshold"`` and
        ``"pruned"`` (the list of edges removed).
    """
    threshold = draw(st.floats(0.0, 1.0))
    graphs = dags(min_nodes=2, max_nodes=max_nodes)
    G = draw(structures(graphs, activations=ACTIVATIONS, explicit_roles=True))
    removed = [(u, v) for u, v, w in G.edges(data="weight") if abs(w) < threshold]
    H = graphnn.remove_edges(G, removed)
    H.graph.update(threshold=threshold, pruned=removed)
    return H


def inputs_for(model: graphnn.MaskedDAG) -> torch.Tensor:
    """Return 16 fixed random inputs for ``model``."""
    generator = torch.Generator().manual_seed(0)
    return torch.randn(16, model.n_inputs, generator=generator, dtype=torch.float64)


def model_level_removal_keeps_outputs(G: nx.DiGraph) -> None:
    """Claim 1: ``prune.remove_dead_units`` computes the same outputs."""
    model = graphnn.compile(G, dtype=torch.float64)
    x = inputs_for(model)
    smaller = prune.remove_dead_units(model)
    with torch.no_grad():
        difference = (smaller(x) - model(x)).abs().max().item()
    assert difference <= 1e-12, f"outputs differ by {difference:.3g}"


def graph_level_removal_keeps_outputs(G: nx.DiGraph) -> None:
    """Claim 2: compiling ``graphnn.remove_dead_units(G)`` gives the same outputs."""
    model = graphnn.compile(G, dtype=torch.float64)
    x = inputs_for(model)
    smaller = graphnn.compile(graphnn.remove_dead_units(G), dtype=torch.float64)
    with torch.no_grad():
        difference = (smaller(x) - model(x)).abs().max().item()
    assert difference <= 1e-12, f"outputs differ by {difference:.3g}"


def describe(G: nx.DiGraph) -> str:
    """Return a pruned structure in words: its edges, units and dead units."""
    lines = [f"edges with |weight| < {G.graph['threshold']:.4g} pruned: {G.graph['pruned']}"]
    for u, v, w in G.edges(data="weight"):
        lines.append(f"  edge {u} -> {v}, weight {w:.4g}")
    for v, data in G.nodes(data=True):
        if data["role"] == "input":
            lines.append(f"  input {v}")
        else:
            lines.append(
                f"  {data['role']} {v}: bias {data['bias']:.4g}, activation {data['activation']}, "
                f"{G.in_degree(v)} inputs"
            )
    lines.append(f"  dead units: {graphnn.dead_units(G)}")
    return "\n".join(lines)


# --- measurement 3: accuracy after pruning against structure -----------------------------------


def classifier(hidden: nx.DiGraph, n_inputs: int = 64, n_outputs: int = 10) -> nx.DiGraph:
    """Put a hidden structure between dense input and output layers.

    Parameters
    ----------
    hidden : networkx.DiGraph
        The hidden structure; its sources get every input, its sinks feed
        every output.
    n_inputs, n_outputs : int, default 64 and 10
        The sizes of the task.

    Returns
    -------
    networkx.DiGraph
        Inputs ``("x", i)``, the hidden nodes ``("h", v)``, outputs ``("y", j)``.
    """
    G = nx.DiGraph()
    G.add_nodes_from(("x", i) for i in range(n_inputs))
    G.add_nodes_from(("h", v) for v in hidden)
    G.add_edges_from((("h", u), ("h", v)) for u, v in hidden.edges)
    for v in hidden:
        if hidden.in_degree(v) == 0:
            G.add_edges_from((("x", i), ("h", v)) for i in range(n_inputs))
        if hidden.out_degree(v) == 0:
            G.add_edges_from((("h", v), ("y", j)) for j in range(n_outputs))
    return G


def measures(hidden: nx.DiGraph) -> dict[str, float]:
    """Return the structural measures of a hidden structure (see :data:`MEASURES`)."""
    s = graphnn.summary(hidden)
    return {
        "hidden units": s.n_nodes,
        "edges": s.n_edges,
        "depth": s.n_layers,
        "skip edges": s.n_skip_edges,
        "mean in-degree": s.n_edges / s.n_nodes,
    }


def accuracy_after_pruning(
    hidden: nx.DiGraph, data: tuple[torch.Tensor, ...], epochs: int, seed: int
) -> tuple[float, float]:
    """Train the classifier around ``hidden``, prune half of it by magnitude; two accuracies.

    Returns
    -------
    tuple of float
        Test accuracy before and after pruning (no retraining).
    """
    x_train, y_train, x_test, y_test = data
    torch.manual_seed(seed)
    model = graphnn.compile(classifier(hidden))
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for batch in torch.randperm(len(x_train), generator=generator).split(BATCH):
            optimizer.zero_grad()
            F.cross_entropy(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()

    @torch.no_grad()
    def accuracy() -> float:
        return (model(x_test).argmax(1) == y_test).float().mean().item()

    before = accuracy()
    prune.magnitude(model, PRUNED)
    return before, accuracy()


def measure(count: int, epochs: int, seed: int) -> list[dict[str, float]]:
    """Draw hidden structures with hypothesis and measure each one; return one row per structure.

    Parameters
    ----------
    count : int
        How many structures hypothesis draws (repeated structures are measured once).
    epochs : int
        Training epochs per structure.
    seed : int
        For hypothesis, the split, the weights and the batches.

    Returns
    -------
    list of dict
        The :data:`MEASURES` and ``"dense"`` and ``"pruned"`` test accuracies.
    """
    data = digits(seed)
    rows: dict[tuple, dict[str, float]] = {}
    strategy = layered_dags(min_layers=2, max_layers=5, min_width=2, max_width=12)

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],  # a sample, not a search: no shrinking
        verbosity=Verbosity.quiet,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(strategy)
    def run(hidden: nx.DiGraph) -> None:
        key = (tuple(hidden), tuple(hidden.edges))
        if key not in rows:
            dense, pruned = accuracy_after_pruning(hidden, data, epochs, seed)
            rows[key] = {**measures(hidden), "dense": dense, "pruned": pruned}

    run()
    return list(rows.values())


def correlations(rows: list[dict[str, float]]) -> dict[str, float]:
    """Return the Spearman correlation of each measure with the accuracy after pruning."""
    pruned = [row["pruned"] for row in rows]
    found = {}
    for name in MEASURES:
        values = [row[name] for row in rows]
        constant = len(set(values)) < 2 or len(set(pruned)) < 2
        found[name] = float("nan") if constant else float(spearmanr(values, pruned).statistic)
    return found


def plot(rows: list[dict[str, float]], name: str, path: Path) -> Path:
    """Scatter the accuracy after pruning against measure ``name``; save it to ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 4.0), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.scatter([r[name] for r in rows], [r["dense"] for r in rows], label="trained", alpha=0.6)
    axes.scatter([r[name] for r in rows], [r["pruned"] for r in rows], label="half pruned")
    axes.set_xlabel(f"{name} of the hidden structure")
    axes.set_ylabel("digits test accuracy")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.savefig(path)
    return path


def has_dead_units(G: nx.DiGraph) -> bool:
    """Whether ``G`` has a hidden unit on no input-to-output path."""
    return bool(graphnn.dead_units(G))


def main(argv: list[str] | None = None) -> dict:
    """Check the claims, take the measurement, print and write what was found.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    dict
        ``"findings"`` (two :class:`Finding`), ``"rows"`` (one dict per
        structure measured), ``"correlations"`` (measure to Spearman's rho),
        ``"plot"`` and ``"csv"`` (the files written).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200, help="examples per claim")
    parser.add_argument("--structures", type=int, default=40, help="structures to measure")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs per structure")
    parser.add_argument("--seed", type=int, default=0, help="for hypothesis, data and weights")
    parser.add_argument("--out", default="hypothesis-research", help="folder for plot and CSV")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (small networks: 1 is fastest)"
    )
    parser.add_argument("--quick", action="store_true", help="few examples (a smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.examples, args.structures, args.epochs = 50, 8, 3
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return study(args, out)
    finally:
        torch.set_num_threads(threads)


def study(args: argparse.Namespace, out: Path) -> dict:
    """Do what :func:`main` says, with its parsed arguments; return its results."""
    start = time.perf_counter()
    claims = [  # (claim, property, largest structure)
        ("prune.remove_dead_units never changes a pruned model's outputs",
         model_level_removal_keeps_outputs, 12),
        ("graphnn.remove_dead_units on the pruned graph never changes the outputs",
         graph_level_removal_keeps_outputs, 6),  # small structures: a counterexample to read
    ]  # fmt: skip
    findings = []
    for claim, prop, max_nodes in claims:
        strategy = pruned_structures(max_nodes=max_nodes)
        finding = check(claim, strategy, prop, args.examples, args.seed, tally=has_dead_units)
        findings.append(finding)
        if finding.held:
            print(
                f"NO COUNTEREXAMPLE {claim}: {finding.runs} random structures of up to "
                f"{max_nodes} nodes, {finding.tallied} of them with dead units"
            )
        else:
            print(f"FALSIFIED         {claim} ({finding.runs} runs, shrinking included)")
            print(f"  smallest counterexample found: {finding.message}")
            print("  " + describe(finding.counterexample).replace("\n", "\n  "))

    rows = measure(args.structures, args.epochs, args.seed)
    rho = correlations(rows)
    print(
        f"\n{len(rows)} hidden structures between digits' 64 inputs and 10 outputs, trained "
        f"{args.epochs} epochs, then {PRUNED:.0%} of the connections pruned by magnitude:"
    )
    dense = np.array([r["dense"] for r in rows])
    pruned = np.array([r["pruned"] for r in rows])
    print(
        f"  test accuracy {dense.mean():.2%} trained (min {dense.min():.2%}), "
        f"{pruned.mean():.2%} pruned (min {pruned.min():.2%}, max {pruned.max():.2%})"
    )
    print("  Spearman correlation with the accuracy after pruning:")
    for name, value in rho.items():
        print(f"    {name:<15} {value:+.2f}")
    for what, row in (
        ("most robust", max(rows, key=lambda r: r["pruned"])),
        ("largest drop", max(rows, key=lambda r: r["dense"] - r["pruned"])),
    ):
        values = ", ".join(f"{name} {row[name]:.3g}" for name in MEASURES)
        print(f"  {what}: {values}: {row['dense']:.2%} -> {row['pruned']:.2%}")
    path = out / "structures.csv"
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=[*MEASURES, "dense", "pruned"])
        writer.writeheader()
        writer.writerows(rows)
    strongest = max(MEASURES, key=lambda name: abs(np.nan_to_num(rho[name])))
    image = plot(rows, strongest, out / "accuracy_after_pruning.png")
    print(f"\nCSV: {path}; plot against {strongest}: {image}")
    print(f"{time.perf_counter() - start:.1f} s")
    return {"findings": findings, "rows": rows, "correlations": rho, "plot": image, "csv": path}


if __name__ == "__main__":
    main()
