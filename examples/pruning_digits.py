"""Prune a digit classifier to 90 % sparsity with six saliencies side by side.

Trains a 64-100-100-10 feed-forward network on the handwritten digits that
ship with scikit-learn (1,797 8x8 images, no download) to at least 95 % test
accuracy, then prunes copies of it round by round with retraining to 90 %
sparsity, once per saliency criterion: global weight magnitude, random,
"distributed" (magnitude over the layer's weight spread), SNIP's
``|g * w|``, first-order Taylor ``(g * w)^2`` and Optimal Brain Damage
(``h * w^2 / 2`` with the Fisher diagonal).  Prints the test accuracy of
every method at each sparsity in one table, and for the final round how many
of its connections each method shares with magnitude pruning; writes the
table as CSV, the accuracy-versus-sparsity plot of all methods, and the
structures of the magnitude rounds as GraphML.  Magnitude pruning keeps the
accuracy; random pruning does not.

Run:  python examples/pruning_digits.py [--out pruning-digits] [--seed 0] [--rounds 8]
      [--epochs 30] [--retrain 10] [--methods magnitude random ...] [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import copy
import csv
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

import torch
from torch.nn import functional as F

from graphnn.datasets import digits
from graphnn.nn import MaskedFFN
from graphnn.prune import distributed, magnitude, obd, random, snip, taylor
from graphnn.prune.loop import Pruner, PruningHistory
from graphnn.prune.report import plot_history, report
from graphnn.prune.schedules import Iterative

#: The saliencies compared: name -> (pruning method, what it ranks by).
METHODS: dict[str, tuple[Callable, str]] = {
    "magnitude": (magnitude, "|w|, one ranking over all layers"),
    "random": (random, "uniform random scores"),
    "distributed": (distributed, "|w| / std of the layer's live weights"),
    "snip": (snip, "|g * w|, the loss gradient g on the training set"),
    "taylor": (taylor, "(g * w)^2 averaged over minibatches, first-order Taylor"),
    "obd": (partial(obd, method="fisher"), "h * w^2 / 2, h the Fisher diagonal (OBD)"),
}
#: The methods that need data and a loss.
DATA_METHODS = ("snip", "taylor", "obd")
BATCH, LEARNING_RATE, WEIGHT_DECAY = 64, 1e-3, 1e-2


def trainer(x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int):
    """Return ``train(model, optimizer)``: ``epochs`` of shuffled minibatches, seeded."""
    generator = torch.Generator().manual_seed(seed)

    def train(model, optimizer) -> dict[str, float]:
        model.train()
        for _ in range(epochs):
            total = 0.0
            for batch in torch.randperm(len(x), generator=generator).split(BATCH):
                optimizer.zero_grad()
                loss = F.cross_entropy(model(x[batch]), y[batch])
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
        return {"loss": total / len(x)}

    return train


def evaluator(x: torch.Tensor, y: torch.Tensor):
    """Return ``evaluate(model)``: accuracy and loss on ``(x, y)``."""

    @torch.no_grad()
    def evaluate(model) -> dict[str, float]:
        model.eval()
        logits = model(x)
        accuracy = (logits.argmax(1) == y).float().mean().item()
        return {"accuracy": accuracy, "loss": F.cross_entropy(logits, y).item()}

    return evaluate


def experiment(
    seed: int = 0,
    rounds: int = 8,
    epochs: int = 30,
    retrain: int = 10,
    target: float = 0.9,
    export: Path | None = None,
    methods: Sequence[str] = ("magnitude", "random"),
) -> dict:
    """Train the dense network, then prune copies of it with each method; return the results.

    Parameters
    ----------
    seed : int, default 0
        For the split, the initial weights, the batches and random pruning.
    rounds : int, default 8
        Pruning rounds (equal fractions of the remaining connections).
    epochs, retrain : int, default 30 and 10
        Epochs of dense training, and of retraining after every round.
    target : float, default 0.9
        The final total sparsity.
    export : pathlib.Path, optional
        Where the structure of every magnitude round is written as GraphML.
    methods : sequence of str, default ("magnitude", "random")
        Keys of :data:`METHODS`, pruned in this order.

    Returns
    -------
    dict
        ``"dense"``: the dense test accuracy; one :class:`PruningHistory` per
        method, under its name; ``"models"``: each method's pruned model;
        ``"model"``: the magnitude-pruned model if magnitude was run.

    Raises
    ------
    ValueError
        For an unknown method.
    """
    unknown = [name for name in methods if name not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose among {', '.join(METHODS)}")
    x_train, y_train, x_test, y_test = digits(seed)
    torch.manual_seed(seed)
    dense = MaskedFFN(64, 10, [100, 100])
    optimizer = partial(torch.optim.AdamW, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    evaluate = evaluator(x_test, y_test)
    trainer(x_train, y_train, epochs, seed)(dense, optimizer(dense.parameters()))
    results: dict = {"dense": evaluate(dense)["accuracy"], "models": {}}
    for name in methods:
        method = METHODS[name][0]
        model = copy.deepcopy(dense)
        options: dict = {"seed": seed} if name == "random" else {}
        if name in DATA_METHODS:  # saliencies from the loss gradient on the training set
            options.update(data=(x_train, y_train), loss=F.cross_entropy)
        if name == "taylor":  # (g * w)^2 of each minibatch, averaged (with the whole training
            # set as one batch it would rank exactly as SNIP's |g * w|)
            options["data"] = list(zip(x_train.split(BATCH), y_train.split(BATCH), strict=True))
        results[name] = Pruner(
            model,
            optimizer,
            trainer(x_train, y_train, retrain, seed + 1),
            evaluate,
            method=method,
            schedule=Iterative(target, rounds),
            export=export if name == "magnitude" else None,
            pretrain=False,
            scope="global",
            **options,
        ).run()
        results["models"][name] = model
    if "magnitude" in results["models"]:
        results["model"] = results["models"]["magnitude"]
    return results


def shared_connections(model: torch.nn.Module, reference: torch.nn.Module) -> float:
    """Return the fraction of ``model``'s live connections that are live in ``reference`` too.

    Parameters
    ----------
    model, reference : torch.nn.Module
        Two pruned copies of one compiled model.

    Returns
    -------
    float
        ``|live(model) & live(reference)| / |live(model)|``.
    """
    pairs = zip(model.masked_layers(), reference.masked_layers(), strict=True)
    both = sum(int((a.mask & b.mask).sum()) for a, b in pairs)
    return both / sum(layer.weight_count for layer in model.masked_layers())


def table(histories: Mapping[str, PruningHistory]) -> str:
    """Return the rounds with one test-accuracy column per method.

    Parameters
    ----------
    histories : mapping of str to PruningHistory
        The runs, by method name; they share a schedule.

    Returns
    -------
    str
        Round, sparsity and live parameters (equal for all methods), then the
        accuracies.
    """
    names = list(histories)
    lines = [
        f"{'round':>5}  {'sparsity':>8}  {'live params':>11}  "
        + "  ".join(f"{name:>11}" for name in names)
    ]
    for records in zip(*histories.values(), strict=True):
        first = records[0]
        accuracies = "  ".join(f"{r.test['accuracy']:>11.2%}" for r in records)
        lines.append(
            f"{first.round:>5}  {first.sparsity:>8.1%}  {first.live_parameters:>11}  {accuracies}"
        )
    return "\n".join(lines)


def write_csv(histories: Mapping[str, PruningHistory], path: Path) -> Path:
    """Write one row per method and round: sparsity, live parameters, test accuracy and loss.

    Parameters
    ----------
    histories : mapping of str to PruningHistory
        The runs, by method name.
    path : pathlib.Path
        The CSV file.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["method", "round", "sparsity", "live_parameters", "accuracy", "loss"])
        for name, history in histories.items():
            for r in history:
                accuracy, loss = r.test["accuracy"], r.test["loss"]
                writer.writerow(
                    [name, r.round, f"{r.sparsity:.6f}", r.live_parameters, accuracy, loss]
                )
    return path


