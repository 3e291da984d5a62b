"""``graphnn demo``: the main job on built-in data."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import networkx as nx

from graphnn import generators
from graphnn.cli._common import add_common_flags, say
from graphnn.structure.analysis import summary
from graphnn.structure.equality import assert_graphs_equal
from graphnn.structure.graphml import read_graphml, write_graphml
from graphnn.structure.validation import validate

__all__ = ["add_parser"]


def _run(args: argparse.Namespace) -> int:
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
        say(
            args,
            f"== {name} (seed {args.seed}) ==",
            str(summary(G)),
            f"saved to {path} ({path.stat().st_size} bytes), read back identical "
            f"in {seconds * 1000:.1f} ms",
            "",
        )
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``graphnn demo``."""
    demo = commands.add_parser(
        "demo", help="the main job on built-in data", description=_run.__doc__
    )
    demo.add_argument("--out", default="demo-output", help="output folder (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    demo.add_argument("--quick", action="store_true", help="smaller structures")
    add_common_flags(demo)
    demo.set_defaults(run=_run)
