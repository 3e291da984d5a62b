"""The pictures of ``graphnn demo``: structures before and after pruning, a DAG, voxels.

Each function draws on its own matplotlib figure with the non-interactive
Agg canvas (no window opens, pyplot's global state is left alone), saves it
and returns the path.  matplotlib is imported only when a function is
called.  Accuracy against sparsity is :func:`graphnn.prune.plot_history`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from graphnn.structure.layering import layers
from graphnn.structure.roles import INPUT, OUTPUT, roles
from graphnn.structure.validation import WEIGHT

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["draw_layered", "structure_comparison", "voxel_shapes"]

#: Colours of the node roles (the others are hidden units).
_ROLE_COLOURS = {INPUT: "tab:blue", OUTPUT: "tab:red"}


def _figure(width: float, height: float) -> Figure:
    """Return an empty figure on an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


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
    figure = _figure(10.0, 4.0)
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
        axes.legend()
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


def _cube_faces(coords: np.ndarray) -> np.ndarray:
    """Return the faces of the voxels ``coords [N, 3]`` that no other voxel covers.

    Each face is four corners ``[M, 4, 3]``, ordered counter-clockwise seen
    from outside, so its normal points out of the solid.
    """
    grid = np.zeros(coords.max(axis=0) + 3, dtype=bool)  # a free border all round
    grid[tuple((coords + 1).T)] = True
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    faces = []
    for axis in range(3):
        b, c = (axis + 1) % 3, (axis + 2) % 3
        for side in (0, 1):
            neighbour = np.roll(grid, 1 - 2 * side, axis=axis)  # the voxel beyond the face
            at = np.argwhere(grid & ~neighbour).astype(float) - 1.0
            at[:, axis] += side
            square = np.zeros((4, 3))
            square[:, b], square[:, c] = corners[:, 0], corners[:, 1]
            if side == 0:
                square = square[::-1]
            faces.append(at[:, None, :] + square[None])
    return np.concatenate(faces)


def voxel_shapes(
    shapes: Sequence[tuple[str, np.ndarray]], path: str | os.PathLike, *, title: str | None = None
) -> Path:
    """Render voxelized shapes as shaded cubes, one panel each.

    Parameters
    ----------
    shapes : sequence of (str, numpy.ndarray)
        A label and the distinct integer coordinates ``[N, 3]`` of the active
        voxels (as :func:`graphnn.sparse3d.voxelize` returns them).
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
        If there are no shapes, or one has no voxels.

    Examples
    --------
    >>> import tempfile
    >>> cube = np.argwhere(np.ones((2, 2, 2), dtype=bool))
    >>> len(_cube_faces(cube))  # 4 squares on each of 6 sides
    24
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     voxel_shapes([("cube", cube)], Path(folder) / "v.png").stat().st_size > 0
    True
    """
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    if not shapes:
        raise ValueError("voxel_shapes needs at least one shape")
    columns = min(len(shapes), 4)
    rows = -(-len(shapes) // columns)
    figure = _figure(3.0 * columns, 3.0 * rows)
    for k, (label, coords) in enumerate(shapes):
        coords = np.asarray(coords, dtype=np.int64).reshape(-1, 3)
        if coords.shape[0] == 0:
            raise ValueError(f"shape {label!r} has no voxels to draw")
        coords = coords - coords.min(axis=0)
        axes = figure.add_subplot(rows, columns, k + 1, projection="3d")
        faces = Poly3DCollection(
            _cube_faces(coords),
            facecolors="tab:blue",
            edgecolors="0.2",
            linewidths=0.2,
            shade=True,
        )
        axes.add_collection3d(faces)
        extent = coords.max(axis=0) + 1
        axes.set(xlim=(0, extent[0]), ylim=(0, extent[1]), zlim=(0, extent[2]))
        axes.set_box_aspect(extent)
        axes.set_title(f"{label} ({len(coords)} voxels)", fontsize=9)
        axes.set_axis_off()
    if title:
        figure.suptitle(title)
    return _save(figure, path)
