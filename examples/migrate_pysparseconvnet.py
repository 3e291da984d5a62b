"""Migrating a PySparseConvNet script: its camelCase names in graphnn, then graphnn's own names.

PySparseConvNet wrapped Ben Graham's SparseConvNet in four classes:
``SparseNetwork`` (built with ``addLeNetLayerMP`` ... ``addSoftmaxLayer``,
trained with ``processDataset``, tested with ``processDatasetRepeatTest``),
``SparseDataset``, ``SparseBatch`` and ``Off3DPicture`` (a voxelized OFF mesh).
This script writes labelled synthetic shapes as OFF files in ModelNet's layout
(``<class>/<train|test>/*.off``; or give a real ModelNet folder with
``--data``) and classifies them twice:

1. the PySparseConvNet way, with the names graphnn keeps for it in
   ``graphnn.compat.pysparseconvnet``: a ``SparseNetwork`` built by
   ``addLeNetLayerMP``/``addSoftmaxLayer``, data sets filled picture by
   picture with ``add_picture(Off3DPicture(...))``,
   an epoch loop of ``processDataset`` with an exponentially decaying
   learning rate, and ``processDatasetRepeatTest`` (test-time augmentation);
2. the native graphnn way: ``add_lenet_mp``/``add_classifier``,
   ``SparseDataset.from_folder`` and ``sparse3d.fit``/``sparse3d.evaluate``.

With the same seed the two give the same layer graph, the same weights and
the same test probabilities, which the script checks and prints, then saves
the network and its layer graph.  It ends with a table of old and new names,
and of the PySparseConvNet calls that differ.  (A three-block network on a
few shapes: about 45 % test accuracy on the 8 classes; see
``shapes_classification.py`` for a network that reaches 97 %.)

Run:  python examples/migrate_pysparseconvnet.py [--data DIR] [--per-class 12] [--epochs 20]
      [--render-size 12] [--repeats 3] [--seed 0] [--out migrate-pysparseconvnet] [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import graphnn
from graphnn import sparse3d
from graphnn.compat import pysparseconvnet
from graphnn.sparse3d import Off3DPicture, SparseDataset, SparseNetwork
from graphnn.sparse3d.mesh.shapes import shapes

LR, MOMENTUM, DECAY = 0.05, 0.9, 0.95
#: (PySparseConvNet, graphnn compat name, graphnn native name)
NAMES = [
    ("SparseNetwork(3, nInputFeatures, nClasses)", "compat.SparseNetwork(3, 1, n)",
     "SparseNetwork(in_features=1, n_classes=n)"),
    ("addLeNetLayerMP(f, 2, 1, 3, 2)", "same", "add_lenet_mp(f, 2, 1, 3, 2)"),
    ("addSoftmaxLayer()", "same", "add_classifier()"),
    ("SparseDataset(name, 'TRAINBATCH', 1, n)", "SparseDataset(name, 'train', classes)",
     "SparseDataset.from_folder(root, 'train')"),
    ("dataset.add_picture(Off3DPicture(f, r, label))", "same", "from_folder reads them"),
    ("dataset.repeatSamples(k)", "repeat_samples(k)", "repeat_samples(k)"),
    ("processDataset(data, batchSize, learningRate, momentum)", "same",
     "sparse3d.fit(net, train, test, epochs, lr_decay=...)"),
    ("processDatasetRepeatTest(data, batchSize, nReps)", "same",
     "sparse3d.evaluate(net, test, repeats=...)"),
    ("saveWeights / loadWeights(file, firstN)", "save / load_weights(file, first_n_layers)",
     "save / SparseNetwork.load"),
]  # fmt: skip


def write_shapes(root: Path, per_class: int, test_per_class: int, seed: int) -> Path:
    """Write the synthetic shapes as OFF files in ModelNet's folder layout.

    Parameters
    ----------
    root : pathlib.Path
        The folder to fill (``<root>/<class>/<train|test>/<class>_NNNN.off``).
    per_class, test_per_class : int
        Training and test meshes per class.
    seed : int
        Draws the meshes (the test meshes with ``seed + 1``).

    Returns
    -------
    pathlib.Path
        ``root``.
    """
    for split, count, draw_seed in (("train", per_class, seed), ("test", test_per_class, seed + 1)):
        index: dict[str, int] = {}
        for mesh, name in shapes(count, seed=draw_seed):
            folder = root / name / split
            folder.mkdir(parents=True, exist_ok=True)
            index[name] = index.get(name, -1) + 1
            sparse3d.write_off(mesh, folder / f"{name}_{index[name]:04d}.off")
    return root


def old_script(
    root: Path, args: argparse.Namespace
) -> tuple[pysparseconvnet.SparseNetwork, object]:
    """The PySparseConvNet script, written with the names graphnn keeps for it.

    Parameters
    ----------
    root : pathlib.Path
        A ModelNet-style folder.
    args : argparse.Namespace
        The command line.

    Returns
    -------
    tuple
        The trained network and the report of ``processDatasetRepeatTest``.
    """
    classes = sorted(d.name for d in root.iterdir() if (d / "train").is_dir())
    torch.manual_seed(args.seed)
    network = pysparseconvnet.SparseNetwork(3, 1, len(classes))  # dim, nInputFeatures, nClasses
    network.addLeNetLayerMP(8 * args.width, 2, 1, 3, 2)
    network.addLeNetLayerMP(16 * args.width, 2, 1, 3, 2)
    network.addLeNetLayerMP(24 * args.width, 2, 1, 1, 1)
    network.addSoftmaxLayer()
    size = network.input_spatial_size()

    datasets = {}
    for split, kind in (("train", "train"), ("test", "test")):  # 'TRAINBATCH', 'TESTBATCH'
        dataset = SparseDataset(f"{root.name} ({split})", kind, classes, spatial_size=size)
        dataset.seed = args.seed  # augmentation as a function of (seed, epoch, index)
        for label, name in enumerate(classes):
            for path in sorted((root / name / split).glob("*.off")):
                dataset.add_picture(Off3DPicture(path, args.render_size, label=label))
        datasets[split] = dataset
    print(datasets["train"].summary())

    for epoch in range(1, args.epochs + 1):
        report = network.processDataset(
            datasets["train"], args.batch_size, LR * DECAY ** (epoch - 1), MOMENTUM
        )
        print(f"  epoch {epoch}: training error {report.error_rate:.3f}")
    result = network.processDatasetRepeatTest(datasets["test"], args.batch_size, args.repeats)
    return network, result


def new_script(root: Path, args: argparse.Namespace) -> tuple[SparseNetwork, object]:
    """The same experiment with graphnn's own names.

    Parameters
    ----------
    root : pathlib.Path
        A ModelNet-style folder.
    args : argparse.Namespace
        The command line.

    Returns
    -------
    tuple
        The trained network and the :class:`~graphnn.sparse3d.EvaluationReport`.
    """
    classes = sorted(d.name for d in root.iterdir() if (d / "train").is_dir())
    torch.manual_seed(args.seed)
    network = SparseNetwork(in_features=1, n_classes=len(classes))
    for features, pool_size, pool_stride in ((8, 3, 2), (16, 3, 2), (24, 1, 1)):
        network.add_lenet_mp(features * args.width, 2, 1, pool_size, pool_stride)
    network.add_classifier()
    options = {"spatial_size": network.input_spatial_size(), "seed": args.seed}
    train = SparseDataset.from_folder(root, "train", args.render_size, **options)
    test = SparseDataset.from_folder(root, "test", args.render_size, classes=classes, **options)
    log = sparse3d.fit(
        network, train, test, args.epochs, batch_size=args.batch_size, lr=LR,
        momentum=MOMENTUM, lr_decay=DECAY, test_every=args.epochs,
    )  # fmt: skip
    print(log)
    return network, sparse3d.evaluate(network, test, args.repeats, args.batch_size)


def main(argv: list[str] | None = None) -> dict:
    """Run the PySparseConvNet-style script and its native twin; compare them.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    dict
        ``"checks"`` (name to bool, each printed), ``"old"`` and ``"new"``
        (the two evaluation reports), ``"network"`` (the native one) and the
        files written (``"network_file"``, ``"graphml"``).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a ModelNet folder (default: synthetic shapes as OFF)")
    parser.add_argument("--per-class", type=int, default=12, help="synthetic training shapes")
    parser.add_argument("--test-per-class", type=int, default=4, help="synthetic test shapes")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--render-size", type=int, default=12, help="Off3DPicture's renderSize")
    parser.add_argument("--width", type=int, default=1, help="multiplies the feature counts")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="test-time augmentation passes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="migrate-pysparseconvnet", help="folder for all files")
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny data, 1 epoch")
    args = parser.parse_args(argv)
    if args.quick:
        args.per_class, args.test_per_class, args.epochs, args.render_size = 2, 1, 1, 8
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if args.data:
        root = Path(args.data)
    else:
        root = write_shapes(out / "shapes", args.per_class, args.test_per_class, args.seed)
        print(f"synthetic shapes written as OFF files under {root}/<class>/<train|test>/")

    print("\n1. PySparseConvNet's names (addLeNetLayerMP, processDataset, ...)")
    old_network, old = old_script(root, args)
    print(f"processDatasetRepeatTest, {args.repeats} poses per shape:")
    print(old)
    print("\n2. graphnn's names (add_lenet_mp, from_folder, fit, evaluate)")
    network, new = new_script(root, args)
    print(f"evaluate, {args.repeats} poses per shape:")
    print(new)

    checks: dict[str, bool] = {}

    def check(name: str, passed: bool) -> None:
        checks[name] = bool(passed)
        print(f"  [{'ok' if passed else 'FAILED'}] {name}")

    print()
    check(
        "the same layer graph (graphnn.graphs_equal)",
        graphnn.graphs_equal(old_network.to_graph(), network.to_graph()),
    )
    old_state, new_state = old_network.state_dict(), network.state_dict()
    check(
        "the same trained weights (torch.equal, every tensor)",
        old_state.keys() == new_state.keys()
        and all(torch.equal(old_state[k], new_state[k]) for k in old_state),
    )
    check(
        "the same test probabilities (torch.equal)",
        torch.equal(old.probabilities, new.probabilities),
    )
    network_file, graphml = out / "network.pt", out / "layers.graphml"
    network.save(network_file)
    graphnn.write_graphml(network.to_graph(), graphml)
    check(
        "SparseNetwork.load gives back the network (graph and weights)",
        torch.equal(SparseNetwork.load(network_file).state_dict()["layers.L0.weight"],
                    new_state["layers.L0.weight"]),
    )  # fmt: skip

    print(f"\n  {'PySparseConvNet':<50}{'graphnn, compat names':<44}graphnn")
    for old_name, compat, native in NAMES:
        print(f"  {old_name:<50}{compat:<44}{native}")
    print(f"\nfiles in {out}/; {time.perf_counter() - start:.0f} s")
    return {
        "checks": checks,
        "old": old,
        "new": new,
        "network": network,
        "network_file": network_file,
        "graphml": graphml,
    }


if __name__ == "__main__":
    main()
