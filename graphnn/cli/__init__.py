"""The ``graphnn`` command.

Usage::

    graphnn demo [--out DIR] [--seed N] [--quick]
    graphnn info STRUCTURE.graphml [--json]

Errors are reported as one line on standard error with exit status 1 (2 for
a wrong command line); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import networkx as nx

from graphnn import generators
from graphnn.structure.analysis import summary
from graphnn.structure.equality import assert_graphs_equal
from graphnn.structure.exceptions import GraphnnError
from graphnn.structure.graphml import read_graphml, write_graphml
from graphnn.structure.validation import validate

__all__ = ["main"]


def _print(args: argparse.Namespace, *lines: object) -> None:
    if not args.quiet:
        print(*lines, sep="\n")


def _demo(args: argparse.Namespace) -> int:
    """Draw random structures, summarise them, save them as GraphML and load them back."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n = 16 if args.quick else 64
    drawn: dict[str, nx.DiGraph] = {
        "randwire": generators.randwire(n, "ws", k=4, p=0.75, seed=args.seed),
        "layered": generators.layered(
            [64, 32, 32, 10] if not args.quick else [16, 8, 4],
            density=0.3,
            skip_density=0.05,
            seed=args.seed,
        ),
    }
    for name, G in drawn.items():
        validate(G)
        G.graph["name"] = name
        G.graph["seed"] = args.seed
        path = out / f"{name}.graphml"
        start = time.perf_counter()
        write_graphml(G, path)
        again = read_graphml(path)
        seconds = time.perf_counter() - start
        assert_graphs_equal(again, G)
        _print(
            args,
            f"== {name} (seed {args.seed}) ==",
            str(summary(G)),
            f"saved to {path} ({path.stat().st_size} bytes), read back identical "
            f"in {seconds * 1000:.1f} ms",
            "",
        )
    return 0


def _info(args: argparse.Namespace) -> int:
    """Print the summary of a structure stored as GraphML."""
    G = read_graphml(args.structure)
    result = summary(G)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        _print(args, f"{args.structure}:", str(result))
    return 0


def _add_common_flags(parser: argparse.ArgumentParser, default: object = argparse.SUPPRESS) -> None:
    """Add ``--debug`` and ``--quiet``, accepted before and after the command.

    After the command their default is ``SUPPRESS``, so that leaving them out
    there does not undo them when they were given before it.
    """
    parser.add_argument(
        "--debug", action="store_true", default=default, help="show tracebacks on errors"
    )
    parser.add_argument("--quiet", "-q", action="store_true", default=default, help="print less")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphnn", description="Sparse neural networks seen as graphs."
    )
    _add_common_flags(parser, default=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="the main job on built-in data", description=_demo.__doc__
    )
    demo.add_argument("--out", default="demo-output", help="output folder (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    demo.add_argument("--quick", action="store_true", help="smaller structures")
    _add_common_flags(demo)
    demo.set_defaults(run=_demo)

    info = commands.add_parser(
        "info", help="summarise a GraphML structure", description=_info.__doc__
    )
    info.add_argument("structure", help="a GraphML file (.graphml or .graphml.gz)")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    _add_common_flags(info)
    info.set_defaults(run=_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``graphnn`` command; return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 on an error, 2 for a wrong command line.

    Examples
    --------
    >>> main(["demo", "--quick", "--quiet", "--out", str(getfixture("tmp_path"))])
    0
    """
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (GraphnnError, OSError) as err:
        if args.debug:
            raise
        print(f"graphnn {args.command}: error: {err}", file=sys.stderr)
        return 1
