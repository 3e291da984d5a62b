"""``graphnn prune``: prune a model or a structure stored as GraphML to a sparsity.

A graphnn model is saved as its graph: ``model.to_graph()`` written with
``graphnn.write_graphml`` holds every live connection with its ``weight`` and
every unit with its ``bias`` and ``activation``, and ``graphnn.compile`` of it
computes the same function.  So the command reads GraphML and tells two cases
apart:

* a **model**: every edge has a ``weight``.  It is compiled (in float64, so
  that the weights written back are the ones read), pruned by the saliency
  (magnitude by default) and written back as its ``to_graph()``, the model
  format.  Units without a ``bias`` get the one ``graphnn.compile`` draws.
* a **structure**: no edge has a ``weight``.  There is nothing trained to
  rank, so the saliency ranks the weights ``graphnn.compile`` would draw
  (uniform in +-1/sqrt(fan-in), seeded by ``--seed``): magnitude pruning at
  initialisation, which favours the edges of units with few inputs.  The
  output is the input structure without the pruned edges, nothing added but
  a ``role`` where a unit would otherwise change role (a hidden unit that
  lost its last outgoing edge would become an output by default).

``--sparsity S`` is the fraction of the file's edges that is removed
(``graphnn.prune.prune_to``); by default every input and output keeps a
connection.  ``--remove-dead`` then removes the hidden units on no
input-to-output path: for a model without changing its function (constants
are folded into biases, ``graphnn.prune.remove_dead_units``), for a
structure as a graph edit (``graphnn.remove_dead_units``).
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from typing import TYPE_CHECKING

from graphnn._table import text_table
from graphnn.cli._common import add_common_flags, say
from graphnn.exceptions import CommandError
from graphnn.structure.analysis import summary
from graphnn.structure.edits import remove_dead_units, remove_edges
from graphnn.structure.graphml import read_graphml, write_graphml
from graphnn.structure.roles import ROLE, roles
from graphnn.structure.validation import WEIGHT

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["add_parser"]

#: The saliencies that need nothing but the weights (the others need data and a loss).
SALIENCIES = ("magnitude", "random", "distributed")
_NEED_DATA = ("snip", "taylor", "obd")
_GRAPHML_SUFFIXES = (".graphml.gz", ".graphml")


def _default_out(path: Path) -> Path:
    """``net.graphml`` -> ``net-pruned.graphml`` (``.graphml.gz`` kept), beside the input."""
    for suffix in (*_GRAPHML_SUFFIXES, path.suffix):
        if suffix and path.name.endswith(suffix):
            return path.with_name(path.name.removesuffix(suffix) + "-pruned" + suffix)
    return path.with_name(path.name + "-pruned.graphml")


def _check_args(args: argparse.Namespace) -> None:
    if not 0.0 <= args.sparsity < 1.0:
        raise CommandError(f"--sparsity {args.sparsity} must lie in [0, 1)")
    if args.saliency in _NEED_DATA:
        raise CommandError(
            f"--saliency {args.saliency} needs training data and a loss, which the command "
            f"line does not have; use graphnn.prune.{args.saliency} in Python, or one of "
            f"{', '.join(SALIENCIES)}"
        )
    if args.saliency not in SALIENCIES:
        raise CommandError(
            f"--saliency {args.saliency!r} is not a saliency; choose one of {', '.join(SALIENCIES)}"
        )
    if Path(args.path).suffix in (".pt", ".pth"):
        raise CommandError(
            f"{args.path}: graphnn prune reads models and structures stored as GraphML "
            "(graphnn.write_graphml(model.to_graph(), ...)); a SparseNetwork file is pruned by "
            "channel in Python (SparseNetwork.prune_channels, apply_channel_graph)"
        )


def _kind(G: nx.DiGraph, path: str) -> str:
    """Return ``"model"`` (every edge weighted) or ``"structure"`` (none); else fail."""
    weighted = [WEIGHT in attrs for _, _, attrs in G.edges(data=True)]
    if not weighted:
        raise CommandError(f"{path}: the graph has no edges to prune")
    if all(weighted):
        return "model"
    if not any(weighted):
        return "structure"
    u, v = next(edge for edge, w in zip(G.edges, weighted, strict=True) if not w)
    raise CommandError(
        f"{path}: edge {u!r} -> {v!r} has no {WEIGHT} while {sum(weighted)} others have one; "
        f"give every edge a {WEIGHT} (a model) or none (a structure)"
    )


def _row(name: str, G: nx.DiGraph, edges_before: int) -> list[str]:
    s = summary(G)
    parameters = s.n_edges + s.n_hidden + s.n_outputs  # live weights and biases, as compiled
    sparsity = 1.0 - s.n_edges / edges_before
    counts = [s.n_nodes, s.n_edges, parameters]
    return [name, *map(str, counts), f"{sparsity:.4f}", str(s.n_dead_units)]


def _table(rows: list[list[str]]) -> str:
    header = ["", "nodes", "edges", "parameters", "sparsity", "dead units"]
    return text_table(header, rows, align="lrrrrr")


def _pinned_roles(G: nx.DiGraph, H: nx.DiGraph) -> nx.DiGraph:
    """Give ``H`` (``G`` less some edges) a ``role`` where its default role would differ."""
    before = roles(G)
    for v, role in roles(H).items():
        if role != before[v]:
            H.nodes[v][ROLE] = before[v]
    return H


def _run(args: argparse.Namespace) -> int:
    """Prune a model or a structure stored as GraphML to a sparsity, and write the result.

    A model is a graph whose every edge has a weight (as model.to_graph() gives it); it is
    pruned by the saliency and written back with its parameters.  A structure has no edge
    weights: the saliency then ranks the weights graphnn.compile would draw (seeded by
    --seed), and only the structure is written.  The sparsity is the fraction of the
    file's edges removed.
    """
    _check_args(args)
    G = read_graphml(args.path)
    kind = _kind(G, args.path)
    import torch  # the command line is parsed without torch; the job needs it

    from graphnn import prune
    from graphnn.nn import compile

    torch.manual_seed(args.seed)
    model = compile(G, dtype=torch.float64)  # float64: the weights written back are exact
    options = {"scope": args.scope, "protect": not args.no_protect}
    if args.saliency == "random":
        options["seed"] = args.seed
    try:
        prune.prune_to(model, args.sparsity, getattr(prune, args.saliency), **options)
    except ValueError as err:  # too many asked of a protected model: say it in flags
        raise CommandError(
            f"--sparsity {args.sparsity}: {err}".replace("protect=False", "--no-protect")
        ) from err
    if kind == "model":
        result = prune.remove_dead_units(model) if args.remove_dead else model
        H = result.to_graph()
        note = "every edge has a weight; the parameters are written back"
    else:
        live = model.to_graph()
        H = _pinned_roles(G, remove_edges(G, [e for e in G.edges if not live.has_edge(*e)]))
        if args.remove_dead:
            H = remove_dead_units(H)
        note = "no edge weights; only the structure is written"
    out = Path(args.out) if args.out else _default_out(Path(args.path))
    write_graphml(H, out)
    n = G.number_of_edges()
    rows = [_row("before", G, n)]
    if args.remove_dead:
        rows.append(_row("after pruning", model.to_graph(), n))
        rows.append(_row("after --remove-dead", H, n))
    else:
        rows.append(_row("after", H, n))
    protect = "" if args.no_protect else "; inputs and outputs kept connected"
    how = args.saliency
    if kind == "structure" and how != "random":
        how += f" of the weights graphnn.compile draws (seed {args.seed}), at initialisation"
    say(
        args,
        f"{args.path}: a {kind} ({note})",
        f"pruned by {how} ({args.scope} ranking{protect}) to sparsity {args.sparsity}",
        "",
        _table(rows),
        "",
        str(prune.report(model)),
        "",
        f"wrote {out}",
    )
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``graphnn prune``."""
    parser = commands.add_parser(
        "prune",
        help="prune a GraphML model or structure to a sparsity",
        description=inspect.cleandoc(_run.__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", metavar="MODEL_OR_STRUCTURE", help="a .graphml or .graphml.gz file")
    parser.add_argument(
        "--sparsity",
        type=float,
        required=True,
        metavar="S",
        help="fraction of the edges to remove, in [0, 1)",
    )
    parser.add_argument(
        "--saliency",
        default="magnitude",
        metavar="NAME",
        help=f"how connections are ranked: {', '.join(SALIENCIES)} (default: %(default)s)",
    )
    parser.add_argument(
        "--scope",
        choices=["global", "layer"],
        default="global",
        help="one ranking over all layers, or every layer pruned by the same fraction "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--no-protect",
        action="store_true",
        help="allow inputs and outputs to lose all their connections",
    )
    parser.add_argument(
        "--remove-dead",
        action="store_true",
        help="then remove the hidden units on no input-to-output path",
    )
    parser.add_argument(
        "--out", metavar="FILE", help="where to write (default: NAME-pruned.graphml beside it)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of random saliencies and of drawn weights (default: %(default)s)",
    )
    add_common_flags(parser)
    parser.set_defaults(run=_run)
