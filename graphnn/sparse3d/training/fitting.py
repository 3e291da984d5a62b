r"""Train for several epochs with evaluations between them, and the log of the run.

:func:`fit` alternates :func:`~graphnn.sparse3d.training.train.train_epoch`
and :func:`~graphnn.sparse3d.training.evaluation.evaluate` for some epochs,
with one optimizer for the whole run and an exponentially decaying learning
rate, and returns a :class:`TrainingLog` of :class:`EpochRecord`\ s,
printable as a table (the same record/table design as
:class:`~graphnn.prune.PruningHistory`) and plotted as learning curves by
:meth:`TrainingLog.plot`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from graphnn._figures import agg_figure
from graphnn._table import Column, RecordLog
from graphnn._validation import check_int, check_number
from graphnn.sparse3d.training.common import Loss, check_setup, quiet
from graphnn.sparse3d.training.evaluation import evaluate
from graphnn.sparse3d.training.reports import EpochReport, EvaluationReport
from graphnn.sparse3d.training.train import sgd, train_epoch

__all__ = ["EpochRecord", "TrainingLog", "fit"]


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


def _lr(value: object) -> str:
    return f"{value:.4g}"


def _seconds(value: object) -> str:
    return f"{value:.2f}"


class TrainingLog(RecordLog[EpochRecord]):
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

    def columns(self) -> list[Column]:
        """Return the printed columns: epoch, lr, train and test error and loss, seconds."""
        return [
            Column("epoch", "epoch"),
            Column("lr", "lr", _lr),
            Column("train error", "train_error_rate"),
            Column("train loss", "train_mean_loss"),
            Column("test error", "test_error_rate"),
            Column("test loss", "test_mean_loss"),
            Column("seconds", "seconds", _seconds),
        ]

    def table_rows(self) -> list[dict]:
        """Each epoch's flat dict with ``seconds``: its training and evaluation time."""
        rows = self.as_dicts()
        for record, row in zip(self.records, rows, strict=True):
            row["seconds"] = record.train.seconds + (record.test.seconds if record.test else 0)
        return rows

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
        Used for every epoch (its state carries over).  By default one SGD
        with momentum (:func:`~graphnn.sparse3d.training.train.sgd`) is made
        for the whole run.
    lr, momentum, weight_decay : float, default 0.01, 0.9, 0.0
        For that SGD; ignored with an ``optimizer``.
    lr_decay : float, optional
        A factor in ``(0, 1]``: epoch ``e`` (from 1) trains with
        ``lr * lr_decay ** (e - 1)``, SparseConvNet's exponential decay
        ``lr * exp((1 - e) d)`` for ``lr_decay = exp(-d)``: the optimizer's
        groups' learning rates at the start are decayed (and left at the last
        epoch's values).
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
    epochs = check_int("epochs", epochs, low=1, what="a positive int")
    test_every = check_int("test_every", test_every, low=1, what="a positive int")
    repeats = check_int("repeats", repeats, low=1, what="a positive int")
    batch_size = check_int("batch_size", batch_size, low=1, what="a positive int")
    if lr_decay is not None:
        lr_decay = check_number("lr_decay", lr_decay, low=0, high=1, low_open=True)
    check_setup(network, train, "fit", labelled=True)
    if test is not None:
        check_setup(network, test, "fit (test data)", labelled=True)
    if optimizer is None:
        optimizer = sgd(network, lr, momentum, weight_decay)
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {optimizer!r}")
    start_lrs = [group["lr"] for group in optimizer.param_groups]
    log = TrainingLog()
    bar = tqdm(range(1, epochs + 1), desc="fit", unit="epoch", disable=quiet(progress))
    for epoch in bar:
        factor = 1.0 if lr_decay is None else lr_decay ** (epoch - 1)
        for group, start_lr in zip(optimizer.param_groups, start_lrs, strict=True):
            group["lr"] = start_lr * factor
        options = {"loss": loss, "progress": progress, "device": device}
        report = train_epoch(
            network, train, batch_size, optimizer, num_workers=num_workers, **options
        )
        tested = None
        if test is not None and (epoch % test_every == 0 or epoch == epochs):
            tested = evaluate(
                network, test, repeats, batch_size, num_workers=num_workers, **options
            )
        log.records.append(EpochRecord(epoch, optimizer.param_groups[0]["lr"], report, tested))
        if on_epoch is not None:
            on_epoch(log.records[-1])
        postfix = {"train_error": f"{report.error_rate:.3f}"}
        if tested is not None:
            postfix["test_error"] = f"{tested.error_rate:.3f}"
        bar.set_postfix(postfix)
    bar.close()
    return log
