"""Data sets of 3D pictures that yield sparse voxel samples.

:class:`SparseDataset` is a ``torch.utils.data.Dataset`` of pictures
(:class:`~graphnn.sparse3d.data.picture.Off3DPicture`,
:class:`~graphnn.sparse3d.data.picture.VoxelPicture`, or anything following the
:class:`~graphnn.sparse3d.data.picture.Picture` protocol) with the operations
PySparseConvNet's ``SparseDataset`` had (``add_picture``,
``repeat_samples``, ``summary``, a validation split) and two sources that
need no code of your own: :meth:`SparseDataset.from_folder` for the ModelNet
folder layout and :meth:`SparseDataset.shapes` for labelled synthetic meshes.

Item ``i`` is a :class:`~graphnn.sparse3d.data.batch.Sample` voxelized when it is
asked for, with training augmentation when the data set's kind is
``"train"``.  The randomness comes from torch's generator by default, so
``torch.manual_seed`` makes a run reproducible and every ``DataLoader``
worker and epoch draws different augmentations; with ``seed=`` it is a
function of ``(seed, epoch, i)`` alone (:meth:`SparseDataset.set_epoch`).
"""

from __future__ import annotations

import numbers
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from graphnn._random import SeedLike, as_rng
from graphnn._validation import check_int, check_number, check_triple
from graphnn.exceptions import DatasetError
from graphnn.sparse3d.data.batch import Sample, collate
from graphnn.sparse3d.data.picture import Off3DPicture, Picture
from graphnn.sparse3d.mesh.shapes import SHAPES
from graphnn.sparse3d.mesh.shapes import shapes as synthetic_shapes

__all__ = ["KINDS", "DatasetSummary", "SparseDataset"]

#: The kinds of data set: training samples are augmented, unlabeled ones have label -1.
KINDS = ("train", "test", "unlabeled")


@dataclass(frozen=True)
class DatasetSummary:
    """What :meth:`SparseDataset.summary` returns; printable.

    Attributes
    ----------
    name, kind : str
        The data set's name and kind.
    samples : int
        Number of samples (pictures, repetitions included).
    class_counts : dict of str to int
        Samples per class name, in class order (unlabeled samples under ``"-"``).
    """

    name: str
    kind: str
    samples: int
    class_counts: dict[str, int]

    def __str__(self) -> str:
        lines = [f"{self.name or 'SparseDataset'} ({self.kind}): {self.samples} samples"]
        width = max((len(name) for name in self.class_counts), default=0)
        lines += [f"  {name:<{width}}  {count}" for name, count in self.class_counts.items()]
        return "\n".join(lines)


def _spatial_size(value: object) -> tuple[int, int, int] | None:
    return None if value is None else check_triple("spatial_size", value, low=1)


