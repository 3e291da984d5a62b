"""Dropout on the features of the active sites, entry-wise or by whole channels of a sample.

Examples
--------
>>> import torch
>>> from graphnn.sparse3d.tensor import SparseVoxelTensor
>>> x = SparseVoxelTensor(torch.tensor([[0, 0, 0, 0]]), torch.ones(1, 1000), (1, 1, 1))
>>> y = SparseDropout(0.5, seed=0)(x)
>>> sorted(set(y.features.flatten().tolist()))
[0.0, 2.0]
"""

from __future__ import annotations

import torch
from torch import nn

from graphnn._random import SeedLike, check_seed
from graphnn._validation import check_probability
from graphnn.sparse3d.layers.base import check_sparse
from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = ["SparseDropout"]


class SparseDropout(nn.Dropout):
    """Dropout on the features of the active sites.

    In training mode each feature entry (``channelwise=False``) is zeroed
    with probability ``p`` and the others are scaled by ``1 / (1 - p)``, as
    ``torch.nn.Dropout`` on the feature matrix ``[N, C]``.  With
    ``channelwise=True`` whole channels of a sample are zeroed together, as
    ``torch.nn.Dropout3d`` on the dense tensor: one draw per (sample, channel),
    shared by all the active sites of that sample.  In evaluation mode the
    layer is the identity.  Inactive sites stay inactive.

    The random draws come from torch's global generator
    (``torch.manual_seed`` makes them reproducible), as with torch's dropout,
    or, with ``seed``, from the layer's own generator (one per device, seeded
    alike): the same seed gives the same masks, whatever else draws.

    Parameters
    ----------
    p : float
        Probability of zeroing, in ``[0, 1)``; 0.5 by default.
    channelwise : bool
        Zero whole channels of a sample rather than single entries.
    inplace : bool
        Overwrite the input's features (entry-wise dropout only).
    seed : None, int or numpy.random.Generator, optional
        Draw the masks from the layer's own stream; ``None`` (the default)
        draws from torch's global generator.

    Raises
    ------
    ValueError
        If ``p`` is outside ``[0, 1)``, or ``inplace`` is asked with
        ``channelwise``.

    Examples
    --------
    >>> SparseDropout(0.2, channelwise=True)
    SparseDropout(p=0.2, inplace=False, channelwise=True)
    """

    def __init__(
        self,
        p: float = 0.5,
        channelwise: bool = False,
        inplace: bool = False,
        *,
        seed: SeedLike = None,
    ) -> None:
        p = check_probability("p", p, below_one=True)
        if channelwise and inplace:
            raise ValueError("SparseDropout cannot drop whole channels in place")
        super().__init__(p, inplace)
        self.channelwise = channelwise
        seed = check_seed(seed)
        self.seed = int(seed.integers(2**63)) if hasattr(seed, "integers") else seed
        self._generators: dict[torch.device, torch.Generator] = {}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_generators"] = {}  # generators are made again from the seed
        return state

    def _generator(self, device: torch.device) -> torch.Generator | None:
        """Return the layer's generator on ``device`` (None without a seed: torch's global one)."""
        if self.seed is None:
            return None
        generator = self._generators.get(device)
        if generator is None:
            generator = torch.Generator(device=device).manual_seed(self.seed)
            self._generators[device] = generator
        return generator

    def extra_repr(self) -> str:  # noqa: D102
        seed = "" if self.seed is None else f", seed={self.seed}"
        return f"{super().extra_repr()}, channelwise={self.channelwise}{seed}"

    def forward(self, x: SparseVoxelTensor) -> SparseVoxelTensor:
        """Return ``x`` with dropout applied to its features (training mode only)."""
        check_sparse(x, type(self).__name__)
        if not self.training or self.p == 0:
            return x
        features = x.features
        generator = self._generator(features.device)
        if not self.channelwise and generator is None:
            return x.replace_features(super().forward(features))
        shape = features.shape if not self.channelwise else (x.batch_size, features.shape[1])
        keep = features.new_empty(shape).bernoulli_(1 - self.p, generator=generator)
        scale = keep / (1 - self.p)
        if self.channelwise:
            return x.replace_features(features * scale[x.coords[:, 0].long()])
        if self.inplace:
            return x.replace_features(features.mul_(scale))
        return x.replace_features(features * scale)
