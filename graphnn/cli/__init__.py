"""The ``graphnn`` command.

Usage::

    graphnn demo [--out DIR] [--seed N] [--quick]
    graphnn info STRUCTURE.graphml [--json]
    graphnn prune MODEL_OR_STRUCTURE.graphml --sparsity S [--saliency NAME] [--remove-dead]
                  [--out FILE] [--seed N]
    graphnn voxelize MESH.off [--size N] [--features NAMES] [--rotate] [--png FILE]
                     [--out FILE.npz] [--seed N]
    graphnn train3d [--data DIR|shapes] [--epochs E] [--size N] [--out DIR] [--seed N]
                    [--quick]
    graphnn bench [--quick] [--only NAME ...] [--repeat N] [--json FILE]

Each command lives in its own module of this package and registers itself
with ``add_parser``.  Errors are reported as one line on standard error with
exit status 1 (2 for a wrong command line); ``--debug`` shows the traceback
instead.  Progress bars go to standard error, only on a terminal and never
with ``--quiet``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from graphnn.cli import bench, demo, info, prune, train3d, voxelize
from graphnn.cli._common import add_common_flags
from graphnn.exceptions import GraphnnError

__all__ = ["main"]

_COMMANDS = (demo, info, prune, voxelize, train3d, bench)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphnn", description="Sparse neural networks seen as graphs."
    )
    add_common_flags(parser, default=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in _COMMANDS:
        command.add_parser(commands)
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
    >>> import graphnn
    >>> path = getfixture("tmp_path") / "net.graphml"
    >>> graphnn.write_graphml(graphnn.generators.layered([3, 4, 2], seed=0), path)
    >>> main(["info", str(path), "--quiet"])
    0
    """
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader went away (``graphnn ... | head``): stop quietly
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (GraphnnError, OSError, ValueError, TypeError) as err:
        if args.debug:
            raise
        print(f"graphnn {args.command}: error: {err}", file=sys.stderr)
        return 1
