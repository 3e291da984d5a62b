"""Classify 3D shapes with a DeepC2-style SparseNetwork, PySparseConvNet's workflow in graphnn.

Builds SparseConvNet's DeepC2 network (six LeNet blocks: a 2x2x2 convolution and, in the first
five, a 3x3x3 max pool with stride 2; input size 126, computed backwards from the classifier),
with batch normalisation after each convolution (``--no-batch-norm`` for the original),
trains it on the built-in synthetic shapes (8 classes with random proportions and poses, no
download) or on a ModelNet folder (``<class>/<train|test>/*.off``), and evaluates it with
test-time augmentation (every test shape seen in several random poses, probabilities averaged).
Prints the learning log and the per-class evaluation, writes the learning curves, the network
(graph + weights) and its layer graph as GraphML.

Run:  python examples/shapes_classification.py [--data shapes|MODELNET_DIR] [--epochs 28]
      [--per-class 50] [--render-size 32] [--width 16] [--repeats 3] [--out shapes-run] [--quick]
      [--no-batch-norm]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import graphnn
from graphnn import sparse3d


def datasets(args: argparse.Namespace, size: int) -> tuple[sparse3d.SparseDataset, ...]:
    """Return (train, test): the synthetic shapes, or the ModelNet folder given."""
    if args.data == "shapes":
        options = {"render_size": args.render_size, "spatial_size": size}
        train = sparse3d.SparseDataset.shapes(args.per_class, seed=args.seed, **options)
        test = sparse3d.SparseDataset.shapes(
            args.test_per_class, seed=args.seed + 1, kind="test", **options
        )
        return train, test
    root = Path(args.data)
    train = sparse3d.SparseDataset.from_folder(root, "train", args.render_size, spatial_size=size)
    test = sparse3d.SparseDataset.from_folder(
        root, "test", args.render_size, classes=train.class_names, spatial_size=size
    )
    return train, test


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="shapes", help="'shapes' or a ModelNet folder")
    parser.add_argument("--epochs", type=int, default=28)
    parser.add_argument("--per-class", type=int, default=50, help="synthetic training shapes")
    parser.add_argument("--test-per-class", type=int, default=16, help="synthetic test shapes")
    parser.add_argument("--no-batch-norm", action="store_true", help="the original DeepC2")
    parser.add_argument("--render-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=16, help="features of the first block")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="test-time augmentation passes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="shapes-run")
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny data, 1 epoch")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.per_class, args.test_per_class = 1, 2, 1
        args.render_size, args.width = 12, 4
    torch.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    classes = 8 if args.data == "shapes" else None
    if classes is None:  # the folder decides the classes
        classes = len(sparse3d.SparseDataset.from_folder(args.data, "train").class_names)
    network = sparse3d.deep_c2(classes, args.width, batch_norm=not args.no_batch_norm)
    size = network.input_spatial_size()
    train, test = datasets(args, size)
    print(train.summary())
    print(f"{len(test)} test shapes; input size {size}, render size {args.render_size}")
    log = sparse3d.fit(
        network,
        train,
        test,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=torch.optim.Adam(network.parameters(), lr=3e-3),
        lr_decay=0.9,
        test_every=max(1, args.epochs // 4),
        repeats=1,
    )
    print(log)
    final = sparse3d.evaluate(network, test, repeats=args.repeats, batch_size=args.batch_size)
    print(f"\ntest-time augmentation, {args.repeats} poses per shape:")
    print(final)
    seconds = time.perf_counter() - start
    print(f"\n{seconds:.0f} s")
    network.save(out / "network.pt")
    graphnn.write_graphml(network.to_graph(), out / "layers.graphml")
    result = {"log": log, "final": final, "seconds": seconds, "network": network}
    try:
        result["plot"] = log.plot(out / "learning_curves.png")
    except ImportError as error:  # matplotlib is optional
        print(error)
    return result


if __name__ == "__main__":
    main()
