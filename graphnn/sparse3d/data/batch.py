"""Sparse voxel samples and the batches a data loader makes of them.

A :class:`Sample` is one voxelized object: the integer coordinates of its
active voxels ``[N, 3]`` (x, y, z), their features ``[N, C]``, a class label
and its index in the data set.  :func:`collate` concatenates samples into a
:class:`SparseBatch`, whose coordinates ``[N, 1 + 3]`` carry the batch id in
the *first* column, ``(batch, x, y, z)``, as the sparse layers expect.

Conventions, kept stable so that round trips are exact:

* the rows of a batch are sorted by batch id, and inside one sample they keep
  the sample's own order, so :meth:`SparseBatch.unbatch` gives back each
  sample's coordinates and features exactly;
* batch ids are exactly ``0 .. B-1``, in the order of the samples;
* a label of ``-1`` marks an unlabeled sample;
* a sample may have no active voxel at all: it keeps its batch id, its label
  and its index, and owns no rows.

:func:`collate` is a plain module-level function, so it can be the
``collate_fn`` of a ``torch.utils.data.DataLoader`` with worker processes,
and :meth:`SparseBatch.pin_memory` lets that loader pin the batches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

import torch

from graphnn._validation import check_int, check_triple
from graphnn.exceptions import SparseDataError

__all__ = ["MAX_SIZE", "Sample", "SparseBatch", "check_inside", "collate"]

#: Coordinates must fit in int32: every spatial size is below this.
MAX_SIZE = 2**31 - 1


class Sample(NamedTuple):
    """One voxelized object: active voxels, their features, label and data-set index.

    Attributes
    ----------
    coords : torch.Tensor
        Integer ``[N, 3]`` (x, y, z) coordinates of the active voxels, each in
        ``[0, spatial_size[axis])``; ``torch.int32`` by convention (any integer
        dtype is accepted by :func:`collate`).  ``N`` may be 0.
    features : torch.Tensor
        Floating-point ``[N, C]`` features of the voxels, ``torch.float32``
        by convention.
    label : int
        Class index, or ``-1`` for an unlabeled sample.
    index : int
        Position of the sample in its data set (non-negative).
    spatial_size : tuple of 3 ints
        Size of the voxel grid the coordinates live in.

    Examples
    --------
    >>> import torch
    >>> s = Sample(torch.zeros(1, 3, dtype=torch.int32), torch.ones(1, 1), 2, 0, (4, 4, 4))
    >>> s.label, s.spatial_size
    (2, (4, 4, 4))
    """

    coords: torch.Tensor
    features: torch.Tensor
    label: int
    index: int
    spatial_size: tuple[int, int, int]


@dataclasses.dataclass(frozen=True, eq=False)
class SparseBatch:
    """Several sparse voxel samples in one set of tensors.

    Parameters
    ----------
    coords : torch.Tensor
        ``torch.int32`` ``[N, 4]``: ``(batch, x, y, z)`` of every active voxel,
        the batch id first.  Rows are sorted by batch id (stably: a sample's
        rows keep their order); batch ids lie in ``[0, B)`` and each spatial
        coordinate in ``[0, spatial_size[axis])``.
    features : torch.Tensor
        Floating-point ``[N, C]``, one row per row of ``coords``.
    labels : torch.Tensor
        ``torch.int64`` ``[B]``: the class of each sample, ``-1`` if unlabeled.
    indices : torch.Tensor
        ``torch.int64`` ``[B]``: the data-set index of each sample.
    spatial_size : tuple of 3 ints
        Size of the voxel grid shared by the whole batch.

    Raises
    ------
    SparseDataError
        If a shape, a batch id or a coordinate is out of place (named).
    ValueError
        If the tensors are on different devices.
    TypeError
        If a tensor has the wrong dtype.

    Examples
    --------
    >>> import torch
    >>> b = SparseBatch(
    ...     coords=torch.tensor([[0, 1, 2, 3], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.int32),
    ...     features=torch.ones(3, 2),
    ...     labels=torch.tensor([4, -1]),
    ...     indices=torch.tensor([10, 11]),
    ...     spatial_size=(4, 4, 4),
    ... )
    >>> b
    SparseBatch(batch_size=2, voxels=3, channels=2, spatial_size=(4, 4, 4), device=cpu)
    >>> len(b), b.sample_slices()
    (2, [slice(0, 1, None), slice(1, 3, None)])
    >>> [c.tolist() for c, _ in b.unbatch()]
    [[[1, 2, 3]], [[0, 0, 0], [1, 1, 1]]]
    """

    coords: torch.Tensor
    features: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor
    spatial_size: tuple[int, int, int]

    def __post_init__(self) -> None:
        object.__setattr__(self, "spatial_size", _spatial_size(self.spatial_size, "spatial_size"))
        _require_tensor("coords", self.coords)
        _require_tensor("features", self.features)
        _require_tensor("labels", self.labels)
        _require_tensor("indices", self.indices)
        if self.coords.dim() != 2 or self.coords.shape[1] != 4:
            raise SparseDataError(
                f"coords must have shape [N, 4] (batch, x, y, z), got {list(self.coords.shape)}"
            )
        if self.coords.dtype != torch.int32:
            raise TypeError(f"coords must be torch.int32, got {self.coords.dtype}")
        if self.features.dim() != 2 or self.features.shape[0] != self.coords.shape[0]:
            raise SparseDataError(
                f"features must have shape [N, C] with N = {self.coords.shape[0]} (the rows "
                f"of coords), got {list(self.features.shape)}"
            )
        if not self.features.is_floating_point():
            raise TypeError(f"features must be floating point, got {self.features.dtype}")
        for name in ("labels", "indices"):
            tensor = getattr(self, name)
            if tensor.dim() != 1:
                raise SparseDataError(f"{name} must have shape [B], got {list(tensor.shape)}")
            if tensor.dtype != torch.int64:
                raise TypeError(f"{name} must be torch.int64, got {tensor.dtype}")
        if self.indices.shape != self.labels.shape:
            raise SparseDataError(
                f"labels and indices must both have shape [B], got {list(self.labels.shape)} "
                f"and {list(self.indices.shape)}"
            )
        devices = {t.device for t in (self.coords, self.features, self.labels, self.indices)}
        if len(devices) > 1:
            raise ValueError(
                "coords, features, labels and indices must be on one device, got "
                f"{self.coords.device}, {self.features.device}, {self.labels.device} and "
                f"{self.indices.device}"
            )
        self._check_rows()

    def _check_rows(self) -> None:
        batch = self.coords[:, 0]
        B = self.batch_size
        bad = torch.nonzero((batch < 0) | (batch >= B)).flatten()
        if bad.numel():
            row = int(bad[0])
            raise SparseDataError(
                f"coords row {row} has batch id {int(batch[row])}, outside [0, {B}) "
                f"for a batch of {B} samples"
            )
        if batch.numel() > 1:
            bad = torch.nonzero(batch[1:] < batch[:-1]).flatten()
            if bad.numel():
                row = int(bad[0]) + 1
                raise SparseDataError(
                    f"coords rows must be sorted by batch id: row {row} has batch id "
                    f"{int(batch[row])} after batch id {int(batch[row - 1])}"
                )
        check_inside(self.coords[:, 1:], self.spatial_size, "coords", first_column=1)

    @classmethod
    def _trusted(cls, **fields) -> SparseBatch:
        """Build from fields known to be valid (moved copies of a valid batch)."""
        batch = object.__new__(cls)
        for name, value in fields.items():
            object.__setattr__(batch, name, value)
        return batch

    @property
    def batch_size(self) -> int:
        """Number of samples ``B`` (empty ones included)."""
        return int(self.labels.shape[0])

    @property
    def device(self) -> torch.device:
        """The device all the tensors are on."""
        return self.coords.device

    def __len__(self) -> int:
        return self.batch_size

    def __repr__(self) -> str:
        return (
            f"SparseBatch(batch_size={self.batch_size}, voxels={self.coords.shape[0]}, "
            f"channels={self.features.shape[1]}, spatial_size={self.spatial_size}, "
            f"device={self.device})"
        )

    def to(self, device: torch.device | str, non_blocking: bool = False) -> SparseBatch:
        """Return the batch with every tensor on ``device`` (tensors already there are shared).

        Parameters
        ----------
        device : torch.device or str
        non_blocking : bool, default False
            Passed to ``Tensor.to``: copies from pinned memory overlap with
            computation.

        Returns
        -------
        SparseBatch
        """
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> SparseBatch:
        """Return the batch with every tensor in page-locked memory.

        ``torch.utils.data.DataLoader(..., pin_memory=True)`` calls this on
        each batch.

        Returns
        -------
        SparseBatch
        """
        return self._map(torch.Tensor.pin_memory)

    def _map(self, fn) -> SparseBatch:
        return self._trusted(
            coords=fn(self.coords),
            features=fn(self.features),
            labels=fn(self.labels),
            indices=fn(self.indices),
            spatial_size=self.spatial_size,
        )

    def sample_slices(self) -> list[slice]:
        """Return the rows of each sample: ``coords[s]`` for ``s`` in the result.

        Returns
        -------
        list of slice
            ``B`` slices with step ``None``, in batch-id order; an empty sample
            has an empty slice.
        """
        counts = torch.bincount(self.coords[:, 0].long(), minlength=self.batch_size)
        ends = torch.cumsum(counts, 0).tolist()
        starts = [0, *ends[:-1]]
        return [slice(start, end) for start, end in zip(starts, ends, strict=True)]

    def unbatch(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Return each sample's ``(coords [n, 3], features [n, C])``, in batch-id order.

        The inverse of :func:`collate` on the voxels: the coordinates (as
        ``torch.int32``, without the batch column) and features come back in
        the order the samples had them.  They are views into the batch.

        Returns
        -------
        list of (torch.Tensor, torch.Tensor)
        """
        return [(self.coords[s, 1:], self.features[s]) for s in self.sample_slices()]


def collate(samples: Sequence[Sample], spatial_size: Sequence[int] | None = None) -> SparseBatch:
    """Concatenate samples into a :class:`SparseBatch`, the ``i``-th with batch id ``i``.

    Parameters
    ----------
    samples : sequence of Sample
        At least one.  A plain 5-tuple in the field order of :class:`Sample`
        is accepted too.  All must have the same number of feature channels,
        the same feature dtype and the same device; coordinates may have any
        integer dtype (they become ``torch.int32``).  A sample with no voxel
        is allowed: it owns no rows but keeps its batch id, label and index.
    spatial_size : sequence of 3 ints, optional
        The batch's grid size.  Default: the elementwise maximum of the
        samples' sizes.  Every sample's coordinates must fit in it.  To fix it
        in a ``DataLoader``, pass ``functools.partial(collate, spatial_size=s)``.

    Returns
    -------
    SparseBatch
        Rows sorted by batch id, each sample's rows in the sample's order.

    Raises
    ------
    SparseDataError
        If a sample (named by position) has malformed shapes, a feature
        channel count other than the first sample's, a label below -1, a
        negative index, or a coordinate outside its own or the given spatial
        size.
    ValueError
        If ``samples`` is empty or the samples are on different devices.
    TypeError
        If a sample is not a Sample, or has tensors of the wrong dtype.

    Examples
    --------
    >>> import torch
    >>> a = Sample(torch.tensor([[0, 0, 0], [1, 2, 3]]), torch.ones(2, 1), 0, 7, (4, 4, 4))
    >>> b = Sample(torch.tensor([[5, 0, 0]]), torch.zeros(1, 1), 1, 3, (8, 2, 2))
    >>> batch = collate([a, b])
    >>> batch.coords.tolist()
    [[0, 0, 0, 0], [0, 1, 2, 3], [1, 5, 0, 0]]
    >>> batch.spatial_size, batch.labels.tolist(), batch.indices.tolist()
    ((8, 4, 4), [0, 1], [7, 3])
    """
    if isinstance(samples, Sample) or not isinstance(samples, Sequence):
        raise TypeError(f"samples must be a sequence of Sample, got {type(samples).__name__}")
    if len(samples) == 0:
        raise ValueError("cannot collate an empty list of samples: a batch needs at least one")
    samples = [_as_sample(i, s) for i, s in enumerate(samples)]
    first = samples[0]
    for i, s in enumerate(samples[1:], start=1):
        if s.features.shape[1] != first.features.shape[1]:
            raise SparseDataError(
                f"sample {i} (index {s.index}) has {s.features.shape[1]} feature channels, "
                f"sample 0 has {first.features.shape[1]}; all samples of a batch need the same"
            )
        if s.features.dtype != first.features.dtype:
            raise TypeError(
                f"sample {i} (index {s.index}) has {s.features.dtype} features, sample 0 has "
                f"{first.features.dtype}; convert them to one dtype"
            )
        if s.coords.device != first.coords.device:
            raise ValueError(
                f"sample {i} (index {s.index}) is on {s.coords.device}, sample 0 on "
                f"{first.coords.device}; collate samples on one device"
            )
    if spatial_size is None:
        size = tuple(max(s.spatial_size[axis] for s in samples) for axis in range(3))
    else:
        size = _spatial_size(spatial_size, "spatial_size")
        for i, s in enumerate(samples):
            check_inside(s.coords, size, f"sample {i} (index {s.index}) coords")
    device = first.coords.device
    counts = torch.tensor([s.coords.shape[0] for s in samples], device=device)
    batch_ids = torch.repeat_interleave(torch.arange(len(samples), device=device), counts)
    coords = torch.cat(
        [batch_ids[:, None], torch.cat([s.coords for s in samples]).to(torch.long)], dim=1
    ).to(torch.int32)
    return SparseBatch._trusted(
        coords=coords,
        features=torch.cat([s.features for s in samples]),
        labels=torch.tensor([s.label for s in samples], dtype=torch.int64, device=device),
        indices=torch.tensor([s.index for s in samples], dtype=torch.int64, device=device),
        spatial_size=size,
    )


def _as_sample(i: int, sample: object) -> Sample:
    """Check one sample of :func:`collate`; return it as a :class:`Sample` of plain ints."""
    if not isinstance(sample, Sample):
        if isinstance(sample, tuple) and len(sample) == len(Sample._fields):
            sample = Sample(*sample)
        else:
            raise TypeError(
                f"sample {i} must be a Sample (or a 5-tuple {Sample._fields}), "
                f"got {type(sample).__name__}"
            )
    where = f"sample {i}"
    coords, features = sample.coords, sample.features
    _require_tensor(f"{where} coords", coords)
    _require_tensor(f"{where} features", features)
    if coords.dim() != 2 or coords.shape[1] != 3:
        raise SparseDataError(f"{where} coords must have shape [N, 3], got {list(coords.shape)}")
    if coords.dtype == torch.bool or coords.is_floating_point() or coords.is_complex():
        raise TypeError(f"{where} coords must be an integer tensor, got {coords.dtype}")
    if features.dim() != 2 or features.shape[0] != coords.shape[0]:
        raise SparseDataError(
            f"{where} features must have shape [N, C] with N = {coords.shape[0]} (the rows of "
            f"its coords), got {list(features.shape)}"
        )
    if not features.is_floating_point():
        raise TypeError(f"{where} features must be floating point, got {features.dtype}")
    if features.device != coords.device:
        raise ValueError(f"{where} has coords on {coords.device} and features on {features.device}")
    label = check_int(
        f"{where} label", sample.label, low=-1, what="a class index or -1 (unlabeled)"
    )
    index = check_int(f"{where} index", sample.index, low=0, what="non-negative")
    size = _spatial_size(sample.spatial_size, f"{where} spatial_size")
    check_inside(coords, size, f"{where} (index {index}) coords")
    return Sample(coords, features, label, index, size)


def _require_tensor(name: str, value: object) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")


def _spatial_size(value: object, name: str) -> tuple[int, int, int]:
    """Return ``value`` as 3 positive ints that int32 coordinates can index, or raise."""
    return check_triple(name, value, low=1, high=MAX_SIZE)


def check_inside(
    xyz: torch.Tensor, size: tuple[int, int, int], what: str, first_column: int = 0
) -> None:
    """Raise a :class:`~graphnn.exceptions.SparseDataError` naming the first row outside ``size``.

    Parameters
    ----------
    xyz : torch.Tensor
        Integer ``[N, 3]`` coordinates.
    size : tuple of 3 ints
        The grid: each coordinate must lie in ``[0, size[axis])``.
    what : str
        The tensor, as the message names it (``"coords"``, ``"sample 2 coords"``).
    first_column : int, default 0
        The column of ``xyz`` in the tensor the user passed, for the message.
    """
    if xyz.numel() == 0:
        return
    limit = torch.tensor(size, device=xyz.device)
    outside = ((xyz < 0) | (xyz >= limit)).any(dim=1)
    bad = torch.nonzero(outside).flatten()
    if bad.numel():
        row = int(bad[0])
        point = xyz[row].tolist()
        columns = f" (columns {first_column}..{first_column + 2})" if first_column else ""
        raise SparseDataError(
            f"{what} row {row} is {point}{columns}, outside the spatial size {size}: each "
            "coordinate must lie in [0, size)"
        )
