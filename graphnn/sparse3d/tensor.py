"""The sparse voxel tensor: active sites, their features, and a cache of kernel maps.

A :class:`SparseVoxelTensor` is what the sparse layers take and return:
integer coordinates ``[N, 1 + 3]`` ``(batch, x, y, z)`` of the active sites
(batch id first, as in :class:`~graphnn.sparse3d.data.batch.SparseBatch`),
floating-point features ``[N, C]``, the spatial shape ``(D, H, W)`` of the
grid and the batch size.  Densified it is ``[B, C, D, H, W]`` with the axes
``x <-> D``, ``y <-> H``, ``z <-> W``.

The tensor also carries :attr:`~SparseVoxelTensor.cache`, a dict of kernel
maps (see :mod:`graphnn.sparse3d.kernel_map`) shared by every tensor with
the same sites: :meth:`~SparseVoxelTensor.replace_features` and a
submanifold layer's output share it, so consecutive layers build a map once;
the output of a strided convolution gets the cache of its output sites,
which links back to the map that produced them, so the matching inverse
convolution reuses that map and returns a tensor sharing the cache of the
original sites.

Sites are distinct: a duplicate is an error, and
:meth:`SparseVoxelTensor.merge_duplicates` merges them with an explicit
reduction.  The rows need not be sorted; their order is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from graphnn._validation import check_int, check_triple
from graphnn.exceptions import SparseDataError
from graphnn.sparse3d.data.batch import MAX_SIZE, SparseBatch, check_inside
from graphnn.sparse3d.kernel_map.cache import move_cache
from graphnn.sparse3d.kernel_map.sites import Sites, coords_from_keys, linear_keys

if TYPE_CHECKING:
    from graphnn.sparse3d.kernel_map.map import KernelMap

__all__ = ["SparseVoxelTensor"]

_REDUCTIONS = {"sum": "sum", "mean": "mean", "max": "amax"}


class SparseVoxelTensor:
    """Active voxel sites of a batch, their features, and a cache of kernel maps.

    Parameters
    ----------
    coords : torch.Tensor
        Integer ``[N, 4]``: ``(batch, x, y, z)`` of each active site, batch id
        first.  ``torch.int32`` by convention; any integer dtype is accepted
        and converted (a copy).  Batch ids lie in ``[0, batch_size)``, each
        spatial coordinate in ``[0, spatial_shape[axis])``, no site twice.
    features : torch.Tensor
        Floating-point ``[N, C]``, one row per row of ``coords``, on the same
        device.
    spatial_shape : 3 ints
        ``(D, H, W)``, the grid of the ``x``, ``y`` and ``z`` coordinates.
    batch_size : int, optional
        Number of samples ``B`` (samples may have no site).  Default: the
        largest batch id plus one, 1 when there is no site.

    Attributes
    ----------
    coords : torch.Tensor
        ``int32 [N, 4]``.
    features : torch.Tensor
    spatial_shape : tuple of 3 ints
    batch_size : int
    cache : dict
        Kernel maps keyed by geometry (see :mod:`graphnn.sparse3d.kernel_map`),
        shared by the tensors with these sites.

    Raises
    ------
    TypeError
        For non-integer coordinates or non-floating-point features.
    SparseDataError
        For a malformed shape, a batch id or a coordinate out of range, or a
        site given twice (rows named).
    ValueError
        For tensors on two devices.

    Examples
    --------
    >>> import torch
    >>> t = SparseVoxelTensor(
    ...     torch.tensor([[0, 1, 2, 3], [1, 0, 0, 0]]), torch.ones(2, 3), (4, 4, 4), batch_size=3
    ... )
    >>> t  # doctest: +NORMALIZE_WHITESPACE
    SparseVoxelTensor(batch_size=3, sites=2, channels=3, spatial_shape=(4, 4, 4),
                      dtype=torch.float32, device=cpu)
    >>> t.coords.dtype, t.dense().shape
    (torch.int32, torch.Size([3, 3, 4, 4, 4]))
    >>> t.replace_features(torch.zeros(2, 1)).cache is t.cache
    True
    """

    def __init__(
        self,
        coords: torch.Tensor,
        features: torch.Tensor,
        spatial_shape: Sequence[int],
        batch_size: int | None = None,
    ) -> None:
        shape = check_triple("spatial_shape", spatial_shape, low=1, high=MAX_SIZE)
        coords, batch_size = _checked_coords(coords, shape, batch_size)
        _check_features(features, coords)
        sites = Sites.of(linear_keys(coords, shape))
        _check_distinct(coords, sites.keys, sites.rows)
        self._set(coords, features, shape, batch_size, {("sites",): sites})

    def _set(self, coords, features, spatial_shape, batch_size, cache) -> None:
        self.coords = coords
        self.features = features
        self.spatial_shape = spatial_shape
        self.batch_size = batch_size
        self.cache = cache

    @classmethod
    def _trusted(
        cls,
        coords: torch.Tensor,
        features: torch.Tensor,
        spatial_shape: tuple[int, int, int],
        batch_size: int,
        cache: dict,
    ) -> SparseVoxelTensor:
        """Build from parts known to be valid (a layer's output), without the checks."""
        t = object.__new__(cls)
        t._set(coords, features, spatial_shape, batch_size, cache)
        return t

    # --- construction --------------------------------------------------------------------

    @classmethod
    def from_batch(cls, batch: SparseBatch) -> SparseVoxelTensor:
        """Return the tensor of a :class:`~graphnn.sparse3d.data.batch.SparseBatch` (rows kept).

        Raises
        ------
        SparseDataError
            If a sample has a voxel twice.

        Examples
        --------
        >>> import torch
        >>> from graphnn.sparse3d.data.batch import Sample, collate
        >>> s = Sample(torch.tensor([[0, 1, 2]]), torch.ones(1, 2), 0, 0, (3, 3, 3))
        >>> SparseVoxelTensor.from_batch(collate([s, s])).coords.tolist()
        [[0, 0, 1, 2], [1, 0, 1, 2]]
        """
        if not isinstance(batch, SparseBatch):
            raise TypeError(f"batch must be a SparseBatch, got {type(batch).__name__}")
        return cls(batch.coords, batch.features, batch.spatial_size, batch.batch_size)

    @classmethod
    def from_dense(
        cls, x: torch.Tensor, threshold: float = 0.0, *, mask: torch.Tensor | None = None
    ) -> SparseVoxelTensor:
        """Return the sites of a dense ``[B, C, D, H, W]`` tensor whose value exceeds a threshold.

        Parameters
        ----------
        x : torch.Tensor
            Floating point ``[B, C, D, H, W]``.
        threshold : float, default 0.0
            A site is active when some channel has ``|value| > threshold``.
        mask : torch.Tensor, optional
            Boolean ``[B, D, H, W]``: the active sites, instead of the threshold.

        Returns
        -------
        SparseVoxelTensor
            Sites sorted lexicographically; features ``x[b, :, x, y, z]``
            (differentiable with respect to ``x``).

        Examples
        --------
        >>> import torch
        >>> x = torch.zeros(1, 2, 2, 2, 2)
        >>> x[0, 1, 1, 0, 1] = 5.0
        >>> t = SparseVoxelTensor.from_dense(x)
        >>> t.coords.tolist(), t.features.tolist()
        ([[0, 1, 0, 1]], [[0.0, 5.0]])
        >>> torch.equal(t.dense(), x)
        True
        """
        if not isinstance(x, torch.Tensor) or x.dim() != 5:
            got = list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a [B, C, D, H, W] tensor, got {got}")
        if not x.is_floating_point():
            raise TypeError(f"x must be floating point, got {x.dtype}")
        B, _, D, H, W = x.shape
        if mask is None:
            mask = (x.abs() > threshold).any(dim=1)
        elif not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise TypeError(f"mask must be a boolean tensor, got {getattr(mask, 'dtype', mask)!r}")
        elif mask.shape != (B, D, H, W):
            raise ValueError(f"mask must have shape {[B, D, H, W]}, got {list(mask.shape)}")
        coords = torch.nonzero(mask).to(torch.int32)
        features = x.permute(0, 2, 3, 4, 1)[mask]
        shape = (D, H, W)
        if B == 0 or min(shape) == 0:
            raise ValueError(
                f"x must have a batch and a grid of positive sizes, got {list(x.shape)}"
            )
        sites = Sites.of(linear_keys(coords, shape))
        return cls._trusted(coords, features, shape, B, {("sites",): sites})

    @classmethod
    def merge_duplicates(
        cls,
        coords: torch.Tensor,
        features: torch.Tensor,
        spatial_shape: Sequence[int],
        batch_size: int | None = None,
        reduce: str = "sum",
    ) -> SparseVoxelTensor:
        """Return the tensor of ``coords`` and ``features`` with repeated sites merged.

        Parameters
        ----------
        coords, features, spatial_shape, batch_size
            As for the constructor, except that a site may repeat.
        reduce : {"sum", "mean", "max"}, default "sum"
            How the feature rows of one site combine (per channel).

        Returns
        -------
        SparseVoxelTensor
            One row per distinct site, sorted lexicographically
            (differentiable with respect to ``features``).

        Examples
        --------
        >>> import torch
        >>> c = torch.tensor([[0, 1, 1, 1], [0, 0, 0, 0], [0, 1, 1, 1]])
        >>> f = torch.tensor([[1.0], [2.0], [4.0]])
        >>> t = SparseVoxelTensor.merge_duplicates(c, f, (2, 2, 2), reduce="mean")
        >>> t.coords.tolist(), t.features.tolist()
        ([[0, 0, 0, 0], [0, 1, 1, 1]], [[2.0], [2.5]])
        """
        if reduce not in _REDUCTIONS:
            raise ValueError(f"reduce must be one of {', '.join(_REDUCTIONS)}, got {reduce!r}")
        shape = check_triple("spatial_shape", spatial_shape, low=1, high=MAX_SIZE)
        coords, batch_size = _checked_coords(coords, shape, batch_size)
        _check_features(features, coords)
        keys, inverse = torch.unique(linear_keys(coords, shape), return_inverse=True)
        index = inverse[:, None].expand(-1, features.shape[1])
        merged = features.new_zeros(keys.numel(), features.shape[1]).scatter_reduce(
            0, index, features, _REDUCTIONS[reduce], include_self=False
        )
        sites = Sites.of(keys)
        return cls._trusted(coords_from_keys(keys, shape), merged, shape, batch_size, {
            ("sites",): sites
        })  # fmt: skip

    # --- properties ----------------------------------------------------------------------

    @property
    def num_sites(self) -> int:
        """Number of active sites ``N``."""
        return int(self.coords.shape[0])

    @property
    def channels(self) -> int:
        """Number of feature channels ``C``."""
        return int(self.features.shape[1])

    @property
    def device(self) -> torch.device:
        """The device of the coordinates and the features."""
        return self.coords.device

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the features."""
        return self.features.dtype

    def __len__(self) -> int:
        return self.num_sites

    def __repr__(self) -> str:
        return (
            f"SparseVoxelTensor(batch_size={self.batch_size}, sites={self.num_sites}, "
            f"channels={self.channels}, spatial_shape={self.spatial_shape}, "
            f"dtype={self.dtype}, device={self.device})"
        )

    # --- conversions ---------------------------------------------------------------------

    def dense(self) -> torch.Tensor:
        """Return the dense ``[B, C, D, H, W]`` tensor: features at the sites, zeros elsewhere.

        Differentiable with respect to the features.
        """
        D, H, W = self.spatial_shape
        c = self.coords.long()
        grid = self.features.new_zeros(self.batch_size, D, H, W, self.channels)
        grid = grid.index_put((c[:, 0], c[:, 1], c[:, 2], c[:, 3]), self.features)
        return grid.permute(0, 4, 1, 2, 3)

    def replace_features(self, features: torch.Tensor) -> SparseVoxelTensor:
        """Return a tensor with the same sites (and the same cache object) and new features.

        Parameters
        ----------
        features : torch.Tensor
            Floating point ``[N, C']`` on the tensor's device; ``C'`` may differ.

        Raises
        ------
        ValueError, TypeError
            For features of the wrong length, device or dtype.
        """
        _check_features(features, self.coords)
        return self._trusted(self.coords, features, self.spatial_shape, self.batch_size, self.cache)

    def map_output(self, kmap: KernelMap, features: torch.Tensor) -> SparseVoxelTensor:
        """Return the tensor on the output sites of ``kmap`` (made from ``self``) with ``features``.

        Its cache is ``kmap.out_cache``: ``self.cache`` for a submanifold map,
        the cache of the map's output sites otherwise (for a conv map it holds
        the link an inverse convolution needs; for an inverse map it is the
        inverted conv's input cache).  Layers call this on their result.

        Raises
        ------
        ValueError
            If ``kmap`` was built for other input sites, or ``features`` has
            the wrong number of rows.
        """
        if kmap.in_cache is not self.cache and kmap.n_in != self.num_sites:
            raise ValueError(
                f"the kernel map was built for {kmap.n_in} input sites, this tensor has "
                f"{self.num_sites}"
            )
        if features.dim() != 2 or features.shape[0] != kmap.n_out:
            raise ValueError(
                f"features must have shape [N_out, C] with N_out = {kmap.n_out} (the map's "
                f"output sites), got {list(features.shape)}"
            )
        return self._trusted(
            kmap.out_coords, features, kmap.out_spatial_shape, self.batch_size, kmap.out_cache
        )

    def to(
        self,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        non_blocking: bool = False,
    ) -> SparseVoxelTensor:
        """Return the tensor on ``device`` and/or with features of ``dtype``.

        Coordinates stay ``int32``.  On the same device the result shares the
        coordinates and the cache.  On another device it gets a copy of the
        cache with every kernel map moved there, linked as before (the caches
        of the sites strided convolutions produced, their inverse maps; see
        :func:`~graphnn.sparse3d.kernel_map.cache.move_cache`), so maps built on the
        CPU, say in a data-loading worker, are not built again on the GPU.

        Examples
        --------
        >>> import torch
        >>> t = SparseVoxelTensor.from_dense(torch.ones(1, 1, 1, 1, 2))
        >>> h = t.to(dtype=torch.float16)
        >>> h.dtype, h.cache is t.cache
        (torch.float16, True)
        """
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(f"features must stay floating point, got dtype {dtype}")
        features = self.features.to(device=device, dtype=dtype, non_blocking=non_blocking)
        if device is None or torch.device(device) == self.device:
            return self.replace_features(features)
        coords, cache = move_cache(self.coords, self.cache, device, non_blocking)
        return self._trusted(coords, features, self.spatial_shape, self.batch_size, cache)


# --- checks ------------------------------------------------------------------------------


def _checked_coords(
    coords: object, shape: tuple[int, int, int], batch_size: object
) -> tuple[torch.Tensor, int]:
    """Check ``coords`` and ``batch_size``; return the coords as int32 and the batch size."""
    if not isinstance(coords, torch.Tensor):
        raise TypeError(f"coords must be a torch.Tensor, got {type(coords).__name__}")
    if coords.dtype == torch.bool or coords.is_floating_point() or coords.is_complex():
        raise TypeError(f"coords must be an integer tensor (torch.int32), got {coords.dtype}")
    if coords.dim() != 2 or coords.shape[1] != 4:
        raise SparseDataError(
            f"coords must have shape [N, 4] (batch, x, y, z), got {list(coords.shape)}"
        )
    low, high = coords.aminmax(dim=0) if coords.shape[0] else (None, None)
    if batch_size is None:
        batch_size = max(1, int(high[0]) + 1) if high is not None else 1
    else:
        batch_size = check_int("batch_size", batch_size, low=1)
    if low is not None:
        _check_bounds(coords, low, high, shape, batch_size)
    D, H, W = shape
    if batch_size * D * H * W >= 2**62:
        raise ValueError(
            f"batch_size {batch_size} times the spatial shape {shape} does not fit the int64 "
            "site keys; use a smaller grid or batch"
        )
    return coords.to(torch.int32), batch_size


def _check_bounds(
    coords: torch.Tensor,
    low: torch.Tensor,
    high: torch.Tensor,
    shape: tuple[int, int, int],
    batch_size: int,
) -> None:
    """Raise naming the first row outside the batch or the grid (given each column's bounds).

    The bounds of every column come from one pass; the offending row is
    looked for only when they do not fit.
    """
    limits = (batch_size, *shape)
    if int(low.min()) >= 0 and all(h < m for h, m in zip(high.tolist(), limits, strict=True)):
        return
    batch = coords[:, 0]
    bad = torch.nonzero((batch < 0) | (batch >= batch_size)).flatten()
    if bad.numel():
        row = int(bad[0])
        raise SparseDataError(
            f"coords row {row} has batch id {int(batch[row])}, outside [0, {batch_size}) for "
            f"a batch of {batch_size} samples"
        )
    check_inside(coords[:, 1:], shape, "coords", first_column=1)


def _check_features(features: object, coords: torch.Tensor) -> None:
    if not isinstance(features, torch.Tensor):
        raise TypeError(f"features must be a torch.Tensor, got {type(features).__name__}")
    if features.dim() != 2 or features.shape[0] != coords.shape[0]:
        raise SparseDataError(
            f"features must have shape [N, C] with N = {coords.shape[0]} (the rows of coords), "
            f"got {list(features.shape)}"
        )
    if not features.is_floating_point():
        raise TypeError(f"features must be floating point, got {features.dtype}")
    if features.device != coords.device:
        raise ValueError(
            f"coords and features must be on one device, got {coords.device} and {features.device}"
        )


def _check_distinct(coords: torch.Tensor, keys: torch.Tensor, rows: torch.Tensor) -> None:
    """Raise naming the first row that repeats an earlier row's site (keys sorted stably)."""
    if keys.numel() < 2:
        return
    repeat = keys[1:] == keys[:-1]
    if bool(repeat.any()):
        later = rows[1:][repeat]
        row = int(later.min())
        first = int(rows[torch.searchsorted(keys, keys[rows == row])])
        site = tuple(coords[row].tolist())
        raise SparseDataError(
            f"coords row {row} repeats the site {site} of row {first}: sites must be distinct; "
            "SparseVoxelTensor.merge_duplicates(coords, features, spatial_shape, reduce=...) "
            "merges them"
        )
