"""One 3D object as a picture: a mesh (lazily read from OFF) or pre-voxelized input.

A picture knows its ``render_size`` and ``label`` and turns itself into
sparse voxels with :meth:`~Off3DPicture.voxelize`, augmented for training the
way SparseConvNet's ``OffSurfaceModelPicture::distort`` did:

1. a uniformly random rotation of the mesh, for training *and* testing
   (SparseConvNet took the Q of a QR decomposition of a matrix with uniform
   entries, which is not uniform over rotations and can reflect; graphnn
   draws a Haar-uniform proper rotation, :func:`~graphnn.sparse3d.mesh.augment.random_rotation`);
2. centre the bounding box and scale its longest side to ``render_size``;
3. for training only: an affine jitter (identity + U(-0.2, 0.2) entries) and
   a translation of U(-0.2, 0.2) x ``render_size`` voxels along each axis;
4. every voxel the surface passes through is active
   (:func:`~graphnn.sparse3d.mesh.voxelization.voxelize`; SparseConvNet sampled the
   triangles with step 1 and could leave holes in thin triangles).

Each step can be switched off or resized (``rotate=``, ``affine=``,
``jitter=``).  :class:`VoxelPicture` holds voxels computed elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from graphnn._random import SeedLike, as_rng
from graphnn._validation import check_int, check_number
from graphnn.exceptions import SparseDataError
from graphnn.sparse3d.mesh.augment import random_affine, random_rotation, random_translation
from graphnn.sparse3d.mesh.mesh import Mesh
from graphnn.sparse3d.mesh.off import read_off
from graphnn.sparse3d.mesh.voxelization import voxelize

__all__ = ["Off3DPicture", "Picture", "VoxelPicture"]

Voxels = tuple[np.ndarray, np.ndarray]


@runtime_checkable
class Picture(Protocol):
    """What a data set holds: anything with a label, a render size and ``voxelize``."""

    label: int
    render_size: int

    def voxelize(
        self,
        train: bool = False,
        rng: SeedLike = None,
        *,
        spatial_size: int | tuple[int, int, int] | None = None,
        features: str | tuple[str, ...] = "ones",
    ) -> Voxels:
        """Return ``(coords int32 [N, 3], features float32 [N, C])``."""
        ...


def _check_render_size(render_size: object) -> int:
    return check_int("render_size", render_size, low=1, what="a positive int")


def _check_label(label: object) -> int:
    return check_int("label", label, low=-1, what="a class index >= 0, or -1 for unlabeled")


def _check_amount(value: object, name: str) -> float:
    return check_number(name, value, low=0, what="a finite non-negative number")


class Off3DPicture:
    """A mesh to voxelize: an OFF file read on first use, or a :class:`Mesh`.

    Parameters
    ----------
    source : str, os.PathLike or Mesh
        An OFF file (read by :func:`~graphnn.sparse3d.mesh.off.read_off` when the
        mesh is first needed) or a mesh in memory.
    render_size : int
        Voxels along the longest side of the (rotated) bounding box.
    label : int, default -1
        Class index; ``-1`` for unlabeled.
    cache : bool, default True
        Keep the mesh after reading it.  With ``False`` the file is read
        again at every :meth:`voxelize` (little memory for large data sets,
        as in SparseConvNet).

    Raises
    ------
    TypeError, ValueError
        For a bad ``render_size`` or ``label``, or a source that is neither
        a path nor a mesh.  Errors of the file itself are
        :class:`~graphnn.exceptions.OFFError`s, raised when it is read.

    Examples
    --------
    >>> from graphnn.sparse3d.mesh.mesh import Mesh
    >>> tetrahedron = Mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]],
    ...                    [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    >>> picture = Off3DPicture(tetrahedron, render_size=8, label=2)
    >>> coords, features = picture.voxelize(rng=0)
    >>> coords.dtype, features.shape[1], bool(features.min() == 1)
    (dtype('int32'), 1, True)
    """

    def __init__(
        self,
        source: str | os.PathLike | Mesh,
        render_size: int,
        label: int = -1,
        *,
        cache: bool = True,
    ) -> None:
        if isinstance(source, Mesh):
            self.path, self._mesh = None, source
        elif isinstance(source, str | os.PathLike):
            self.path, self._mesh = Path(source), None
        else:
            raise TypeError(f"source must be a path to an OFF file or a Mesh, got {source!r}")
        self.render_size = _check_render_size(render_size)
        self.label = _check_label(label)
        self.cache = bool(cache)

    @property
    def mesh(self) -> Mesh:
        """The mesh, read from the file on first use (and kept if ``cache``)."""
        if self._mesh is not None:
            return self._mesh
        mesh = read_off(self.path)
        if self.cache:
            self._mesh = mesh
        return mesh

    @property
    def loaded(self) -> bool:
        """Whether the mesh is in memory."""
        return self._mesh is not None

    def voxelize(
        self,
        train: bool = False,
        rng: SeedLike = None,
        *,
        spatial_size: int | tuple[int, int, int] | None = None,
        features: str | tuple[str, ...] = "ones",
        rotate: bool = True,
        affine: float = 0.2,
        jitter: float = 0.2,
        outside: str = "filter",
    ) -> Voxels:
        """Return the active voxels of this picture, augmented as SparseConvNet did.

        Parameters
        ----------
        train : bool, default False
            Add the training augmentations (affine jitter and translation).
        rng : None, int or numpy.random.Generator
            The randomness of the augmentations.
        spatial_size : int or tuple of 3 ints, optional
            The grid; by default the smallest one that holds the object (see
            :func:`~graphnn.sparse3d.mesh.voxelization.voxelize`).
        features : str or tuple of str, default "ones"
            Per-voxel features (``"ones"``, ``"area"``, ``"normal"``, ...).
        rotate : bool, default True
            Start with a Haar-uniform random rotation (train and test).
        affine : float, default 0.2
            Training only: add U(-affine, affine) to each entry of the identity.
        jitter : float, default 0.2
            Training only: translate by U(-jitter, jitter) x ``render_size``
            voxels along each axis.
        outside : {"filter", "clamp", "raise"}, default "filter"
            What happens to voxels outside ``spatial_size``.

        Returns
        -------
        coords : numpy.ndarray
            int32 ``[N, 3]``, sorted, no duplicates.
        features : numpy.ndarray
            float32 ``[N, C]``.
        """
        affine = _check_amount(affine, "affine")
        jitter = _check_amount(jitter, "jitter")
        generator = as_rng(rng)
        mesh = self.mesh
        if rotate:  # before the bounding box is taken, as in SparseConvNet
            mesh = mesh.transformed(random_rotation(generator))
        matrix = translation = None
        if train:
            matrix = random_affine(generator, affine)
            translation = random_translation(generator, jitter * self.render_size)
        return voxelize(
            mesh,
            self.render_size,
            spatial_size=spatial_size,
            affine=matrix,
            translate=translation,
            features=features,
            outside=outside,
        )

    def __repr__(self) -> str:
        source = str(self.path) if self.path is not None else repr(self._mesh)
        return f"Off3DPicture({source}, render_size={self.render_size}, label={self.label})"


class VoxelPicture:
    """A picture given by its voxels: coordinates and features computed elsewhere.

    :meth:`voxelize` returns them unchanged (there is no mesh to augment),
    shifted into ``spatial_size`` when one is given.

    Parameters
    ----------
    coords : array_like
        Integer ``[N, 3]`` coordinates, non-negative, without duplicates.
    features : array_like, optional
        ``[N, C]`` features; ones ``[N, 1]`` when omitted.
    render_size : int, optional
        The size the voxels were made at; by default the extent of the
        coordinates (``max + 1`` over all axes).
    label : int, default -1
        Class index; ``-1`` for unlabeled.

    Raises
    ------
    ValueError, TypeError
        For coordinates of the wrong shape or type, negative or duplicate
        coordinates (the first one is named), features with another number
        of rows or non-finite values.

    Examples
    --------
    >>> picture = VoxelPicture([[0, 0, 0], [1, 2, 3]], label=1)
    >>> picture.render_size
    4
    >>> coords, features = picture.voxelize(spatial_size=8)
    >>> coords.tolist(), features.tolist()
    ([[3, 2, 2], [4, 4, 5]], [[1.0], [1.0]])
    """

    def __init__(
        self,
        coords: ArrayLike,
        features: ArrayLike | None = None,
        render_size: int | None = None,
        label: int = -1,
    ) -> None:
        c = np.asarray(coords)
        if c.ndim != 2 or c.shape[1] != 3:
            raise SparseDataError(f"coords must have shape [N, 3], got {list(c.shape)}")
        if c.size and not np.issubdtype(c.dtype, np.integer):
            raise TypeError(f"coords must be integers, got dtype {c.dtype}")
        c = c.astype(np.int32)
        if c.size and c.min() < 0:
            row = int(np.flatnonzero((c < 0).any(axis=1))[0])
            raise SparseDataError(f"coords[{row}] = {c[row].tolist()} is negative")
        unique, first = np.unique(c, axis=0, return_index=True)
        if len(unique) != len(c):
            duplicated = np.setdiff1d(np.arange(len(c)), first)[0]
            raise SparseDataError(f"coords[{duplicated}] = {c[duplicated].tolist()} is a duplicate")
        f = np.ones((len(c), 1)) if features is None else np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[0] != len(c):
            raise SparseDataError(f"features must have shape [{len(c)}, C], got {list(f.shape)}")
        if not np.isfinite(f).all():
            row = int(np.flatnonzero(~np.isfinite(f).all(axis=1))[0])
            raise SparseDataError(f"features[{row}] is not finite: {f[row].tolist()}")
        extent = int(c.max()) + 1 if c.size else 1
        self.coords, self.features = c, f.astype(np.float32)
        self.render_size = extent if render_size is None else _check_render_size(render_size)
        self.label = _check_label(label)

    def voxelize(
        self,
        train: bool = False,
        rng: SeedLike = None,
        *,
        spatial_size: int | tuple[int, int, int] | None = None,
        features: str | tuple[str, ...] = "ones",
    ) -> Voxels:
        """Return the voxels, centred in ``spatial_size`` when one is given.

        ``train`` and ``rng`` are accepted for the :class:`Picture` interface
        and ignored; ``features`` must be ``"ones"`` when the picture was
        built without features, and is otherwise ignored (the stored ones
        are returned).

        Raises
        ------
        ValueError
            If the voxels do not fit in ``spatial_size``.
        """
        coords = self.coords
        if spatial_size is not None:
            size = np.broadcast_to(np.asarray(spatial_size, dtype=np.int64), (3,))
            low = coords.min(axis=0) if len(coords) else np.zeros(3, np.int64)
            extent = coords.max(axis=0) - low + 1 if len(coords) else np.zeros(3, np.int64)
            if np.any(extent > size):
                raise ValueError(
                    f"the voxels span {extent.tolist()} but spatial_size is {size.tolist()}"
                )
            coords = (coords - low + (size - extent) // 2).astype(np.int32)
        return coords.copy(), self.features.copy()

    def __repr__(self) -> str:
        return (
            f"VoxelPicture({len(self.coords)} voxels, {self.features.shape[1]} channels, "
            f"render_size={self.render_size}, label={self.label})"
        )