class SparseDataset(Dataset):
    """A list of pictures that yields voxelized :class:`~graphnn.sparse3d.data.batch.Sample`s.

    Parameters
    ----------
    name : str, default ""
        A name for summaries.
    kind : {"train", "test", "unlabeled"}, default "train"
        ``"train"`` samples are augmented (see
        :meth:`~graphnn.sparse3d.data.picture.Off3DPicture.voxelize`); the
        samples of an ``"unlabeled"`` data set have label ``-1``.
    class_names : sequence of str, optional
        Names of the classes; labels index it.
    pictures : iterable of Picture, optional
        Added with :meth:`add_picture`.
    spatial_size : int or tuple of 3 ints, optional
        The grid every sample is voxelized into (voxels outside are
        dropped).  By default each sample gets the smallest grid that holds
        its voxels, and :func:`~graphnn.sparse3d.data.batch.collate` takes the
        largest of a batch.  Networks want a fixed size.
    features : str or tuple of str, default "ones"
        Per-voxel features, as for :func:`~graphnn.sparse3d.mesh.voxelization.voxelize`.
    seed : int, optional
        Make the augmentation a function of ``(seed, epoch, index)``; by
        default it follows torch's random generator.

    Raises
    ------
    ValueError, TypeError
        For an unknown kind, repeated class names, or a bad spatial size.

    Examples
    --------
    >>> data = SparseDataset.shapes(2, render_size=8, classes=["box", "sphere"], seed=0)
    >>> print(data.summary())
    shapes (train): 4 samples
      box     2
      sphere  2
    >>> sample = data[3]
    >>> sample.label, sample.index, sample.coords.shape[1], sample.features.shape[1]
    (1, 3, 3, 1)
    >>> batch = next(iter(data.loader(batch_size=4)))
    >>> batch.coords.shape[1], sorted(batch.labels.tolist())  # shuffled: a training set
    (4, [0, 0, 1, 1])
    """

    def __init__(
        self,
        name: str = "",
        kind: str = "train",
        class_names: Sequence[str] | None = None,
        pictures: Iterable[Picture] = (),
        *,
        spatial_size: int | tuple[int, int, int] | None = None,
        features: str | tuple[str, ...] = "ones",
        seed: int | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        names = list(class_names or [])
        repeated = [n for n, count in Counter(names).items() if count > 1]
        if repeated:
            raise ValueError(f"class names must be distinct; repeated: {repeated}")
        if seed is not None:
            as_rng(seed)  # the same checks as everywhere else
        self.name, self.kind, self.class_names = str(name), kind, names
        self.spatial_size = _spatial_size(spatial_size)
        self.features, self.seed, self.epoch = features, seed, 0
        self.pictures: list[Picture] = []
        for picture in pictures:
            self.add_picture(picture)

    # --- building ------------------------------------------------------------------------

    def add_picture(self, picture: Picture) -> None:
        """Append a picture.

        Raises
        ------
        TypeError
            If ``picture`` has no ``voxelize``, ``label`` or ``render_size``.
        DatasetError
            If its label is not a class of the data set (with class names),
            or it is unlabeled in a labelled (train or test) data set.
        """
        if not isinstance(picture, Picture):
            raise TypeError(
                f"a picture needs voxelize(), label and render_size (Off3DPicture, "
                f"VoxelPicture); got {picture!r}"
            )
        label = picture.label
        if self.kind != "unlabeled":
            if label < 0:
                raise DatasetError(f"{picture!r} is unlabeled but this is a {self.kind} data set")
            if self.class_names and label >= len(self.class_names):
                raise DatasetError(
                    f"{picture!r} has label {label} but the data set has "
                    f"{len(self.class_names)} classes"
                )
        self.pictures.append(picture)

    def repeat_samples(self, times: int) -> SparseDataset:
        """Repeat every picture ``times`` times, in place (each repetition is augmented anew).

        Returns
        -------
        SparseDataset
            This data set.

        Raises
        ------
        TypeError, ValueError
            If ``times`` is not a positive int.
        """
        self.pictures *= check_int("times", times, low=1, what="a positive int")
        return self

    def _like(self, name: str, pictures: Iterable[Picture]) -> SparseDataset:
        return SparseDataset(
            name,
            self.kind,
            self.class_names,
            pictures,
            spatial_size=self.spatial_size,
            features=self.features,
            seed=self.seed,
        )

    def split(self, fraction: float, seed: SeedLike = None) -> tuple[SparseDataset, SparseDataset]:
        """Move a random ``fraction`` of every class into a second data set.

        The split is stratified: each class gives ``round(fraction * its
        size)`` pictures (SparseConvNet's ``extractValidationSet``).  The
        pictures are shared, not copied; this data set is not changed.

        Parameters
        ----------
        fraction : float
            In ``[0, 1]``.
        seed : None, int or numpy.random.Generator

        Returns
        -------
        (SparseDataset, SparseDataset)
            The rest, and the extracted part (named ``<name>-split``), both in
            the original order.

        Raises
        ------
        ValueError
            If ``fraction`` is outside ``[0, 1]``.
        """
        fraction = check_number("fraction", fraction, low=0, high=1)
        rng = as_rng(seed)
        labels = np.array([p.label for p in self.pictures], dtype=np.int64)
        chosen = np.zeros(len(labels), dtype=bool)
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            take = round(fraction * len(members))
            chosen[rng.choice(members, size=take, replace=False)] = True
        rest = [p for p, c in zip(self.pictures, chosen, strict=True) if not c]
        part = [p for p, c in zip(self.pictures, chosen, strict=True) if c]
        return self._like(self.name, rest), self._like(f"{self.name}-split", part)

    # --- sources -------------------------------------------------------------------------

    @classmethod
    def from_folder(
        cls,
        root: str | os.PathLike,
        split: str = "train",
        render_size: int = 40,
        *,
        classes: Sequence[str] | None = None,
        kind: str | None = None,
        **options,
    ) -> SparseDataset:
        """Read the ModelNet folder layout ``<root>/<class>/<split>/*.off`` (lazily).

        Parameters
        ----------
        root : str or os.PathLike
            The folder holding one sub-folder per class.
        split : str, default "train"
            The sub-folder of each class to read (``"train"`` or ``"test"``).
        render_size : int, default 40
            For every :class:`~graphnn.sparse3d.data.picture.Off3DPicture`.
        classes : sequence of str, optional
            The classes to take, in label order; by default every
            sub-folder of ``root`` that has a ``split`` folder, sorted.
        kind : str, optional
            The data set's kind; by default ``"train"`` for the train split
            and ``"test"`` otherwise.
        **options
            Passed to the constructor (``spatial_size``, ``features``, ``seed``).

        Returns
        -------
        SparseDataset
            Files sorted by name within each class; nothing is read yet.

        Raises
        ------
        FileNotFoundError
            If ``root`` or a requested class folder does not exist, or no
            ``.off`` file is found.
        """
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: no such folder")
        if classes is None:
            classes = sorted(d.name for d in root.iterdir() if (d / split).is_dir())
        data = cls(
            root.name,
            kind or ("train" if split == "train" else "test"),
            classes,
            **options,
        )
        for label, name in enumerate(classes):
            folder = root / name / split
            if not folder.is_dir():
                raise FileNotFoundError(f"{folder}: no such folder (class {name!r})")
            files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".off")
            for path in files:
                data.add_picture(Off3DPicture(path, render_size, label))
        if not data.pictures:
            raise FileNotFoundError(f"{root}: no <class>/{split}/*.off files")
        return data

    @classmethod
    def shapes(
        cls,
        count_per_class: int = 10,
        render_size: int = 20,
        *,
        classes: Sequence[str] | None = None,
        kind: str = "train",
        seed: SeedLike = None,
        augment_seed: int | None = None,
        **options,
    ) -> SparseDataset:
        """Labelled synthetic meshes: boxes, spheres, cylinders, cones, tori, pyramids, ...

        Random proportions and poses from
        :func:`~graphnn.sparse3d.mesh.shapes.shapes`; no download.

        Parameters
        ----------
        count_per_class : int, default 10
        render_size : int, default 20
        classes : sequence of str, optional
            Names from :data:`~graphnn.sparse3d.mesh.shapes.SHAPES`; all by default.
        kind : str, default "train"
        seed : None, int or numpy.random.Generator
            Draws the meshes.
        augment_seed : int, optional
            The data set's own ``seed`` (the constructor's): with it, the
            random poses and augmentations of every epoch are reproducible.
        **options
            Passed to the constructor (``spatial_size``, ``features``, ...).

        Returns
        -------
        SparseDataset
            Named ``"shapes"``, classes in the order given, meshes in memory.
        """
        meshes = synthetic_shapes(count_per_class, classes=classes, seed=seed)
        names = list(classes) if classes is not None else list(SHAPES)
        data = cls("shapes", kind, names, seed=augment_seed, **options)
        for mesh, name in meshes:
            data.add_picture(Off3DPicture(mesh, render_size, names.index(name)))
        return data

    # --- torch Dataset -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.pictures)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that, with ``seed``, determines the augmentation."""
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        if self.seed is None:
            return np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))
        return np.random.default_rng([self.seed, self.epoch, index])

    def __getitem__(self, index: int) -> Sample:
        """Voxelize picture ``index`` (augmented for training) into a sample."""
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"a data set index is an int, got {index!r}")
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} samples")
        index = int(index) % len(self)
        picture = self.pictures[index]
        coords, features = picture.voxelize(
            train=self.kind == "train",
            rng=self._rng(index),
            spatial_size=self.spatial_size,
            features=self.features,
        )
        size = self.spatial_size
        if size is None:
            top = coords.max(axis=0) + 1 if len(coords) else np.ones(3, dtype=np.int64)
            size = tuple(int(s) for s in top)
        label = -1 if self.kind == "unlabeled" else picture.label
        return Sample(
            torch.from_numpy(np.ascontiguousarray(coords, dtype=np.int32)),
            torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)),
            label,
            index,
            size,
        )

    def loader(self, batch_size: int = 32, shuffle: bool | None = None, **options) -> DataLoader:
        """Return a ``DataLoader`` of :class:`~graphnn.sparse3d.data.batch.SparseBatch`es.

        ``shuffle`` defaults to ``True`` for training data; ``options`` go to
        the ``DataLoader`` (``num_workers``, ``pin_memory``, ...).
        """
        if shuffle is None:
            shuffle = self.kind == "train"
        return DataLoader(
            self, batch_size=batch_size, shuffle=shuffle, collate_fn=collate, **options
        )

    # --- reporting -----------------------------------------------------------------------

    def summary(self) -> DatasetSummary:
        """Count the samples per class."""
        counts = Counter(p.label for p in self.pictures)
        if self.class_names:
            class_counts = {name: counts.get(k, 0) for k, name in enumerate(self.class_names)}
        else:
            class_counts = {str(k): counts[k] for k in sorted(c for c in counts if c >= 0)}
        if counts.get(-1):
            class_counts["-"] = counts[-1]
        return DatasetSummary(self.name, self.kind, len(self), class_counts)

    def __repr__(self) -> str:
        return (
            f"SparseDataset(name={self.name!r}, kind={self.kind!r}, samples={len(self)}, "
            f"classes={len(self.class_names)})"
        )
