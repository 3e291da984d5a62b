"""``graphnn demo``: the main job, end to end, on data that ships with the packages.

1. Draw a random layered DAG with skip connections (64 inputs, 10 outputs)
   and compile it (:func:`graphnn.generators.layered`, :func:`graphnn.compile`).
2. Train it on scikit-learn's handwritten digits (8x8 images, no download;
   a stratified 75/25 split drawn from the seed), then prune it by global
   weight magnitude to 90 % sparsity round by round, retraining after each
   round (:class:`graphnn.prune.Pruner`, :class:`~graphnn.prune.Iterative`);
   the structure of every round is written as GraphML
   (``graphml/round-KK.graphml``).  Then remove the units left on no
   input-to-output path (:func:`graphnn.prune.remove_dead_units`, the same
   function) and write that structure too (``graphml/pruned.graphml``).
3. Voxelize synthetic 3D shapes (:meth:`graphnn.sparse3d.SparseDataset.shapes`)
   and train a small :class:`~graphnn.sparse3d.SparseNetwork` on them
   (:func:`graphnn.sparse3d.fit`).
4. Print the results (also written to ``results.txt``), draw the plots and
   list the files written.

Everything random follows ``--seed``, and everything runs on one CPU thread
(the tensors are small: two threads waiting for each other on a busy machine
are many times slower), so the same seed gives the same table and the same
GraphML files, weights included, on the same machine.
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from graphnn import generators
from graphnn.cli._common import add_common_flags, progress, say, show_progress
from graphnn.exceptions import CommandError
from graphnn.structure.analysis import StructureSummary, summary
from graphnn.structure.graphml import write_graphml

if TYPE_CHECKING:  # the job imports torch when it runs, not when the command line is parsed
    import networkx as nx
    import torch

    from graphnn import prune, sparse3d
    from graphnn.nn import MaskedDAG

__all__ = ["add_parser"]

BATCH, LEARNING_RATE, WEIGHT_DECAY = 64, 1e-3, 1e-2
TARGET = 0.9  # the final sparsity


@dataclass(frozen=True)
class _Settings:
    """The sizes of a run: the full demo or the quick smoke run."""

    widths: tuple[int, ...]  # of the random layered DAG
    density: float  # of connections between consecutive layers
    skip_density: float  # of connections that skip layers
    epochs: int  # of training before pruning
    rounds: int  # of pruning
    retrain: int  # epochs after each round
    per_class: int  # training shapes per class
    test_per_class: int
    render_size: int  # voxels along a shape's longest side
    width: int  # channels of the first convolution block
    blocks: int  # convolution blocks
    shape_epochs: int


_FULL = _Settings(
    widths=(64, 128, 128, 10),
    density=0.5,
    skip_density=0.1,
    epochs=30,
    rounds=8,
    retrain=10,
    per_class=48,
    test_per_class=16,
    render_size=12,
    width=16,
    blocks=3,
    shape_epochs=30,
)
_QUICK = _Settings(
    widths=(64, 32, 10),
    density=0.5,
    skip_density=0.2,
    epochs=10,
    rounds=2,
    retrain=3,
    per_class=2,
    test_per_class=1,
    render_size=6,
    width=4,
    blocks=1,
    shape_epochs=1,
)


def _output_folder(value: str) -> Path:
    """Create the output folder; refuse a path that is a file."""
    out = Path(value)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {value}: this is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _require(*modules: str) -> None:
    """Fail early, in one line, when an optional package the demo needs is missing."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise CommandError(
                f"the demo needs {name.split('.')[0]}: pip install 'graphnn[examples]'"
            ) from error


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread, and give back the number of threads it had."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --- digits: train, prune, remove dead units -----------------------------------------------


def _trainer(
    x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int, bar: Callable = iter
) -> Callable[[MaskedDAG, torch.optim.Optimizer], None]:
    """Return ``train(model, optimizer)``: ``epochs`` of shuffled minibatches, seeded.

    ``bar`` wraps the epochs (a progress bar).
    """
    import torch
    from torch.nn import functional as F

    generator = torch.Generator().manual_seed(seed)

    def train(model: MaskedDAG, optimizer: torch.optim.Optimizer) -> None:
        model.train()
        for _ in bar(range(epochs)):
            for batch in torch.randperm(len(x), generator=generator).split(BATCH):
                optimizer.zero_grad()
                F.cross_entropy(model(x[batch]), y[batch]).backward()
                optimizer.step()

    return train


