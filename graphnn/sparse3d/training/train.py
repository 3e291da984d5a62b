r"""Train and evaluate sparse 3D classifiers: epochs, test-time augmentation, learning curves.

The workflow of PySparseConvNet (``processDataset``,
``processDatasetRepeatTest``) as functions of any ``network``: a
``torch.nn.Module`` that maps a
:class:`~graphnn.sparse3d.tensor.SparseVoxelTensor` (made with
``SparseVoxelTensor.from_batch``) to logits ``[B, C]``, and optionally has a
``multiply_adds(x)`` method counting the multiply-adds of a forward pass on
``x``.

* :func:`train_epoch` makes one pass over a labelled data set, shuffled and
  augmented, and returns an :class:`EpochReport`;
* :func:`evaluate` makes ``repeats`` passes over a data set, each voxelized
  anew (test-time augmentation: a test set's pictures are randomly rotated),
  averages the class probabilities per sample and returns an
  :class:`EvaluationReport` (accuracy, per-class accuracy, confusion matrix),
  optionally written as CSV files;
* :func:`predict` returns those averaged probabilities, unlabeled data too;
* :func:`fit` alternates the two for some epochs, with an exponentially
  decaying learning rate, and returns a :class:`TrainingLog`, printable as
  a table and plotted as learning curves by :meth:`TrainingLog.plot`.

Data sets are :class:`~graphnn.sparse3d.dataset.SparseDataset`\ s (anything
with ``__len__`` and ``loader(batch_size, shuffle=..., num_workers=...)``
yielding :class:`~graphnn.sparse3d.batch.SparseBatch`\ es).  Their epoch
counter (``dataset.epoch``, which with a data-set ``seed`` decides the
augmentation) is kept on the data set: :func:`train_epoch` draws with the
current epoch and then advances it; pass ``r`` of :func:`evaluate` and
:func:`predict` uses ``epoch + r`` and the counter is restored afterwards,
so evaluating a seeded data set twice gives the same result.  Without a
seed the augmentation follows torch's random generator.

Progress bars (tqdm) are shown when stderr is a terminal or ``progress=True``.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import math
import numbers
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from graphnn._figures import agg_figure
from graphnn.sparse3d.batch import SparseBatch
from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = [
    "EpochRecord",
    "EpochReport",
    "EvaluationReport",
    "TrainingLog",
    "embed",
    "evaluate",
    "fit",
    "predict",
    "train_epoch",
]

#: ``loss(logits [B, C], labels [B]) -> scalar``, the mean over the batch.
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# --- reports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpochReport:
    """What :func:`train_epoch` returns; printable.

    Attributes
    ----------
    samples : int
        Samples trained on.
    error_rate : float
        Fraction of samples whose largest logit was not their label, during
        training (augmented inputs, training mode).
    mean_loss : float
        The loss averaged over the samples.
    multiply_adds_per_sample : float or None
        ``network.multiply_adds(x)`` summed over the batches, per sample;
        None when the network has no ``multiply_adds``.
    seconds : float
        Wall-clock time of the epoch, loading included.
    samples_per_second : float
    """

    samples: int
    error_rate: float
    mean_loss: float
    multiply_adds_per_sample: float | None
    seconds: float
    samples_per_second: float

    def as_dict(self) -> dict:
        """Return the fields as a dict."""
        return asdict(self)

    def __str__(self) -> str:
        madds = self.multiply_adds_per_sample
        counted = "" if madds is None else f", {madds:.4g} multiply-adds/sample"
        return (
            f"train: {self.samples} samples, error rate {self.error_rate:.4f}, "
            f"mean loss {self.mean_loss:.4f}{counted}, {self.seconds:.2f} s "
            f"({self.samples_per_second:.1f} samples/s)"
        )


@dataclass(frozen=True, eq=False)
class EvaluationReport:
    """What :func:`evaluate` returns; printable, with the confusion matrix.

    Attributes
    ----------
    samples, repeats : int
        Samples of the data set, and passes over it.
    accuracy, error_rate : float
        Of the averaged probabilities' most likely class.
    mean_loss : float
        The loss of each pass's logits, averaged over samples and passes.
    per_class_accuracy : dict of str to float
        By class name, in class order; NaN for a class without samples.
    confusion : torch.Tensor
        ``int64 [C, C]``: row = true class, column = predicted class.
    probabilities : torch.Tensor
        ``float32 [N, C]`` on the CPU: softmax averaged over the passes, row
        ``i`` for sample ``i`` of the data set.
    labels : torch.Tensor
        ``int64 [N]``, the true classes.
    class_names : tuple of str
        ``C`` names: the data set's, or the class index for classes it does not name.
    seconds : float
    """

    samples: int
    repeats: int
    accuracy: float
    error_rate: float
    mean_loss: float
    per_class_accuracy: dict[str, float]
    confusion: torch.Tensor
    probabilities: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    seconds: float

    @property
    def predictions(self) -> torch.Tensor:
        """``int64 [N]``: the most likely class of each sample."""
        return self.probabilities.argmax(dim=1)

    def as_dict(self) -> dict:
        """Return the numbers as a dict: the scalars, per-class accuracy and confusion (lists)."""
        return {
            "samples": self.samples,
            "repeats": self.repeats,
            "accuracy": self.accuracy,
            "error_rate": self.error_rate,
            "mean_loss": self.mean_loss,
            "seconds": self.seconds,
            "per_class_accuracy": dict(self.per_class_accuracy),
            "confusion": self.confusion.tolist(),
        }

    def __str__(self) -> str:
        header = ["class", "samples", "accuracy", *self.class_names]
        rows = [
            [name, str(int(row.sum())), f"{self.per_class_accuracy[name]:.4f}"]
            + [str(int(v)) for v in row]
            for name, row in zip(self.class_names, self.confusion, strict=True)
        ]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        lines = [
            f"evaluation: {self.samples} samples x {self.repeats} repeats, accuracy "
            f"{self.accuracy:.4f} (error rate {self.error_rate:.4f}), mean loss "
            f"{self.mean_loss:.4f}, {self.seconds:.2f} s; rows true, columns predicted"
        ]
        for row in (header, *rows):
            cells = [row[0].ljust(widths[0])] + [
                c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
            ]
            lines.append("  ".join(cells))
        return "\n".join(lines)


# --- checks and shared machinery -------------------------------------------------------------


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _number(value: object, name: str, accepted: str, ok: Callable[[float], bool]) -> float:
    """Return ``value`` as a float if it is finite and ``ok``; else say what is ``accepted``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or not ok(float(value))
    ):
        raise ValueError(f"{name} must be {accepted}, got {value!r}")
    return float(value)


