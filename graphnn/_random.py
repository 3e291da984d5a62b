"""The one ``seed`` contract of graphnn: ``None``, a non-negative int or a numpy ``Generator``.

Every random function of graphnn takes ``seed`` and turns it, once, into the
generator it draws from:

* :func:`as_rng` - a ``numpy.random.Generator`` (the structure generators,
  edits, meshes, augmentation, data sets);
* :func:`nx_seed` - what networkx's own generators take (the
  ``erdos_renyi_dag`` family): an int is passed through unchanged, so
  ``erdos_renyi_dag(n, p, seed=s)`` is ``orient(gnp_random_graph(n, p, seed=s))``;
* :func:`torch_generator` - a ``torch.Generator`` (dropout, random
  saliencies), or ``None`` for ``seed=None``: torch's global generator then
  draws, as ``torch.manual_seed`` expects;
* :func:`torch_seeded` - a block in which torch's global generator draws a
  stream of a numpy ``Generator`` (parameter initialisation, whose torch
  functions take no generator), restored after it.

A ``Generator`` given as ``seed`` is advanced: passing the same one to
several functions draws different, reproducible streams.  This module
imports numpy only; torch is imported when a torch generator is asked for.

Examples
--------
>>> bool(as_rng(3).integers(100) == as_rng(3).integers(100))
True
>>> nx_seed(7)
7
"""

from __future__ import annotations

import numbers
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["SeedLike", "as_rng", "check_seed", "nx_seed", "torch_generator", "torch_seeded"]

SeedLike = None | int | np.random.Generator


def check_seed(seed: object) -> SeedLike:
    """Return ``seed`` if it is ``None``, a non-negative int or a numpy ``Generator``.

    Raises
    ------
    TypeError
        If ``seed`` is of another type (a bool included).
    ValueError
        If ``seed`` is a negative int.

    Examples
    --------
    >>> check_seed(-1)
    Traceback (most recent call last):
        ...
    ValueError: seed must be a non-negative int, got -1
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed}")
        return int(seed)
    raise TypeError(
        f"seed must be None, a non-negative int or a numpy.random.Generator, "
        f"got {type(seed).__name__}"
    )


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
    TypeError, ValueError
        As :func:`check_seed`.
    """
    return np.random.default_rng(check_seed(seed))


def nx_seed(seed: SeedLike) -> int | random.Random | None:
    """Return ``seed`` in a form every networkx release takes (an int passes unchanged).

    A numpy ``Generator`` becomes a ``random.Random`` seeded from it (one
    draw), so the networkx-backed generators follow the same contract as the
    others on networkx 3.2 and later alike.

    Raises
    ------
    TypeError, ValueError
        As :func:`check_seed`.

    Examples
    --------
    >>> a = nx_seed(np.random.default_rng(0)).random()
    >>> b = nx_seed(np.random.default_rng(0)).random()
    >>> a == b
    True
    """
    seed = check_seed(seed)
    if isinstance(seed, np.random.Generator):
        return random.Random(int(seed.integers(2**63)))
    return seed


def torch_generator(seed: SeedLike, device: torch.device | str = "cpu") -> torch.Generator | None:
    """Return a ``torch.Generator`` on ``device`` seeded from ``seed``; ``None`` for ``None``.

    With ``None`` the caller draws from torch's global generator (what
    ``torch.manual_seed`` controls), so code that seeds torch globally keeps
    its numbers.

    Raises
    ------
    TypeError, ValueError
        As :func:`check_seed`.

    Examples
    --------
    >>> import torch
    >>> g = torch_generator(0)
    >>> bool(torch.rand(2, generator=g).equal(torch.rand(2, generator=torch_generator(0))))
    True
    >>> torch_generator(None) is None
    True
    """
    seed = check_seed(seed)
    if seed is None:
        return None
    import torch

    value = int(seed.integers(2**63)) if isinstance(seed, np.random.Generator) else seed
    return torch.Generator(device=device).manual_seed(value)


@contextmanager
def torch_seeded(rng: np.random.Generator | None) -> Iterator[None]:
    """Run the block with torch's global CPU generator seeded from ``rng``, then restore it.

    Each block draws one number from ``rng`` to seed torch, so successive
    blocks draw successive, reproducible streams, and torch's own stream
    outside the blocks is as if they had not run.  With ``None`` the block
    runs on torch's global generator untouched (``torch.manual_seed`` decides).

    Examples
    --------
    >>> import torch
    >>> with torch_seeded(as_rng(0)):
    ...     a = torch.rand(1)
    >>> with torch_seeded(as_rng(0)):
    ...     b = torch.rand(1)
    >>> bool(a == b)
    True
    """
    if rng is None:
        yield
        return
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2**63)))
        yield
