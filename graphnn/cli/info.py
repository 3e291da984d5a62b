"""``graphnn info``: the summary of a structure stored as GraphML."""

from __future__ import annotations

import argparse
import json

from graphnn.cli._common import add_common_flags, say
from graphnn.structure.analysis import summary
from graphnn.structure.graphml import read_graphml

__all__ = ["add_parser"]


def _run(args: argparse.Namespace) -> int:
    """Print the summary of a structure stored as GraphML."""
    G = read_graphml(args.structure)
    result = summary(G)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        say(args, f"{args.structure}:", str(result))
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``graphnn info``."""
    info = commands.add_parser(
        "info", help="summarise a GraphML structure", description=_run.__doc__
    )
    info.add_argument("structure", help="a GraphML file (.graphml or .graphml.gz)")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_common_flags(info)
    info.set_defaults(run=_run)
