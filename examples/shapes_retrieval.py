"""3D shape retrieval: train a sparse network's embedding with a triplet loss, rank held-out shapes.

PySparseConvNet's retrieval workflow in graphnn: a ``SparseNetwork`` without a
classifier whose last layer, averaged over each shape's active sites, is the
shape's embedding; ``train_epoch(..., hidden=<layer>, loss=TripletLoss(...))``
trains it so that shapes of a class lie close together (cosine distance;
Adam with a cosine learning-rate schedule).
Every held-out shape is then a query against all the others, and
``sparse3d.retrieval_metrics`` scores the rankings with the Princeton Shape
Benchmark measures (nearest neighbour, first and second tier, E-measure,
DCG, mAP), before and after training.  The data are the built-in synthetic
shapes (8 classes, random proportions and poses, no download) or a ModelNet
folder (``<class>/<train|test>/*.off``).  Writes the metrics per epoch as CSV,
the trained network (graph + weights), its layer graph as GraphML and the
held-out embeddings.

Run:  python examples/shapes_retrieval.py [--data shapes|MODELNET_DIR] [--classes SHAPE ...]
      [--epochs 30] [--per-class 16] [--test-per-class 8] [--render-size 16] [--width 8]
      [--mining all|hard|semi-hard] [--seed 0] [--out shapes-retrieval] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import torch

import graphnn
from graphnn import sparse3d

COLUMNS = ("NN", "FT", "ST", "E", "DCG", "mAP")


def embedder(width: int) -> sparse3d.SparseNetwork:
    """Return the embedding network: four convolutions with batch norm, no classifier.

    Parameters
    ----------
    width : int
        Channels of the first convolution; the embedding has ``4 * width``.

    Returns
    -------
    SparseNetwork
        Its output node, the batch-normalised last convolution, is the
        embedding layer (batch norm centres the features, which keeps the
        shapes apart under the cosine distance from the start).
    """
    network = sparse3d.SparseNetwork(dimension=3, in_features=1)
    for features, size, stride in [(1, 3, 1), (2, 2, 2), (2, 3, 1)]:  # stride 2: half resolution
        network.add_conv(features * width, size, stride, activation=None).add_batch_norm()
        network.add_activation("relu")
    return network.add_conv(4 * width, 2, 2, activation=None).add_batch_norm()


def datasets(args: argparse.Namespace) -> tuple[sparse3d.SparseDataset, sparse3d.SparseDataset]:
    """Return ``(train, test)``: synthetic shapes, or the ModelNet folder ``args.data``.

    The test shapes are held out (synthetic: drawn with another seed).  Both
    sets voxelize as a function of ``(args.seed, epoch, index)``: training
    shapes augmented anew every epoch, test shapes in fixed random poses.
    """
    options = {"spatial_size": args.render_size + 8}
    if args.data == "shapes":
        options["classes"] = args.classes
        options["augment_seed"] = args.seed  # seed draws the meshes, augment_seed their poses
        train = sparse3d.SparseDataset.shapes(
            args.per_class, args.render_size, seed=args.seed, **options
        )
        test = sparse3d.SparseDataset.shapes(
            args.test_per_class, args.render_size, kind="test", seed=args.seed + 1, **options
        )
        return train, test
    options["seed"] = args.seed
    train = sparse3d.SparseDataset.from_folder(args.data, "train", args.render_size, **options)
    test = sparse3d.SparseDataset.from_folder(
        args.data, "test", args.render_size, classes=train.class_names, **options
    )
    return train, test


def row(name: str, metrics: sparse3d.RetrievalMetrics) -> str:
    """Format one line of the metrics table."""
    values = metrics.as_dict().values()
    return f"{name:<25}" + "".join(f"{v:>8.3f}" for v in values)


def main(argv: list[str] | None = None) -> dict:
    """Train the embedding and report retrieval metrics before and after.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    dict
        ``"before"`` and ``"after"`` (:class:`~graphnn.sparse3d.RetrievalMetrics`
        on the held-out shapes), ``"train_after"`` (on the training shapes),
        ``"log"`` (one dict per epoch: loss and held-out metrics), ``"network"``,
        ``"seconds"`` and the files written (``"csv"``, ``"embeddings"``).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="shapes", help="'shapes' or a ModelNet folder")
    parser.add_argument(
        "--classes", nargs="+", choices=list(sparse3d.SHAPES), metavar="SHAPE",
        help=f"synthetic classes (default: all of {', '.join(sparse3d.SHAPES)})",
    )  # fmt: skip
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--per-class", type=int, default=16, help="synthetic training shapes")
    parser.add_argument("--test-per-class", type=int, default=8, help="synthetic held-out shapes")
    parser.add_argument("--render-size", type=int, default=16, help="voxels across a shape")
    parser.add_argument("--width", type=int, default=8, help="channels of the first layer")
    parser.add_argument("--batch-size", type=int, default=24)
    parser.add_argument("--lr", type=float, default=1e-2, help="Adam's initial learning rate")
    parser.add_argument("--margin", type=float, default=0.2, help="of the triplet loss")
    parser.add_argument("--mining", default="all", choices=["all", "hard", "semi-hard"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="shapes-retrieval")
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny data, 2 epochs")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.per_class, args.test_per_class = 2, 3, 3
        args.render_size, args.width = 8, 4
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    torch.manual_seed(args.seed)

    train, test = datasets(args)
    print(train.summary())
    print(f"{len(test)} held-out shapes, render size {args.render_size}")
    network = embedder(args.width)
    layer = network.output_node
    loss = sparse3d.TripletLoss(margin=args.margin, distance="cosine", mining=args.mining)
    optimizer = torch.optim.Adam(network.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(args.epochs, 1))

    before = sparse3d.retrieval_metrics(*sparse3d.embed(network, test, layer, args.batch_size))
    log = []
    print(f"\n{'epoch':>5}  {'triplet loss':>12}  {'held-out mAP':>12}  {'s':>5}")
    print(f"{0:>5}  {'-':>12}  {before.mean_average_precision:>12.3f}")
    for epoch in range(1, args.epochs + 1):
        report = network.train_epoch(
            train, args.batch_size, optimizer, loss=loss, hidden=layer, progress=False
        )
        schedule.step()
        embeddings = sparse3d.embed(network, test, layer, args.batch_size)
        held_out = sparse3d.retrieval_metrics(*embeddings)
        log.append(
            {"epoch": epoch, "loss": report.mean_loss, **held_out.as_dict(), "s": report.seconds}
        )
        print(
            f"{epoch:>5}  {report.mean_loss:>12.4f}  "
            f"{held_out.mean_average_precision:>12.3f}  {report.seconds:>5.1f}"
        )
    after = held_out if log else before
    seen = sparse3d.SparseDataset(  # the training shapes without augmentation, in test poses
        train.name, "test", train.class_names, train.pictures,
        spatial_size=train.spatial_size, features=train.features, seed=args.seed,
    )  # fmt: skip
    train_after = sparse3d.retrieval_metrics(*sparse3d.embed(network, seen, layer, args.batch_size))

    print("\nretrieval, cosine distance, every shape a query against the others of its set:")
    print(f"{'':<25}" + "".join(f"{c:>8}" for c in COLUMNS))
    print(row("held-out, untrained", before))
    print(row("held-out, trained", after))
    print(row("training shapes, trained", train_after))
    seconds = time.perf_counter() - start
    print(f"\n{seconds:.0f} s")

    path = out / "retrieval.csv"
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["epoch", "loss", *before.as_dict(), "s"])
        writer.writeheader()
        writer.writerow({"epoch": 0, **before.as_dict()})
        writer.writerows(log)
    embeddings, labels = sparse3d.embed(network, test, layer, args.batch_size)
    torch.save({"embeddings": embeddings, "labels": labels}, out / "test_embeddings.pt")
    network.save(out / "embedder.pt")
    graphnn.write_graphml(network.to_graph(), out / "layers.graphml")
    return {
        "before": before,
        "after": after,
        "train_after": train_after,
        "log": log,
        "network": network,
        "seconds": seconds,
        "csv": path,
        "embeddings": out / "test_embeddings.pt",
    }


if __name__ == "__main__":
    main()
