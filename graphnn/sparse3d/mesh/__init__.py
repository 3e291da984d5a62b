r"""Meshes and their voxels in numpy alone: OFF files, voxelization, augmentation, shapes.

This package never imports torch (a test checks it): a :class:`Mesh`
(:mod:`~graphnn.sparse3d.mesh.mesh`) is read and written as OFF
(:mod:`~graphnn.sparse3d.mesh.off`), transformed by the random rotations,
affine jitters and translations of :mod:`~graphnn.sparse3d.mesh.augment`,
and voxelized by :func:`voxelize` (:mod:`~graphnn.sparse3d.mesh.voxelization`,
with the triangle-box test of :mod:`~graphnn.sparse3d.mesh.triangle_box`).
:data:`SHAPES` names the synthetic shape classes
(:mod:`~graphnn.sparse3d.mesh.primitives`, :mod:`~graphnn.sparse3d.mesh.shapes`)
and :func:`plot_sites` draws voxels (:mod:`~graphnn.sparse3d.mesh.render`).
Every name is also exported by :mod:`graphnn.sparse3d`.

Examples
--------
>>> from graphnn.sparse3d.mesh import random_shape, voxelize
>>> coords, features = voxelize(random_shape("torus", seed=0), 8)
>>> coords.dtype, features.shape[1]
(dtype('int32'), 1)
"""

from graphnn.exceptions import MeshError, OFFError
from graphnn.sparse3d.mesh.augment import random_affine, random_rotation, random_translation
from graphnn.sparse3d.mesh.mesh import Mesh
from graphnn.sparse3d.mesh.off import read_off, write_off
from graphnn.sparse3d.mesh.render import plot_sites
from graphnn.sparse3d.mesh.shapes import SHAPES, random_shape
from graphnn.sparse3d.mesh.voxelization import (
    FEATURES,
    OUTSIDE,
    TOLERANCE,
    grid_coordinates,
    voxelize,
)

__all__ = [
    "FEATURES",
    "OUTSIDE",
    "SHAPES",
    "TOLERANCE",
    "Mesh",
    "MeshError",
    "OFFError",
    "grid_coordinates",
    "plot_sites",
    "random_affine",
    "random_rotation",
    "random_shape",
    "random_translation",
    "read_off",
    "voxelize",
    "write_off",
]
