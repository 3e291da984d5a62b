"""``graphnn train3d``: train a SparseNetwork on 3D shapes (PySparseConvNet's workflow)."""

from __future__ import annotations

import argparse
import inspect
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from graphnn.cli._common import add_common_flags, say, show_progress
from graphnn.exceptions import CommandError
from graphnn.sparse3d.mesh.shapes import SHAPES
from graphnn.structure.graphml import write_graphml

if TYPE_CHECKING:  # the job imports torch when it runs, not when the command line is parsed
    from graphnn.sparse3d.data.dataset import SparseDataset
    from graphnn.sparse3d.training.fitting import EpochRecord

__all__ = ["add_parser"]

#: ``(option, default, with --quick)``: --quick changes only the options not given.
_SETTINGS = (
    ("epochs", 28, 1),
    ("size", 32, 12),
    ("per_class", 50, 2),
    ("test_per_class", 16, 1),
    ("width", 16, 4),
    ("repeats", 3, 1),
)


def _epoch_line(record: EpochRecord, epochs: int) -> str:
    """One line on an epoch as soon as it is done (the full table is printed at the end)."""
    line = (
        f"epoch {record.epoch}/{epochs}: train error {record.train.error_rate:.3f}, "
        f"loss {record.train.mean_loss:.4g}"
    )
    if record.test is not None:
        line += f", test error {record.test.error_rate:.3f}"
    return line + f" ({record.train.seconds:.1f} s)"


def _settle(args: argparse.Namespace) -> None:
    """Fill the options not given (from --quick or the defaults) and check them all."""
    for name, default, quick in _SETTINGS:
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else default)
    for name, _, _ in (*_SETTINGS, ("batch_size", 0, 0)):
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise CommandError(f"{flag} must be a positive int, got {getattr(args, name)}")
    if not args.lr > 0:
        raise CommandError(f"--lr must be positive, got {args.lr}")


def _class_names(args: argparse.Namespace) -> list[str] | None:
    if args.classes is None:
        return list(SHAPES) if args.data == "shapes" else None
    names = [name.strip() for name in args.classes.split(",") if name.strip()]
    if len(names) < 2:
        raise CommandError(f"--classes needs at least two class names, got {args.classes!r}")
    return names


def _datasets(args: argparse.Namespace, classes, size: int) -> tuple[SparseDataset, ...]:
    """Return (train, test): the synthetic shapes, or the ModelNet-style folder."""
    from graphnn.sparse3d.data.dataset import SparseDataset

    if args.data == "shapes":
        options = {"render_size": args.size, "classes": classes, "spatial_size": size}
        train = SparseDataset.shapes(args.per_class, seed=args.seed, **options)
        test = SparseDataset.shapes(args.test_per_class, seed=args.seed + 1, kind="test", **options)
        return train, test
    options = {"classes": classes, "spatial_size": size}
    train = SparseDataset.from_folder(args.data, "train", args.size, **options)
    test = SparseDataset.from_folder(args.data, "test", args.size, **options)
    return train, test


def _folder_classes(args: argparse.Namespace) -> list[str]:
    """Return the classes of a folder: its sub-folders with a ``train`` folder (or --classes)."""
    from graphnn.sparse3d.data.dataset import SparseDataset

    classes = _class_names(args)
    if classes is None:
        classes = SparseDataset.from_folder(args.data, "train").class_names
    if len(classes) < 2:
        raise CommandError(
            f"{args.data}: a classifier needs at least two classes (<class>/train/*.off), "
            f"found {len(classes)}: {', '.join(classes)}"
        )
    return classes