def _evaluator(x: torch.Tensor, y: torch.Tensor) -> Callable[[MaskedDAG], dict[str, float]]:
    """Return ``evaluate(model)``: the accuracy on ``(x, y)``."""
    import torch

    @torch.no_grad()
    def evaluate(model: MaskedDAG) -> dict[str, float]:
        model.eval()
        return {"accuracy": (model(x).argmax(1) == y).float().mean().item()}

    return evaluate


@dataclass
class _Pruned:
    """What the digits part gives the report and the plots."""

    structure: nx.DiGraph  # as drawn
    history: prune.PruningHistory
    model: MaskedDAG  # after the last round
    smaller: MaskedDAG  # without dead units
    accuracy: float  # of ``smaller``


def _prune_digits(
    args: argparse.Namespace, s: _Settings, G: nx.DiGraph, data: tuple[torch.Tensor, ...], out: Path
) -> _Pruned:
    """Train ``G`` on the digits, prune it round by round, remove its dead units."""
    import torch

    from graphnn import prune
    from graphnn.nn import compile

    x_train, y_train, x_test, y_test = data
    torch.manual_seed(args.seed)
    model = compile(G)
    optimizer = partial(torch.optim.AdamW, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    bar = partial(progress, args, desc="digits: training")
    _trainer(x_train, y_train, s.epochs, args.seed, bar)(model, optimizer(model.parameters()))
    evaluate = _evaluator(x_test, y_test)
    history = prune.Pruner(
        model,
        optimizer,
        _trainer(x_train, y_train, s.retrain, args.seed + 1),
        evaluate,
        method=prune.magnitude,
        schedule=prune.Iterative(TARGET, s.rounds),
        export=out / "graphml",
        progress=show_progress(args),
        pretrain=False,
        scope="global",
    ).run()
    smaller = prune.remove_dead_units(model)
    return _Pruned(G, history, model, smaller, evaluate(smaller)["accuracy"])


# --- 3D shapes: voxelize, train a SparseNetwork -------------------------------------------


def _shape_network(n_classes: int, width: int, blocks: int) -> sparse3d.SparseNetwork:
    """Blocks of submanifold convolution, batch norm, very leaky ReLU and 2x max pooling."""
    from graphnn import sparse3d

    network = sparse3d.SparseNetwork(dimension=3, in_features=1, n_classes=n_classes)
    for i in range(blocks):
        network.add_conv(width * 2**i, 3, activation=None, submanifold=True)
        network.add_batch_norm().add_activation("vleakyrelu").add_max_pool(2, 2)
    return network.add_classifier()


@dataclass
class _Shapes:
    """What the 3D part gives the report and the plots."""

    train: sparse3d.SparseDataset
    test: sparse3d.SparseDataset
    network: sparse3d.SparseNetwork
    log: sparse3d.TrainingLog

    @property
    def accuracy(self) -> float:
        return self.log[-1].test.accuracy


def _train_shapes(args: argparse.Namespace, s: _Settings) -> _Shapes:
    """Voxelize synthetic shapes and train a small SparseNetwork on them."""
    import torch

    from graphnn import sparse3d

    torch.manual_seed(args.seed)  # weights, batch order and augmentation
    options = {"render_size": s.render_size, "spatial_size": 2 * s.render_size}
    train = sparse3d.SparseDataset.shapes(s.per_class, seed=args.seed, **options)
    test = sparse3d.SparseDataset.shapes(
        s.test_per_class, seed=args.seed + 1, kind="test", **options
    )
    network = _shape_network(len(train.class_names), s.width, s.blocks)
    log = sparse3d.fit(
        network,
        train,
        test,
        epochs=s.shape_epochs,
        batch_size=16,
        optimizer=torch.optim.Adam(network.parameters(), lr=3e-3),
        lr_decay=0.93,
        test_every=5,
        progress=show_progress(args),
    )
    return _Shapes(train, test, network, log)


# --- the report ----------------------------------------------------------------------------


def _count(n: int, noun: str) -> str:
    """``"1 epoch"``, ``"3 epochs"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _describe(s: _Settings, G: StructureSummary, n_train: int, n_test: int) -> list[str]:
    """Say what the run does (printed before it starts)."""
    widths = "-".join(str(w) for w in s.widths)
    return [
        f"structure: a random layered DAG with skip connections, widths {widths}",
        f"  (connections drawn with probability {s.density} between consecutive layers, "
        f"{s.skip_density} across layers):",
        f"  {G.n_edges} connections, {G.n_skip_edges} of them skip layers",
        f"digits (scikit-learn): {n_train} training and {n_test} test images of 8x8 pixels",
        f"  {_count(s.epochs, 'epoch')} of training, then global magnitude pruning to "
        f"{TARGET:.0%} sparsity",
        f"  in {s.rounds} rounds with {_count(s.retrain, 'epoch')} of retraining after each",
    ]


def _results(pruned: _Pruned, shapes: _Shapes, s: _Settings) -> list[str]:
    """Return the results: the pruning table, the dead units, the 3D accuracy."""
    before, after = summary(pruned.model.to_graph()), summary(pruned.smaller.to_graph())
    removed = before.n_nodes - after.n_nodes
    channels = ", ".join(str(s.width * 2**i) for i in range(s.blocks))
    return [
        str(pruned.history),
        f"dead units removed after round {pruned.history[-1].round}: {removed} of "
        f"{before.n_hidden} hidden units; test accuracy {pruned.accuracy:.4f} (the same function)",
        f"  layer widths {list(before.layer_widths)} -> {list(after.layer_widths)}, "
        f"{after.n_edges} connections",
        "",
        f"3D shapes: {len(shapes.train.class_names)} classes, {s.per_class} training and "
        f"{s.test_per_class} test shapes per class, {s.render_size} voxels across",
        f"  SparseNetwork: {_count(s.blocks, 'block')} of submanifold convolution, batch norm "
        "and max pooling",
        f"  ({channels} channels), {_count(s.shape_epochs, 'epoch')} of training",
        f"  test accuracy {shapes.accuracy:.4f} on {shapes.log[-1].test.samples} shapes",
    ]


def _plot(pruned: _Pruned, shapes: _Shapes, out: Path, seed: int) -> list[Path]:
    """Draw the demo's pictures; return their paths."""
    from graphnn import prune, sparse3d
    from graphnn.cli import _plots

    drawn, smaller = pruned.structure, pruned.smaller.to_graph()
    pictures = [
        prune.plot_history(
            pruned.history,
            out / "accuracy_vs_sparsity.png",
            title="digits: global magnitude pruning with retraining",
        ),
        _plots.structure_comparison(
            {"before pruning": drawn, "after pruning and dead-unit removal": smaller},
            out / "structure.png",
            title="the random DAG before and after pruning",
        ),
        _plots.draw_layered(
            smaller,
            out / "pruned_dag.png",
            title=f"pruned to {pruned.history[-1].sparsity:.0%} sparsity, dead units removed",
        ),
    ]
    names = shapes.test.class_names
    torus = next(p for p in shapes.test.pictures if names[p.label] == "torus")
    sites, _ = torus.voxelize(rng=seed)  # a test pose drawn from the seed
    sparse3d.plot_sites(
        sites,
        out / "voxels.png",
        title=f"a torus of the test set, voxelized: {len(sites)} sites",
        seed=seed,
    )
    pictures.append(out / "voxels.png")
    pictures.append(
        shapes.log.plot(out / "shapes_learning_curves.png", title="SparseNetwork on 3D shapes")
    )
    return pictures


def _run(args: argparse.Namespace) -> int:
    """Train, prune and export a random sparse DAG on digits; train a sparse 3D net on shapes."""
    start = time.perf_counter()
    _require("sklearn", "matplotlib")
    out = _output_folder(args.out)
    s = _QUICK if args.quick else _FULL
    mode = "quick run" if args.quick else "full run (--quick for a smoke run)"
    say(args, f"graphnn demo, seed {args.seed}, {mode}", "")
    from graphnn.datasets import digits

    data = digits(args.seed)
    G = generators.layered(s.widths, s.density, s.skip_density, seed=args.seed)
    say(args, *_describe(s, summary(G), len(data[0]), len(data[2])), "")
    with _one_thread():
        pruned = _prune_digits(args, s, G, data, out)
        shapes = _train_shapes(args, s)
    results = _results(pruned, shapes, s)
    say(args, *results, "")
    files = [record.graphml for record in pruned.history]
    files.append(out / "graphml" / "pruned.graphml")
    write_graphml(pruned.smaller.to_graph(), files[-1])
    files.append(out / "results.txt")
    files[-1].write_text("\n".join(results) + "\n")
    files += _plot(pruned, shapes, out, args.seed)
    say(args, f"files written in {out}/:", *(f"  {path.relative_to(out)}" for path in files))
    say(args, f"done in {time.perf_counter() - start:.0f} s")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``graphnn demo``."""
    demo = commands.add_parser(
        "demo",
        help="the main job on built-in data (about 3 minutes; --quick: seconds)",
        description=_run.__doc__,
    )
    demo.add_argument("--out", default="demo-output", help="output folder (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    demo.add_argument("--quick", action="store_true", help="a smoke run: tiny sizes, seconds")
    add_common_flags(demo)
    demo.set_defaults(run=_run)
