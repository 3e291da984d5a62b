"""Pictures of voxel sites: a 3D scatter and three depth projections.

:func:`plot_sites` needs matplotlib (``pip install graphnn[examples]``),
imported only when called and used with its non-interactive Agg canvas, so
no window opens and pyplot's global state is left alone.
"""

from __future__ import annotations

import os

import numpy as np

from graphnn._figures import agg_figure

__all__ = ["plot_sites"]

#: Most sites drawn in the 3D panel (a random subset beyond it); the projections show all.
SCATTER_LIMIT = 20_000


def plot_sites(
    coords: np.ndarray, path: str | os.PathLike, *, title: str = "", seed: int = 0
) -> None:
    """Draw voxel sites in 3D and as three depth projections, and save the picture.

    The first panel scatters the sites in 3D (at most :data:`SCATTER_LIMIT`,
    a random subset drawn with ``seed`` beyond that); the other three project
    them along z, y and x, coloured by depth (viridis: the highest site yellow;
    cells without a site white).

    Parameters
    ----------
    coords : array of int, shape [N, 3]
        The sites' ``x, y, z`` (e.g. ``VoxelPicture.coords`` or the last three
        columns of a ``SparseVoxelTensor``'s coordinates of one sample).
    path : str or path-like
        Where to save the picture; the format follows the suffix (``.png``, ``.pdf``, ...).
    title : str, optional
        The figure's title.
    seed : int, default 0
        Draws the subset shown in 3D when there are more sites than that.

    Raises
    ------
    ValueError
        If ``coords`` is not ``[N, 3]``.
    ImportError
        If matplotlib is not installed (``pip install graphnn[examples]``).

    Examples
    --------
    >>> import tempfile
    >>> from graphnn.sparse3d import SparseDataset
    >>> picture = SparseDataset.shapes(1, render_size=16, classes=["torus"], seed=0).pictures[0]
    >>> sites, _ = picture.voxelize(rng=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     plot_sites(sites, f"{tmp}/torus.png", title="torus")
    """
    coords = np.asarray(coords)
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise ValueError(f"coords must be [N, 3] (x, y, z per site), got shape {coords.shape}")
    coords = coords.astype(np.int64)
    figure = agg_figure("plot_sites", 14.0, 3.8)
    from matplotlib import colormaps

    cmap = colormaps["viridis"].with_extremes(bad="white")  # no site: white, not a colour
    figure.suptitle(title)
    shown = coords
    if len(coords) > SCATTER_LIMIT:
        rng = np.random.default_rng(seed)
        shown = coords[rng.choice(len(coords), SCATTER_LIMIT, replace=False)]
    axes = figure.add_subplot(1, 4, 1, projection="3d")
    axes.scatter(*shown.T, c=shown[:, 2], s=2, marker="s", cmap="viridis", depthshade=True)
    axes.set_xlabel("x"), axes.set_ylabel("y"), axes.set_zlabel("z")
    axes.set_box_aspect(np.ptp(coords, axis=0) + 1 if len(coords) else None)
    low = coords.min(axis=0) if len(coords) else np.zeros(3, np.int64)
    extent = coords.max(axis=0) - low + 1 if len(coords) else np.ones(3, np.int64)
    local = coords - low
    names = "xyz"
    for panel, (depth, (a, b)) in enumerate(((2, (0, 1)), (1, (0, 2)), (0, (1, 2))), start=2):
        image = np.full((extent[b], extent[a]), -1.0)  # rows b, columns a; -1 = no site
        np.maximum.at(image, (local[:, b], local[:, a]), local[:, depth].astype(float))
        image = np.where(image < 0, np.nan, (image + 1) / extent[depth])
        axes = figure.add_subplot(1, 4, panel)
        axes.imshow(image, origin="lower", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        axes.set_title(f"{names[a]}-{names[b]}, yellower: higher {names[depth]}")
        axes.set_xlabel(names[a]), axes.set_ylabel(names[b])
    figure.savefig(path)