def _check_setup(network: object, dataset: object, where: str, labelled: bool) -> int:
    if not isinstance(network, nn.Module):
        raise TypeError(f"{where}: network must be a torch.nn.Module, got {type(network).__name__}")
    if not callable(getattr(dataset, "loader", None)) or not hasattr(dataset, "__len__"):
        raise TypeError(
            f"{where}: dataset must be a SparseDataset (with __len__ and loader()), "
            f"got {type(dataset).__name__}"
        )
    if len(dataset) == 0:
        raise ValueError(f"{where}: the data set {dataset!r} is empty")
    if labelled and getattr(dataset, "kind", None) == "unlabeled":
        raise ValueError(
            f"{where} needs labels, but {dataset!r} is unlabeled; use predict() for unlabeled data"
        )
    return len(dataset)


def _check_loss(loss: Loss | None) -> Loss:
    if loss is None:
        return F.cross_entropy
    if not callable(loss):
        raise TypeError(f"loss must be a callable loss(logits, labels), got {loss!r}")
    return loss


def _device(network: nn.Module, device: torch.device | str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    for tensor in itertools.chain(network.parameters(), network.buffers()):
        return tensor.device
    return torch.device("cpu")


def _quiet(progress: bool | None) -> bool:
    return progress is False or (progress is None and not sys.stderr.isatty())


def _forward(
    network: nn.Module, batch: SparseBatch, device: torch.device, where: str
) -> tuple[SparseVoxelTensor, torch.Tensor]:
    """Return the network's input and its logits ``[B, C]`` for a batch, checked."""
    x = SparseVoxelTensor.from_batch(batch.to(device))
    logits = network(x)
    B = batch.batch_size
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.shape[0] != B:
        got = list(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(
            f"{where}: the network must map a batch of {B} samples to logits [{B}, C], got {got}"
        )
    return x, logits


def _check_labels(batch: SparseBatch, n_classes: float, where: str) -> None:
    """Raise naming the first sample that is unlabeled or has a label outside the outputs."""
    labels = batch.labels
    bad = (labels < 0) | (labels >= n_classes)
    if bool(bad.any()):
        k = int(torch.nonzero(bad)[0])
        index, label = int(batch.indices[k]), int(labels[k])
        if label < 0:
            raise ValueError(f"{where} needs labels; sample {index} is unlabeled (label -1)")
        raise ValueError(
            f"{where}: sample {index} has label {label}, but the network has {n_classes} outputs"
        )


def _loss_value(loss: Loss, logits: torch.Tensor, labels: torch.Tensor, where: str) -> torch.Tensor:
    value = loss(logits, labels)
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        got = list(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise TypeError(
            f"{where}: loss(logits, labels) must return a scalar tensor (the batch mean), got {got}"
        )
    return value.reshape(())


def _hidden_module(network: nn.Module, name: object, where: str) -> nn.Module:
    """Return the submodule called ``name`` (or the layer of that graph node)."""
    modules = dict(network.named_modules())
    if isinstance(name, str):
        for key in (name, f"layers.{name}"):
            if key and key in modules:
                return modules[key]
    names = [n for n in modules if n]
    shown = ", ".join(repr(n.removeprefix("layers.")) for n in names[:20])
    more = f" and {len(names) - 20} more" if len(names) > 20 else ""
    raise ValueError(
        f"{where}: hidden={name!r} names no layer of the network (layers without parameters "
        f"or state, such as skip merges, cannot be chosen); its layers are {shown}{more}"
    )


def _are_logits(out: object, batch_size: int) -> bool:
    return isinstance(out, torch.Tensor) and out.dim() == 2 and out.shape[0] == batch_size


def _embeddings(captured: list, batch_size: int, hidden: str, where: str) -> torch.Tensor:
    """Return ``[B, D]`` embeddings from the hidden layer's output of this batch."""
    if len(captured) != 1:
        raise ValueError(
            f"{where}: the layer hidden={hidden!r} ran {len(captured)} times in one forward pass; "
            "it must run exactly once"
        )
    out = captured[0]
    if isinstance(out, SparseVoxelTensor):
        sample = out.coords[:, 0].long()
        sums = out.features.new_zeros(batch_size, out.features.shape[1])
        sums = sums.index_add(0, sample, out.features)
        counts = torch.bincount(sample, minlength=batch_size).clamp_(min=1)
        return sums / counts.to(sums.dtype)[:, None]
    if _are_logits(out, batch_size):
        return out
    got = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
    raise ValueError(
        f"{where}: the layer hidden={hidden!r} must return a SparseVoxelTensor or one embedding "
        f"per sample [{batch_size}, D], got {got}"
    )


def _holds(optimizer: torch.optim.Optimizer, params: list[nn.Parameter]) -> bool:
    """Whether ``optimizer`` holds exactly ``params``, its state on their devices."""
    held = [p for group in optimizer.param_groups for p in group["params"]]
    return (
        len(held) == len(params)
        and all(a is b for a, b in zip(held, params, strict=True))
        and all(
            value.device == p.device
            for p, state in optimizer.state.items()
            for value in state.values()
            if isinstance(value, torch.Tensor)
        )
    )


def _sgd(network: nn.Module, lr: float, momentum: float, weight_decay: float) -> torch.optim.SGD:
    """Return the network's cached SGD (made on first use), set to these hyper-parameters."""
    lr = _number(lr, "lr", "a positive number", lambda v: v > 0)
    momentum = _number(momentum, "momentum", "a number in [0, 1)", lambda v: 0 <= v < 1)
    weight_decay = _number(weight_decay, "weight_decay", "a number >= 0", lambda v: v >= 0)
    params = [p for p in network.parameters() if p.requires_grad]
    if not params:
        raise ValueError("train_epoch: the network has no trainable parameters")
    optimizer = getattr(network, "_graphnn_optimizer", None)
    if optimizer is None or not _holds(optimizer, params):
        optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
        network._graphnn_optimizer = optimizer
    for group in optimizer.param_groups:
        group.update(lr=lr, momentum=momentum, weight_decay=weight_decay)
    return optimizer


# --- training ----------------------------------------------------------------------------


def train_epoch(
    network: nn.Module,
    dataset,
    batch_size: int = 32,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    lr: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    loss: Loss | None = None,
    hidden: str | None = None,
    num_workers: int = 0,
    progress: bool | None = None,
    device: torch.device | str | None = None,
) -> EpochReport:
    """Train ``network`` for one pass over ``dataset`` (PySparseConvNet's ``processDataset``).

    The batches come shuffled from ``dataset.loader``; each is moved to
    ``device``, turned into a :class:`~graphnn.sparse3d.tensor.SparseVoxelTensor`
    and given to ``network`` (in training mode; its mode is restored after).

    Parameters
    ----------
    network : torch.nn.Module
        Maps a ``SparseVoxelTensor`` to logits ``[B, C]``.
    dataset : SparseDataset
        Labelled (a ``"train"`` data set augments its samples).
    batch_size : int, default 32
    optimizer : torch.optim.Optimizer, optional
        Used as given.  By default an SGD optimizer is made on the first call
        and cached on the network (attribute ``_graphnn_optimizer``), so
        later calls keep its momentum; every call sets its ``lr``,
        ``momentum`` and ``weight_decay`` to the values given here (in place,
        as a learning-rate schedule does), and it is made anew only when
        the network's trainable parameters changed or moved to another device.
    lr, momentum, weight_decay : float, default 0.01, 0.9, 0.0
        For the cached SGD; ignored with an ``optimizer``.
    loss : callable, optional
        ``loss(logits, labels)`` returning the batch mean; default
        ``torch.nn.functional.cross_entropy``.  With ``hidden``, the loss
        gets that layer's embeddings instead of the logits.
    hidden : str, optional
        Train on a hidden layer: the name of a submodule of ``network`` (as
        in ``named_modules()``; for a
        :class:`~graphnn.sparse3d.network.SparseNetwork` also a node name of
        its graph) whose output, one embedding per sample, goes to
        ``loss(embeddings [B, D], labels)`` — e.g. a
        :class:`~graphnn.sparse3d.retrieval.TripletLoss` for shape retrieval.
        A sparse output is averaged over each sample's sites (a sample with
        no sites there gets zeros); a dense one must be ``[B, D]``.  The
        network's output then need not be logits: the error rate is counted
        where it is ``[B, C]`` and is NaN otherwise.
    num_workers : int, default 0
        Loader worker processes.
    progress : bool, optional
        Show a progress bar; by default only when stderr is a terminal.
    device : torch.device or str, optional
        Default: the device of the network's parameters.

    Returns
    -------
    EpochReport

    Raises
    ------
    TypeError
        For a network that is not a module, a data set without ``loader``, a
        loss that is not callable or does not return a scalar.
    ValueError
        For an empty or unlabeled data set (the first unlabeled sample is
        named), a label outside the network's outputs, bad hyper-parameters,
        a network whose output is not ``[B, C]`` (without ``hidden``), or a
        ``hidden`` name that is no submodule (the names are listed) or whose
        output is not one embedding per sample.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d import SparseDataset, SparseGlobalMaxPool, SubmanifoldConv3d
    >>> data = SparseDataset.shapes(2, render_size=8, classes=["box", "sphere"], seed=0)
    >>> net = torch.nn.Sequential(SubmanifoldConv3d(1, 4, 3), SparseGlobalMaxPool(),
    ...                           torch.nn.Linear(4, 2))
    >>> report = train_epoch(net, data, batch_size=2, lr=0.1)
    >>> report.samples, report.multiply_adds_per_sample, 0 <= report.error_rate <= 1
    (4, None, True)
    >>> net._graphnn_optimizer.param_groups[0]["lr"]
    0.1
    """
    where = "train_epoch"
    _check_setup(network, dataset, where, labelled=True)
    batch_size = _positive_int(batch_size, "batch_size")
    loss = _check_loss(loss)
    if optimizer is None:
        optimizer = _sgd(network, lr, momentum, weight_decay)
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {optimizer!r}")
    device = _device(network, device)
    count = getattr(network, "multiply_adds", None)
    # a SparseNetwork counts the passes it runs anyway; other networks run one more per batch
    counting = getattr(network, "counting_multiply_adds", None)
    passes = counting() if callable(counting) else contextlib.nullcontext([0])
    samples = errors = multiply_adds = 0
    counted = True  # whether every batch's output was logits (else the error rate is NaN)
    total = 0.0
    start = time.perf_counter()
    was_training = network.training
    network.train()
    captured: list = []
    handle = None
    if hidden is not None:
        module = _hidden_module(network, hidden, where)
        handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out))
    loader = dataset.loader(batch_size, shuffle=True, num_workers=num_workers)
    bar = tqdm(loader, desc="train", unit="batch", leave=False, disable=_quiet(progress))
    with passes as in_passes:
        try:
            for batch in bar:
                if hidden is None:
                    x, logits = _forward(network, batch, device, where)
                    _check_labels(batch, logits.shape[1], where)
                    target = logits
                else:
                    captured.clear()
                    x = SparseVoxelTensor.from_batch(batch.to(device))
                    out = network(x)
                    B = batch.batch_size
                    logits = out if _are_logits(out, B) else None
                    _check_labels(batch, logits.shape[1] if logits is not None else math.inf, where)
                    target = _embeddings(captured, B, hidden, where)
                labels = batch.labels.to(device)
                value = _loss_value(loss, target, labels, where)
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                optimizer.step()
                samples += batch.batch_size
                total += value.item() * batch.batch_size
                if logits is None:
                    counted = False
                else:
                    errors += int((logits.detach().argmax(dim=1) != labels).sum())
                if callable(count) and not callable(counting):
                    with torch.no_grad():
                        multiply_adds += int(count(x))
                error = f"{errors / samples:.3f}" if counted else "-"
                bar.set_postfix(loss=f"{total / samples:.4g}", error=error)
        finally:
            bar.close()
            if handle is not None:
                handle.remove()
            network.train(was_training)
    multiply_adds += in_passes[0]
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(getattr(dataset, "epoch", 0) + 1)
    seconds = time.perf_counter() - start
    return EpochReport(
        samples=samples,
        error_rate=errors / samples if counted else math.nan,
        mean_loss=total / samples,
        multiply_adds_per_sample=multiply_adds / samples if callable(count) else None,
        seconds=seconds,
        samples_per_second=samples / seconds if seconds > 0 else math.inf,
    )


# --- evaluation ------------------------------------------------------------------------------


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
    n = _check_setup(network, dataset, where, labelled=loss is not None)
    repeats = _positive_int(repeats, "repeats")
    batch_size = _positive_int(batch_size, "batch_size")
    device = _device(network, device)
    sums: torch.Tensor | None = None
    seen = torch.zeros(n, dtype=torch.int64)
    labels = torch.full((n,), -1, dtype=torch.int64)
    total = 0.0
    was_training, epoch = network.training, getattr(dataset, "epoch", None)
    network.eval()
    bar = tqdm(total=repeats * n, desc=where, unit="sample", leave=False, disable=_quiet(progress))
    try:
        with torch.no_grad():
            for r in range(repeats):
                if epoch is not None and hasattr(dataset, "set_epoch"):
                    dataset.set_epoch(epoch + r)
                for batch in dataset.loader(batch_size, shuffle=False, num_workers=num_workers):
                    _, logits = _forward(network, batch, device, where)
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
                        _check_labels(batch, logits.shape[1], where)
                        value = _loss_value(loss, logits, batch.labels.to(device), where)
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


def _class_names(dataset, n_classes: int) -> tuple[str, ...]:
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
        loss=_check_loss(loss),
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


def embed(
    network: nn.Module,
    dataset,
    hidden: str,
    batch_size: int = 32,
    *,
    num_workers: int = 0,
    progress: bool | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return every sample's embedding at the layer ``hidden``, and the labels.

    The embedding is what :func:`train_epoch` trains with ``hidden=``: a sparse
    output averaged over each sample's active sites (zeros for a sample
    without sites there), or a dense ``[B, D]`` output as it is.  One pass in
    data-set order, in evaluation mode (the network's mode is restored), no
    gradients; a test set's poses are those of its ``seed`` and epoch.  Give
    the result to :func:`~graphnn.sparse3d.retrieval.retrieval_metrics`.

    Parameters
    ----------
    network : torch.nn.Module
    dataset : SparseDataset
    hidden : str
        The layer: a submodule name or, for a ``SparseNetwork``, a graph node.
    batch_size : int, default 32

    Returns
    -------
    tuple of torch.Tensor
        Embeddings ``float [N, D]`` and labels ``int64 [N]`` (-1 for
        unlabeled samples), on the CPU, row ``i`` for sample ``i``.

    Raises
    ------
    ValueError, TypeError
        For an empty data set, a bad ``batch_size``, an unknown layer (the
        names are listed), a layer that does not run once per forward pass or
        gives no per-sample output.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d import SparseDataset, SubmanifoldConv3d
    >>> data = SparseDataset.shapes(2, render_size=8, classes=["box", "sphere"], seed=0)
    >>> net = torch.nn.Sequential(SubmanifoldConv3d(1, 4, 3))
    >>> z, labels = embed(net, data, hidden="0", batch_size=3)
    >>> z.shape, labels.tolist()
    (torch.Size([4, 4]), [0, 0, 1, 1])
    """
    where = "embed"
    _check_setup(network, dataset, where, labelled=False)
    batch_size = _positive_int(batch_size, "batch_size")
    module = _hidden_module(network, hidden, where)
    device = _device(network, device)
    captured: list = []
    handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out))
    was_training = network.training
    network.eval()
    embeddings, labels = [], []
    loader = dataset.loader(batch_size, shuffle=False, num_workers=num_workers)
    try:
        with torch.no_grad():
            for batch in tqdm(loader, desc="embed", leave=False, disable=_quiet(progress)):
                captured.clear()
                network(SparseVoxelTensor.from_batch(batch.to(device)))
                embeddings.append(_embeddings(captured, batch.batch_size, hidden, where).cpu())
                labels.append(batch.labels.cpu())
    finally:
        handle.remove()
        network.train(was_training)
    return torch.cat(embeddings), torch.cat(labels)


# --- fitting ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EpochRecord:
    """One epoch of :func:`fit`.

    Attributes
    ----------
    epoch : int
        1, 2, ...
    lr : float
        The learning rate of the epoch (of the first parameter group).
    train : EpochReport
    test : EvaluationReport or None
        None when the epoch was not evaluated.
    """

    epoch: int
    lr: float
    train: EpochReport
    test: EvaluationReport | None = None

    def as_dict(self) -> dict:
        """Return one flat dict: ``epoch``, ``lr``, ``train_<field>`` and ``test_<field>``.

        The ``test_*`` keys (all but the confusion matrix) are present only
        when the epoch was evaluated.
        """
        data = {"epoch": self.epoch, "lr": self.lr}
        data.update({f"train_{k}": v for k, v in self.train.as_dict().items()})
        if self.test is not None:
            data.update(
                {f"test_{k}": v for k, v in self.test.as_dict().items() if k != "confusion"}
            )
        return data


_COLUMNS = (
    ("epoch", "epoch"),
    ("lr", "lr"),
    ("train error", "train_error_rate"),
    ("train loss", "train_mean_loss"),
    ("test error", "test_error_rate"),
    ("test loss", "test_mean_loss"),
    ("seconds", "seconds"),
)


@dataclass
class TrainingLog:
    """The epochs of :func:`fit`; printable as a table, plotted by :meth:`plot`.

    Examples
    --------
    >>> log = TrainingLog([EpochRecord(1, 0.1, EpochReport(8, 0.5, 0.69, None, 0.2, 40.0))])
    >>> print(log)
    epoch   lr  train error  train loss  test error  test loss  seconds
        1  0.1       0.5000      0.6900           -          -     0.20
    >>> log.as_dicts()[0]["train_error_rate"]
    0.5
    """

    records: list[EpochRecord] = field(default_factory=list)

    def __iter__(self) -> Iterator[EpochRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> EpochRecord:
        return self.records[index]

    def as_dicts(self) -> list[dict]:
        """Return one flat dict per epoch (see :meth:`EpochRecord.as_dict`)."""
        return [record.as_dict() for record in self.records]

    def __str__(self) -> str:
        rows = []
        for record, data in zip(self.records, self.as_dicts(), strict=True):
            data["seconds"] = record.train.seconds + (record.test.seconds if record.test else 0)
            cells = []
            for _, key in _COLUMNS:
                value = data.get(key)
                if value is None:
                    cells.append("-")
                elif key == "lr":
                    cells.append(f"{value:.4g}")
                elif key == "seconds":
                    cells.append(f"{value:.2f}")
                else:
                    cells.append(f"{value:.4f}" if isinstance(value, float) else str(value))
            rows.append(cells)
        header = [name for name, _ in _COLUMNS]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        return "\n".join(
            "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True))
            for row in (header, *rows)
        )

    def plot(self, path: str | os.PathLike, *, title: str | None = None) -> Path:
        """Draw the learning curves: error rate and loss against epoch, train and test; save them.

        Parameters
        ----------
        path : str or os.PathLike
            Image file to write (the format follows the suffix: ``.png``,
            ``.pdf``, ``.svg``, ...).
        title : str, optional

        Returns
        -------
        pathlib.Path
            ``path``.

        Raises
        ------
        ImportError
            If matplotlib is not installed (``pip install graphnn[examples]``).
        ValueError
            If the log has no epoch.

        Examples
        --------
        >>> import tempfile
        >>> log = TrainingLog([EpochRecord(k, 0.1, EpochReport(8, 1 / k, 1 / k, None, 0.2, 40.0))
        ...                    for k in (1, 2, 3)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     log.plot(Path(folder) / "curves.png").stat().st_size > 0
        True
        """
        if not self.records:
            raise ValueError("the training log has no epoch to plot")
        figure = agg_figure("TrainingLog.plot", 9.0, 3.6)
        tested = [r for r in self.records if r.test is not None]
        for axes, attribute, label in zip(
            figure.subplots(1, 2), ("error_rate", "mean_loss"), ("error rate", "loss"), strict=True
        ):
            epochs = [r.epoch for r in self.records]
            axes.plot(epochs, [getattr(r.train, attribute) for r in self.records], label="train")
            if tested:
                values = [getattr(r.test, attribute) for r in tested]
                axes.plot([r.epoch for r in tested], values, marker="o", label="test")
            axes.set_xlabel("epoch")
            axes.set_ylabel(label)
            axes.grid(True, alpha=0.3)
            axes.legend()
        if title:
            figure.suptitle(title)
        path = Path(path)
        figure.savefig(path)
        return path


def fit(
    network: nn.Module,
    train,
    test=None,
    epochs: int = 10,
    *,
    batch_size: int = 32,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    lr_decay: float | None = None,
    test_every: int = 1,
    repeats: int = 1,
    loss: Loss | None = None,
    num_workers: int = 0,
    progress: bool | None = None,
    device: torch.device | str | None = None,
    on_epoch: Callable[[EpochRecord], object] | None = None,
) -> TrainingLog:
    """Train for ``epochs`` epochs, evaluating on ``test`` every ``test_every`` epochs.

    Each epoch is a :func:`train_epoch` then, on the evaluated epochs (every
    ``test_every``-th and the last), an :func:`evaluate` with ``repeats``
    passes.

    Parameters
    ----------
    network : torch.nn.Module
        Maps a ``SparseVoxelTensor`` to logits ``[B, C]``.
    train : SparseDataset
        Labelled training data.
    test : SparseDataset, optional
        Labelled test data; without it no epoch is evaluated.
    epochs : int, default 10
    batch_size : int, default 32
    optimizer : torch.optim.Optimizer, optional
        As in :func:`train_epoch` (by default the network's cached SGD).
    lr, momentum, weight_decay : float, default 0.01, 0.9, 0.0
        For the cached SGD.
    lr_decay : float, optional
        A factor in ``(0, 1]``: epoch ``e`` (from 1) trains with
        ``lr * lr_decay ** (e - 1)``, SparseConvNet's exponential decay
        ``lr * exp((1 - e) d)`` for ``lr_decay = exp(-d)``.  With an
        ``optimizer``, its groups' learning rates at the start are decayed
        (and left at the last epoch's values).
    test_every : int, default 1
    repeats : int, default 1
        Test-time augmentation passes of each evaluation.
    loss : callable, optional
        As in :func:`train_epoch`; used for training and evaluation.
    num_workers : int, default 0
    progress : bool, optional
        A progress bar over the epochs (and the inner ones); by default only
        when stderr is a terminal.
    device : torch.device or str, optional
    on_epoch : callable, optional
        Called with each epoch's :class:`EpochRecord` as soon as it is done
        (to print it, save a checkpoint, ...).

    Returns
    -------
    TrainingLog

    Raises
    ------
    ValueError, TypeError
        For bad arguments (before any training), and as :func:`train_epoch`
        and :func:`evaluate`.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d import SparseDataset, SparseGlobalMaxPool, SubmanifoldConv3d
    >>> train = SparseDataset.shapes(2, render_size=8, classes=["box", "sphere"], seed=0)
    >>> test = SparseDataset.shapes(1, render_size=8, classes=["box", "sphere"], kind="test",
    ...                             seed=1)
    >>> net = torch.nn.Sequential(SubmanifoldConv3d(1, 4, 3), SparseGlobalMaxPool(),
    ...                           torch.nn.Linear(4, 2))
    >>> log = fit(net, train, test, epochs=3, batch_size=2, lr=0.1, lr_decay=0.5, test_every=2)
    >>> [(r.epoch, r.lr, r.test is not None) for r in log]
    [(1, 0.1, False), (2, 0.05, True), (3, 0.025, True)]
    """
    epochs = _positive_int(epochs, "epochs")
    test_every = _positive_int(test_every, "test_every")
    repeats = _positive_int(repeats, "repeats")
    batch_size = _positive_int(batch_size, "batch_size")
    if lr_decay is not None:
        lr_decay = _number(lr_decay, "lr_decay", "a number in (0, 1]", lambda v: 0 < v <= 1)
    _check_setup(network, train, "fit", labelled=True)
    if test is not None:
        _check_setup(network, test, "fit (test data)", labelled=True)
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {optimizer!r}")
    start_lrs = [group["lr"] for group in optimizer.param_groups] if optimizer is not None else []
    log = TrainingLog()
    bar = tqdm(range(1, epochs + 1), desc="fit", unit="epoch", disable=_quiet(progress))
    for epoch in bar:
        factor = 1.0 if lr_decay is None else lr_decay ** (epoch - 1)
        if optimizer is not None:
            for group, start_lr in zip(optimizer.param_groups, start_lrs, strict=True):
                group["lr"] = start_lr * factor
        options = {"loss": loss, "progress": progress, "device": device}
        report = train_epoch(
            network,
            train,
            batch_size,
            optimizer,
            lr=lr * factor,
            momentum=momentum,
            weight_decay=weight_decay,
            num_workers=num_workers,
            **options,
        )
        tested = None
        if test is not None and (epoch % test_every == 0 or epoch == epochs):
            tested = evaluate(
                network, test, repeats, batch_size, num_workers=num_workers, **options
            )
        current = lr * factor if optimizer is None else optimizer.param_groups[0]["lr"]
        log.records.append(EpochRecord(epoch, current, report, tested))
        if on_epoch is not None:
            on_epoch(log.records[-1])
        postfix = {"train_error": f"{report.error_rate:.3f}"}
        if tested is not None:
            postfix["test_error"] = f"{tested.error_rate:.3f}"
        bar.set_postfix(postfix)
    bar.close()
    return log
