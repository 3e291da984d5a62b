"""Prune a digit classifier to 90 % sparsity: magnitude pruning keeps it, random pruning does not.

Trains a 64-100-100-10 feed-forward network on the handwritten digits that
ship with scikit-learn (1,797 8x8 images, no download) to at least 95 % test
accuracy, then prunes copies of it round by round with retraining to 90 %
sparsity, once by global weight magnitude and once at random, and prints the
test accuracy at each sparsity.  The structures of the magnitude rounds are
written as GraphML, and the accuracy-versus-sparsity plot is saved.

Run:  python examples/pruning_digits.py [--out pruning-digits] [--seed 0] [--rounds 8]
      [--epochs 30] [--retrain 10] [--quick]
"""

from __future__ import annotations

import argparse
import copy
import time
from functools import partial
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch.nn import functional as F

from graphnn.nn import MaskedFFN
from graphnn.prune import magnitude, random
from graphnn.prune.loop import Pruner, PruningHistory
from graphnn.prune.report import plot_history, report
from graphnn.prune.schedules import Iterative

METHODS = {"magnitude": magnitude, "random": random}
BATCH, LEARNING_RATE, WEIGHT_DECAY = 64, 1e-3, 1e-2


def load(seed: int) -> tuple[torch.Tensor, ...]:
    """Return ``(x_train, y_train, x_test, y_test)``: a stratified 75/25 split, standardised."""
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(x_train)  # fitted on the training split only

    def features(a):
        return torch.as_tensor(scaler.transform(a), dtype=torch.float32)

    return features(x_train), torch.as_tensor(y_train), features(x_test), torch.as_tensor(y_test)


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
) -> dict:
    """Train the dense network, then prune copies of it with each method; return the results.

    Returns ``{"dense": test accuracy, "magnitude": PruningHistory, "random":
    PruningHistory, "model": the magnitude-pruned model}``.
    """
    x_train, y_train, x_test, y_test = load(seed)
    torch.manual_seed(seed)
    dense = MaskedFFN(64, 10, [100, 100])
    optimizer = partial(torch.optim.AdamW, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    evaluate = evaluator(x_test, y_test)
    trainer(x_train, y_train, epochs, seed)(dense, optimizer(dense.parameters()))
    results: dict = {"dense": evaluate(dense)["accuracy"]}
    for name, method in METHODS.items():
        model = copy.deepcopy(dense)
        options = {"seed": seed} if method is random else {}
        results[name] = Pruner(
            model,
            optimizer,
            trainer(x_train, y_train, retrain, seed + 1),
            evaluate,
            method=method,
            schedule=Iterative(target, rounds),
            export=export if method is magnitude else None,
            pretrain=False,
            scope="global",
            **options,
        ).run()
        if method is magnitude:
            results["model"] = model
    return results


def table(by_magnitude: PruningHistory, by_random: PruningHistory) -> str:
    """Return the rounds side by side: sparsity, live parameters, both test accuracies."""
    lines = [f"{'round':>5}  {'sparsity':>8}  {'live params':>11}  {'magnitude':>9}  {'random':>9}"]
    for m, r in zip(by_magnitude, by_random, strict=True):
        lines.append(
            f"{m.round:>5}  {m.sparsity:>8.1%}  {m.live_parameters:>11}  "
            f"{m.test['accuracy']:>9.2%}  {r.test['accuracy']:>9.2%}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="pruning-digits", help="folder for the plot and GraphML")
    parser.add_argument("--seed", type=int, default=0, help="for the split, weights and batches")
    parser.add_argument("--rounds", type=int, default=8, help="pruning rounds to 90 %% sparsity")
    parser.add_argument("--epochs", type=int, default=30, help="epochs of dense training")
    parser.add_argument("--retrain", type=int, default=10, help="epochs of retraining per round")
    parser.add_argument("--quick", action="store_true", help="2 rounds, few epochs (a smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.epochs, args.retrain = 2, 5, 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    results = experiment(args.seed, args.rounds, args.epochs, args.retrain, export=out / "graphml")
    print(f"digits, 64-100-100-10, seed {args.seed}: dense test accuracy {results['dense']:.2%}")
    print(table(results["magnitude"], results["random"]))
    print("\nthe magnitude-pruned network:")
    print(report(results["model"]))
    histories = {name: results[name] for name in METHODS}
    title = "digits, 64-100-100-10, iterative pruning with retraining"
    results["plot"] = plot_history(histories, out / "accuracy_vs_sparsity.png", title=title)
    print(f"\nplot: {results['plot']}; GraphML of every magnitude round in {out / 'graphml'}/")
    print(f"{time.perf_counter() - start:.1f} s")
    return results


if __name__ == "__main__":
    main()
