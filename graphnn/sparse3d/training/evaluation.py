"""Evaluate sparse 3D classifiers with test-time augmentation (``processDatasetRepeatTest``).

:func:`evaluate` makes ``repeats`` passes over a data set, each voxelized
anew (test-time augmentation: a test set's pictures are randomly rotated),
averages the class probabilities per sample and returns an
:class:`~graphnn.sparse3d.training.reports.EvaluationReport` (accuracy,
per-class accuracy, confusion matrix), optionally written as CSV files;
:func:`predict` returns those averaged probabilities, unlabeled data too.
Pass ``r`` uses the data set's ``epoch + r`` and the counter is restored
afterwards, so evaluating a seeded data set twice gives the same result.
"""

from __future__ import annotations

import csv
import math
import os
import time

import torch
from torch import nn
from tqdm import tqdm

from graphnn._validation import check_int
from graphnn.sparse3d.training.common import (
    Loss,
    check_labels,
    check_loss,
    check_setup,
    device_of,
    forward_batch,
    loss_value,
    quiet,
)
from graphnn.sparse3d.training.reports import EvaluationReport

__all__ = ["evaluate", "predict"]


def _passes(
    network: nn.Module,
    dataset,
    repeats: int,
    batch_size: int,
    *,
    loss: Loss | None,
    num_workers: int,
    progress: bool | None,
    device: torch.device | str | None,
    where: str,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Run ``repeats`` passes in evaluation mode without gradients.

    Returns the probabilities ``[N, C]`` averaged per sample index, the labels
    ``[N]`` and, with a ``loss`` (labels required), the mean loss (else NaN).
    """
    n = check_setup(network, dataset, where, labelled=loss is not None)
    repeats = check_int("repeats", repeats, low=1, what="a positive int")
    batch_size = check_int("batch_size", batch_size, low=1, what="a positive int")
    device = device_of(network, device)
    sums: torch.Tensor | None = None
    seen = torch.zeros(n, dtype=torch.int64)
    labels = torch.full((n,), -1, dtype=torch.int64)
    total = 0.0
    was_training, epoch = network.training, getattr(dataset, "epoch", None)
    network.eval()
    bar = tqdm(total=repeats * n, desc=where, unit="sample", leave=False, disable=quiet(progress))
    try:
        with torch.no_grad():
            for r in range(repeats):
                if epoch is not None and hasattr(dataset, "set_epoch"):
                    dataset.set_epoch(epoch + r)
                for batch in dataset.loader(batch_size, shuffle=False, num_workers=num_workers):
                    _, logits = forward_batch(network, batch, device, where)
                    if sums is None:
                        sums = torch.zeros(n, logits.shape[1], dtype=torch.float64)
                    if logits.shape[1] != sums.shape[1]:
                        raise ValueError(
                            f"{where}: the network gave {sums.shape[1]} logits per sample, then "
                            f"{logits.shape[1]}"
                        )
                    indices = batch.indices
                    if bool(((indices < 0) | (indices >= n)).any()):
                        raise ValueError(
                            f"{where}: a batch has sample indices {indices.tolist()}, outside "
                            f"[0, {n}) for a data set of {n} samples"
                        )
                    probabilities = torch.softmax(logits.double(), dim=1).cpu()
                    sums.index_add_(0, indices, probabilities)
                    seen.index_add_(0, indices, torch.ones_like(indices))
                    labels[indices] = batch.labels
                    if loss is not None:
                        check_labels(batch, logits.shape[1], where)
                        value = loss_value(loss, logits, batch.labels.to(device), where)
                        total += value.item() * batch.batch_size
                    bar.update(batch.batch_size)
    finally:
        bar.close()
        network.train(was_training)
        if epoch is not None and hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
    wrong = torch.nonzero(seen != repeats).flatten()
    if wrong.numel():
        index = int(wrong[0])
        raise ValueError(
            f"{where}: sample {index} came {int(seen[index])} times in {repeats} passes; the "
            f"loader must yield every sample index in [0, {n}) once per pass"
        )
    return (sums / repeats).float(), labels, total / (n * repeats) if loss is not None else math.nan


def _class_names(dataset: object, n_classes: int) -> tuple[str, ...]:
    names = list(getattr(dataset, "class_names", None) or [])
    return tuple(str(names[k]) if k < len(names) else str(k) for k in range(n_classes))


def evaluate(
    network: nn.Module,
    dataset,
    repeats: int = 1,
    batch_size: int = 32,
    *,
    loss: Loss | None = None,
    predictions: str | os.PathLike | None = None,
    confusion: str | os.PathLike | None = None,
    num_workers: int = 0,
    progress: bool | None = None,
    device: torch.device | str | None = None,
) -> EvaluationReport:
    """Classify ``dataset`` with test-time augmentation (``processDatasetRepeatTest``).

    Makes ``repeats`` passes over the data set in order, each voxelizing
    every picture anew (a test set's pictures are randomly rotated, a
    training set's augmented), with the network in evaluation mode and no
    gradients (its mode is restored after).  The softmax probabilities of
    each sample are averaged over the passes, by sample index
    (``batch.indices``); accuracy, per-class accuracy and the confusion
    matrix are those of the averaged probabilities' most likely class.

    Parameters
    ----------
    network : torch.nn.Module
        Maps a ``SparseVoxelTensor`` to logits ``[B, C]``.
    dataset : SparseDataset
        Labelled.
    repeats : int, default 1
        Passes over the data set.
    batch_size : int, default 32
    loss : callable, optional
        ``loss(logits, labels)``, the batch mean; default cross entropy.  Its
        value on each pass's logits, averaged over samples and passes, is the
        report's ``mean_loss``.
    predictions : str or os.PathLike, optional
        Write a CSV file there: one row per sample, columns ``index``,
        ``label``, ``predicted`` and ``p_<class name>`` (averaged probabilities).
    confusion : str or os.PathLike, optional
        Write the confusion matrix there as CSV: a header of the predicted
        class names, then one row per true class, its name first.
    num_workers : int, default 0
    progress : bool, optional
        Show a progress bar; by default only when stderr is a terminal.
    device : torch.device or str, optional
        Default: the device of the network's parameters.

    Returns
    -------
    EvaluationReport

    Raises
    ------
    ValueError
        For an empty or unlabeled data set, ``repeats`` or ``batch_size``
        below 1, a label outside the network's outputs, or a loader that does
        not yield every sample once per pass.
    TypeError
        As :func:`train_epoch`.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d import SparseDataset, SparseGlobalMaxPool, SubmanifoldConv3d
    >>> data = SparseDataset.shapes(2, render_size=8, classes=["box", "sphere"], kind="test",
    ...                             seed=0)
    >>> net = torch.nn.Sequential(SubmanifoldConv3d(1, 4, 3), SparseGlobalMaxPool(),
    ...                           torch.nn.Linear(4, 2))
    >>> report = evaluate(net, data, repeats=3)
    >>> report.probabilities.shape, report.confusion.sum().item(), report.repeats
    (torch.Size([4, 2]), 4, 3)
    >>> list(report.per_class_accuracy)
    ['box', 'sphere']
    """
    start = time.perf_counter()
    probabilities, labels, mean_loss = _passes(
        network,
        dataset,
        repeats,
        batch_size,
        loss=check_loss(loss),
        num_workers=num_workers,
        progress=progress,
        device=device,
        where="evaluate",
    )
    n, n_classes = probabilities.shape
    predicted = probabilities.argmax(dim=1)
    matrix = torch.bincount(labels * n_classes + predicted, minlength=n_classes**2)
    matrix = matrix.reshape(n_classes, n_classes)
    names = _class_names(dataset, n_classes)
    per_class = {
        name: float(matrix[k, k] / matrix[k].sum()) if matrix[k].sum() else math.nan
        for k, name in enumerate(names)
    }
    accuracy = float((predicted == labels).double().mean())
    if predictions is not None:
        with open(predictions, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["index", "label", "predicted", *(f"p_{name}" for name in names)])
            for i in range(n):
                row = [f"{p:.6g}" for p in probabilities[i].tolist()]
                writer.writerow([i, int(labels[i]), int(predicted[i]), *row])
    if confusion is not None:
        with open(confusion, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["true \\ predicted", *names])
            for name, row in zip(names, matrix.tolist(), strict=True):
                writer.writerow([name, *row])
    return EvaluationReport(
        samples=n,
        repeats=int(repeats),
        accuracy=accuracy,
        error_rate=1.0 - accuracy,
        mean_loss=mean_loss,
        per_class_accuracy=per_class,
        confusion=matrix,
        probabilities=probabilities,
        labels=labels,
        class_names=names,
        seconds=time.perf_counter() - start,
    )


def predict(
    network: nn.Module,
    dataset,
    repeats: int = 1,
    batch_size: int = 32,
    *,
    num_workers: int = 0,
    progress: bool | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Return the class probabilities of every sample, averaged over ``repeats`` passes.

    The passes are those of :func:`evaluate`; labels are not needed, so this
    works for unlabeled data sets.

    Returns
    -------
    torch.Tensor
        ``float32 [N, C]`` on the CPU, row ``i`` for sample ``i`` of the data
        set; each row sums to 1.

    Raises
    ------
    ValueError, TypeError
        As :func:`evaluate`, labels aside.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d import SparseDataset, SparseGlobalMaxPool, SubmanifoldConv3d
    >>> data = SparseDataset.shapes(2, render_size=8, classes=["box", "sphere"],
    ...                             kind="unlabeled", seed=0)
    >>> net = torch.nn.Sequential(SubmanifoldConv3d(1, 4, 3), SparseGlobalMaxPool(),
    ...                           torch.nn.Linear(4, 2))
    >>> p = predict(net, data, repeats=2)
    >>> p.shape, torch.allclose(p.sum(dim=1), torch.ones(4))
    (torch.Size([4, 2]), True)
    """
    probabilities, _, _ = _passes(
        network,
        dataset,
        repeats,
        batch_size,
        loss=None,
        num_workers=num_workers,
        progress=progress,
        device=device,
        where="predict",
    )
    return probabilities