def _run(args: argparse.Namespace) -> int:
    """Train a DeepC2-style SparseNetwork on 3D shapes and evaluate it.

    The data are the built-in synthetic shapes (--data shapes: 8 classes, --per-class
    training and --test-per-class test meshes, random proportions and poses, no download)
    or a ModelNet-style folder (--data DIR: DIR/<class>/train/*.off and
    DIR/<class>/test/*.off).  Every mesh is voxelized with its longest side --size voxels,
    randomly rotated, and augmented for training.  The network is SparseConvNet's DeepC2
    (six blocks of a 2x2x2 convolution, batch norm, very leaky ReLU and 3x3x3 max pooling;
    input 126^3), trained with Adam and a learning rate decaying by 0.9 an epoch; the test
    set is evaluated on a quarter of the epochs, and at the end with test-time
    augmentation (--repeats poses per shape, probabilities averaged).

    Written to --out: network.pt (SparseNetwork.load reads it), layers.graphml,
    learning_curves.png, log.json, confusion.csv and predictions.csv.
    """
    _settle(args)
    classes = _class_names(args) if args.data == "shapes" else _folder_classes(args)
    import torch  # the command line is parsed without torch; the job needs it

    from graphnn.sparse3d.network.architectures import deep_c2
    from graphnn.sparse3d.training import evaluate, fit

    torch.manual_seed(args.seed)
    start = time.perf_counter()
    network = deep_c2(len(classes), args.width)
    size = network.input_spatial_size()
    train, test = _datasets(args, classes, size)
    parameters = sum(p.numel() for p in network.parameters())
    say(
        args,
        str(train.summary()),
        f"{len(test)} test shapes; render size {args.size}, input {size}^3; DeepC2 of width "
        f"{args.width}, {parameters} parameters; seed {args.seed}",
        "",
    )
    log = fit(
        network,
        train,
        test,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=torch.optim.Adam(network.parameters(), lr=args.lr),
        lr_decay=0.9,
        test_every=max(1, args.epochs // 4),
        progress=show_progress(args),
        on_epoch=lambda record: say(args, _epoch_line(record, args.epochs)),
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    final = evaluate(
        network,
        test,
        repeats=args.repeats,
        batch_size=args.batch_size,
        confusion=out / "confusion.csv",
        predictions=out / "predictions.csv",
        progress=show_progress(args),
    )
    seconds = time.perf_counter() - start
    network.save(out / "network.pt")
    write_graphml(network.to_graph(), out / "layers.graphml")
    (out / "log.json").write_text(json.dumps(log.as_dicts(), indent=1) + "\n")
    try:
        plot = f"{log.plot(out / 'learning_curves.png', title=f'{train.name}, seed {args.seed}')}"
    except ImportError as error:  # matplotlib is optional; the run is not lost for it
        plot = f"no learning curves: {error}"
    say(
        args,
        str(log),
        "",
        str(final),
        "",
        f"test accuracy {final.accuracy:.1%} ({args.repeats} "
        f"{'pose' if args.repeats == 1 else 'poses'} per shape), "
        f"{seconds:.0f} s in all",
        f"wrote {out / 'network.pt'}, layers.graphml, log.json, confusion.csv, "
        f"predictions.csv in {out}",
        plot if plot.startswith("no ") else f"wrote {plot}",
    )
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``graphnn train3d``."""
    parser = commands.add_parser(
        "train3d",
        help="train a SparseNetwork on 3D shapes (synthetic or a ModelNet folder)",
        description=inspect.cleandoc(_run.__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = {name: (default, quick) for name, default, quick in _SETTINGS}

    def default(name: str) -> str:
        usual, quick = defaults[name]
        return f"(default: {usual}; {quick} with --quick)"

    parser.add_argument(
        "--data", default="shapes", metavar="DIR|shapes", help="(default: %(default)s)"
    )
    parser.add_argument(
        "--classes", metavar="A,B,...", help="the classes to use (default: all of them)"
    )
    parser.add_argument("--epochs", type=int, metavar="E", help=default("epochs"))
    parser.add_argument(
        "--size", type=int, metavar="N", help="render size, voxels " + default("size")
    )
    parser.add_argument(
        "--per-class",
        type=int,
        metavar="N",
        help="synthetic training shapes " + default("per_class"),
    )
    parser.add_argument(
        "--test-per-class",
        type=int,
        metavar="N",
        help="synthetic test shapes " + default("test_per_class"),
    )
    parser.add_argument(
        "--width", type=int, metavar="W", help="features of the first block " + default("width")
    )
    parser.add_argument(
        "--repeats", type=int, metavar="R", help="test-time poses per shape " + default("repeats")
    )
    parser.add_argument(
        "--batch-size", type=int, default=16, metavar="B", help="(default: %(default)s)"
    )
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam's (default: %(default)s)")
    parser.add_argument(
        "--out", default="train3d-output", metavar="DIR", help="(default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="(default: %(default)s)")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: tiny data and network, one epoch"
    )
    add_common_flags(parser)
    parser.set_defaults(run=_run)
