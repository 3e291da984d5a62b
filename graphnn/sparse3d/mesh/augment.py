"""Random transforms for augmenting 3D objects: rotation, affine jitter, translation.

Every function takes ``seed`` (None, an int or a ``numpy.random.Generator``,
advanced in place) so a whole augmentation pipeline can run from one stream.

:func:`random_rotation` is uniform over the rotation group SO(3) (Haar
measure): a uniformly random unit quaternion (four independent normals,
normalised) turned into a matrix.  SparseConvNet took the Q of a QR
decomposition of a matrix with uniform entries instead, which is not uniform
(its first column always points into the positive octant's half-space, up
to the QR routine's sign convention; ``tests/sparse3d/test_augment.py``
measures the bias) and, depending on that convention, can be a reflection.
"""

from __future__ import annotations

import numpy as np

from graphnn._random import SeedLike, as_rng
from graphnn._validation import check_number

__all__ = ["random_affine", "random_rotation", "random_translation"]


def _amount(value: object, name: str) -> float:
    return check_number(name, value, low=0, what="a finite non-negative number")


def random_rotation(seed: SeedLike = None) -> np.ndarray:
    """Return a rotation matrix drawn uniformly from SO(3).

    Parameters
    ----------
    seed : None, int or numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        float64 ``[3, 3]``, orthogonal with determinant +1.

    Examples
    --------
    >>> R = random_rotation(0)
    >>> bool(np.allclose(R @ R.T, np.eye(3))), round(float(np.linalg.det(R)), 12)
    (True, 1.0)
    """
    rng = as_rng(seed)
    q = rng.standard_normal(4)
    norm = np.linalg.norm(q)
    while norm < 1e-12:  # probability zero; keeps the division safe
        q = rng.standard_normal(4)
        norm = np.linalg.norm(q)
    w, x, y, z = q / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def random_affine(seed: SeedLike = None, amount: float = 0.2) -> np.ndarray:
    """Return the identity plus independent U(-amount, amount) entries (SparseConvNet's jitter).

    Parameters
    ----------
    seed : None, int or numpy.random.Generator
    amount : float, default 0.2
        Half-width of the uniform noise on each of the nine entries.

    Returns
    -------
    numpy.ndarray
        float64 ``[3, 3]``.

    Raises
    ------
    ValueError, TypeError
        If ``amount`` is not a finite non-negative number.

    Examples
    --------
    >>> A = random_affine(0, 0.1)
    >>> bool(np.all(np.abs(A - np.eye(3)) <= 0.1))
    True
    >>> random_affine(0, 0.0).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    amount = _amount(amount, "amount")
    return np.eye(3) + as_rng(seed).uniform(-amount, amount, size=(3, 3))


def random_translation(seed: SeedLike = None, amount: float = 1.0) -> np.ndarray:
    """Return a translation with independent U(-amount, amount) components.

    Parameters
    ----------
    seed : None, int or numpy.random.Generator
    amount : float, default 1.0
        Half-width along each axis (in the units of the points it moves,
        voxels for :func:`~graphnn.sparse3d.mesh.voxelization.voxelize`).

    Returns
    -------
    numpy.ndarray
        float64 ``[3]``.

    Raises
    ------
    ValueError, TypeError
        If ``amount`` is not a finite non-negative number.

    Examples
    --------
    >>> t = random_translation(0, 4.0)
    >>> t.shape, bool(np.all(np.abs(t) <= 4.0))
    ((3,), True)
    """
    amount = _amount(amount, "amount")
    return as_rng(seed).uniform(-amount, amount, size=3)