def main(argv: list[str] | None = None) -> dict:
    """Run the study, print the table and write the plot, CSV and GraphML files.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    dict
        What :func:`experiment` returns, plus ``"plot"`` and ``"csv"`` (the
        files written) and ``"shared"`` (method to the fraction of its final
        connections that magnitude pruning kept too).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="pruning-digits", help="folder for the plot and GraphML")
    parser.add_argument("--seed", type=int, default=0, help="for the split, weights and batches")
    parser.add_argument("--rounds", type=int, default=8, help="pruning rounds to 90 %% sparsity")
    parser.add_argument("--epochs", type=int, default=30, help="epochs of dense training")
    parser.add_argument("--retrain", type=int, default=10, help="epochs of retraining per round")
    parser.add_argument(
        "--methods", nargs="+", default=list(METHODS), choices=list(METHODS), metavar="METHOD",
        help=f"saliencies to compare (default: all of {', '.join(METHODS)})",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch threads (default 1: this small network trains fastest on one; the last "
        "digits of float sums, and so the accuracies, depend on the number)",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="2 rounds, few epochs (a smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.epochs, args.retrain = 2, 5, 2
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return study(args)
    finally:
        torch.set_num_threads(threads)


def study(args: argparse.Namespace) -> dict:
    """Do what :func:`main` says, with its parsed arguments; return its results."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = experiment(
        args.seed, args.rounds, args.epochs, args.retrain, export=out / "graphml",
        methods=args.methods,
    )  # fmt: skip
    histories = {name: results[name] for name in args.methods}
    print(f"digits, 64-100-100-10, seed {args.seed}: dense test accuracy {results['dense']:.2%}")
    for name in args.methods:
        print(f"  {name:<12} {METHODS[name][1]}")
    print()
    print(table(histories))
    models = results["models"]
    reference = models.get("magnitude")
    results["shared"] = {}
    print(f"\nat {histories[args.methods[0]][-1].sparsity:.0%} sparsity:")
    for name in sorted(args.methods, key=lambda n: -histories[n][-1].test["accuracy"]):
        line = f"  {name:<12} test accuracy {histories[name][-1].test['accuracy']:.2%}"
        if reference is not None:
            results["shared"][name] = shared_connections(models[name], reference)
            line += f", {results['shared'][name]:.0%} of its connections kept by magnitude too"
        print(line)
    if reference is not None:
        print("\nthe magnitude-pruned network:")
        print(report(reference))
    results["csv"] = write_csv(histories, out / "saliencies.csv")
    title = "digits, 64-100-100-10, iterative pruning with retraining"
    results["plot"] = plot_history(histories, out / "accuracy_vs_sparsity.png", title=title)
    exported = f"; GraphML of every magnitude round in {out / 'graphml'}/" if reference else ""
    print(f"\nplot: {results['plot']}; table: {results['csv']}{exported}")
    print(f"{time.perf_counter() - start:.1f} s")
    return results


if __name__ == "__main__":
    main()
