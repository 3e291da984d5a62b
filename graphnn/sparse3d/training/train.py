"""One training epoch of a sparse 3D network: PySparseConvNet's ``processDataset`` as a function.

:func:`train_epoch` makes one pass over a labelled data set, shuffled and
augmented, and returns an :class:`~graphnn.sparse3d.training.reports.EpochReport`.
The optimizer is the caller's: pass one (:func:`sgd` makes PySparseConvNet's)
to keep its state across epochs; nothing is cached on the network.  The
data set's epoch counter (which with a data-set ``seed`` decides the
augmentation) is advanced after the pass.  Progress bars (tqdm) are shown
when stderr is a terminal or ``progress=True``.
"""

from __future__ import annotations

import contextlib
import math
import time

import torch
from torch import nn
from tqdm import tqdm

from graphnn._validation import check_int, check_number
from graphnn.sparse3d.tensor import SparseVoxelTensor
from graphnn.sparse3d.training.common import (
    Loss,
    are_logits,
    check_labels,
    check_loss,
    check_setup,
    device_of,
    embeddings_of,
    forward_batch,
    hidden_module,
    loss_value,
    quiet,
)
from graphnn.sparse3d.training.reports import EpochReport

__all__ = ["sgd", "train_epoch"]


def sgd(
    network: nn.Module, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0
) -> torch.optim.SGD:
    """Return a new SGD optimizer of the network's trainable parameters.

    PySparseConvNet trained with SGD and momentum; pass the optimizer to
    every :func:`train_epoch` of a run so that its momentum carries over
    (:func:`~graphnn.sparse3d.training.fitting.fit` makes one this way).

    Raises
    ------
    ValueError, TypeError
        For a learning rate that is not positive, a momentum outside
        ``[0, 1)``, a negative weight decay, or a network without trainable
        parameters.

    Examples
    --------
    >>> import torch
    >>> sgd(torch.nn.Linear(2, 1), lr=0.1).param_groups[0]["momentum"]
    0.9
    """
    lr = check_number("lr", lr, low=0, low_open=True, what="a positive number")
    momentum = check_number("momentum", momentum, low=0, high=1, high_open=True)
    weight_decay = check_number("weight_decay", weight_decay, low=0, what="a number >= 0")
    params = [p for p in network.parameters() if p.requires_grad]
    if not params:
        raise ValueError("train_epoch: the network has no trainable parameters")
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


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
        Used as given, and left with its state (momentum, ...) for the next
        epoch: pass the same one to every epoch (as :func:`~graphnn.sparse3d.training.fitting.fit`
        does), e.g. ``sgd(network, lr=0.01, momentum=0.9)``.  By default a
        fresh SGD (:func:`sgd`) is made for this epoch alone, so no momentum
        carries over from an earlier call.  graphnn keeps no optimizer on the
        network.
    lr, momentum, weight_decay : float, default 0.01, 0.9, 0.0
        For the fresh SGD; ignored with an ``optimizer``.
    loss : callable, optional
        ``loss(logits, labels)`` returning the batch mean; default
        ``torch.nn.functional.cross_entropy``.  With ``hidden``, the loss
        gets that layer's embeddings instead of the logits.
    hidden : str, optional
        Train on a hidden layer: the name of a submodule of ``network`` (as
        in ``named_modules()``; for a
        :class:`~graphnn.sparse3d.network.model.SparseNetwork` also a node name of
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
    >>> optimizer = sgd(net, lr=0.1)
    >>> report = train_epoch(net, data, batch_size=2, optimizer=optimizer)
    >>> report.samples, report.multiply_adds_per_sample, 0 <= report.error_rate <= 1
    (4, None, True)
    >>> report = train_epoch(net, data, batch_size=2, optimizer=optimizer)  # momentum kept
    """
    where = "train_epoch"
    check_setup(network, dataset, where, labelled=True)
    batch_size = check_int("batch_size", batch_size, low=1, what="a positive int")
    loss = check_loss(loss)
    if optimizer is None:
        optimizer = sgd(network, lr, momentum, weight_decay)
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {optimizer!r}")
    device = device_of(network, device)
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
        module = hidden_module(network, hidden, where)
        handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out))
    loader = dataset.loader(batch_size, shuffle=True, num_workers=num_workers)
    bar = tqdm(loader, desc="train", unit="batch", leave=False, disable=quiet(progress))
    with passes as in_passes:
        try:
            for batch in bar:
                if hidden is None:
                    x, logits = forward_batch(network, batch, device, where)
                    check_labels(batch, logits.shape[1], where)
                    target = logits
                else:
                    captured.clear()
                    x = SparseVoxelTensor.from_batch(batch.to(device))
                    out = network(x)
                    B = batch.batch_size
                    logits = out if are_logits(out, B) else None
                    check_labels(batch, logits.shape[1] if logits is not None else math.inf, where)
                    target = embeddings_of(captured, B, hidden, where)
                labels = batch.labels.to(device)
                value = loss_value(loss, target, labels, where)
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
