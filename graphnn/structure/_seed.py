"""Normalise the ``seed`` argument of graphnn's random functions, once."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_rng"]

SeedLike = None | int | np.random.Generator


def as_rng(seed: SeedLike) -> np.random.Generator:
    """Return a numpy ``Generator`` for ``seed``.

    Parameters
    ----------
    seed : None, int or numpy.random.Generator
        ``None`` draws fresh entropy; a non-negative int gives a reproducible
        stream; a ``Generator`` is used as is (and advanced).

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    TypeError
        If ``seed`` is of another type.
    ValueError
        If ``seed`` is a negative int.

    Examples
    --------
    >>> bool(as_rng(3).integers(100) == as_rng(3).integers(100))
    True
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed}")
        return np.random.default_rng(int(seed))
    raise TypeError(
        f"seed must be None, a non-negative int or a numpy.random.Generator, "
        f"got {type(seed).__name__}"
    )
