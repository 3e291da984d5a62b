"""The pictures of ``graphnn demo``: a structure before and after pruning, drawn by layers.

Each function draws on its own matplotlib figure with the non-interactive
Agg canvas (no window opens, pyplot's global state is left alone), saves it
and returns the path.  matplotlib is imported only when a function is
called.  Accuracy against sparsity is :func:`graphnn.prune.plot_history`,
voxels are :func:`graphnn.sparse3d.plot_sites`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from graphnn._figures import agg_figure
from graphnn.structure.layering import layers
from graphnn.structure.roles import INPUT, OUTPUT, roles
from graphnn.structure.validation import WEIGHT

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["draw_layered", "structure_comparison"]

#: Colours of the node roles (the others are hidden units).
_ROLE_COLOURS = {INPUT: "tab:blue", OUTPUT: "tab:red"}


def _figure(width: float, height: float) -> Figure:
    """Return an empty figure on an Agg canvas."""
    return agg_figure("graphnn demo's plots", width, height)


def _save(figure: Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    figure.savefig(path, dpi=100)
    return path


def structure_comparison(
    graphs: dict[str, nx.DiGraph], path: str | os.PathLike, *, title: str | None = None
) -> Path:
    """Draw the layer widths and the degree distribution of labelled structures, side by side.

    Parameters
    ----------
    graphs : dict of str to networkx.DiGraph
        E.g. ``{"dense": G, "pruned": H}``; one colour each.
    path : str or os.PathLike
        Image file to write.
    title : str, optional
        Title of the figure.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> from graphnn.structure.generators import layered
    >>> G, H = layered([4, 6, 2], seed=0), layered([4, 3, 2], density=0.5, seed=0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     structure_comparison({"a": G, "b": H}, Path(folder) / "s.png").stat().st_size > 0
    True
    """
    figure = _figure(10.0, 4.4)
    widths_axes, degree_axes = figure.subplots(1, 2)
    bar = 0.8 / len(graphs)
    for k, (label, G) in enumerate(graphs.items()):
        widths = [len(layer) for layer in layers(G)]
        positions = np.arange(len(widths)) + (k - (len(graphs) - 1) / 2) * bar
        widths_axes.bar(positions, widths, width=bar, label=label)
        degrees = np.array([d for _, d in G.degree], dtype=np.int64)
        counts = np.bincount(degrees)
        seen = np.flatnonzero(counts)
        degree_axes.plot(seen, counts[seen], marker="o", linestyle="", label=label, alpha=0.7)
    widths_axes.set_xlabel("layer")
    widths_axes.set_ylabel("units")
    widths_axes.set_title("layer widths")
    widths_axes.xaxis.get_major_locator().set_params(integer=True)
    degree_axes.set_xscale("symlog", linthresh=1.0)
    degree_axes.set_xlabel("degree (in + out connections)")
    degree_axes.set_ylabel("units")
    degree_axes.set_title("degree distribution")
    for axes in (widths_axes, degree_axes):
        axes.grid(True, alpha=0.3)
    handles, labels = widths_axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=len(graphs))
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def draw_layered(G: nx.DiGraph, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Draw a structure layer by layer: layers left to right, skip connections in colour.

    Units are placed in columns by :func:`graphnn.layers` (in their order
    there, centred), inputs blue, outputs red; a connection's line is as
    dark as its weight is large (``weight`` edge attribute, if any), and
    connections that skip a layer or more are orange.

    Parameters
    ----------
    G : networkx.DiGraph
        A structure.
    path : str or os.PathLike
        Image file to write.
    title : str, optional
        Title of the figure.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If ``G`` has no nodes.

    Examples
    --------
    >>> import tempfile
    >>> from graphnn.structure.generators import layered
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     G = layered([3, 4, 2], skip_density=0.5, seed=0)
    ...     draw_layered(G, Path(folder) / "g.png").stat().st_size > 0
    True
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    if G.number_of_nodes() == 0:
        raise ValueError("draw_layered needs a structure with at least one node")
    position: dict = {}
    layer_of: dict = {}
    columns = layers(G)
    tallest = max(len(column) for column in columns)
    for x, column in enumerate(columns):
        for i, v in enumerate(column):
            position[v] = (float(x), (i - (len(column) - 1) / 2) / max(tallest - 1, 1))
            layer_of[v] = x
    figure = _figure(max(6.0, 2.0 * len(columns)), 7.0)
    axes = figure.add_subplot()
    edges = list(G.edges(data=WEIGHT, default=1.0))
    strength = np.array([abs(w) for _, _, w in edges], dtype=float)
    strength /= max(strength.max(initial=0.0), 1e-12)
    skips = np.array([layer_of[v] - layer_of[u] > 1 for u, v, _ in edges], dtype=bool)
    for skip, colour in ((False, "0.2"), (True, "tab:orange")):
        chosen = np.flatnonzero(skips == skip)
        if chosen.size == 0:
            continue
        segments = [(position[edges[k][0]], position[edges[k][1]]) for k in chosen]
        alpha = 0.1 + 0.8 * strength[chosen]
        lines = LineCollection(segments, colors=colour, linewidths=0.6, alpha=alpha, zorder=1)
        axes.add_collection(lines)
    role = roles(G)
    nodes = list(G)
    xy = np.array([position[v] for v in nodes]).reshape(-1, 2)
    colours = [_ROLE_COLOURS.get(role[v], "0.45") for v in nodes]
    axes.scatter(xy[:, 0], xy[:, 1], s=8, c=colours, zorder=2, linewidths=0)
    axes.set_xticks(
        range(len(columns)), [f"layer {x}\n{len(c)} units" for x, c in enumerate(columns)]
    )
    axes.set_yticks([])
    axes.set_xlim(-0.3, len(columns) - 0.7)
    axes.set_ylim(-0.55, 0.55)
    for side in ("left", "right", "top"):
        axes.spines[side].set_visible(False)
    legend = [
        Line2D([], [], color=_ROLE_COLOURS[INPUT], marker="o", linestyle="", label="input"),
        Line2D([], [], color="0.45", marker="o", linestyle="", label="hidden"),
        Line2D([], [], color=_ROLE_COLOURS[OUTPUT], marker="o", linestyle="", label="output"),
        Line2D([], [], color="tab:orange", label="skip connection"),
    ]
    axes.legend(handles=legend, loc="upper right", fontsize=8)
    if title:
        axes.set_title(title)
    return _save(figure, path)
