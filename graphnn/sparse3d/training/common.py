r"""What training, evaluation, prediction and embedding share: checks and one batch's forward pass.

A ``network`` is any ``torch.nn.Module`` mapping a
:class:`~graphnn.sparse3d.tensor.SparseVoxelTensor` to logits ``[B, C]`` (or,
with ``hidden=``, whose named layer gives one embedding per sample); a data
set anything with ``__len__`` and ``loader(batch_size, shuffle=...,
num_workers=...)`` yielding :class:`~graphnn.sparse3d.data.batch.SparseBatch`\ es.
The checks here raise naming the function (``where``) and the sample at fault.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from graphnn.sparse3d.data.batch import SparseBatch
from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = [
    "Loss",
    "are_logits",
    "check_labels",
    "check_loss",
    "check_setup",
    "device_of",
    "embeddings_of",
    "forward_batch",
    "hidden_module",
    "loss_value",
    "quiet",
]

#: ``loss(logits [B, C], labels [B]) -> scalar``, the mean over the batch.
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def check_setup(network: object, dataset: object, where: str, labelled: bool) -> int:
    """Check the network and the data set of ``where``; return the data set's length."""
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


def check_loss(loss: Loss | None) -> Loss:
    """Return ``loss``, or cross entropy for None; raise if it is not callable."""
    if loss is None:
        return F.cross_entropy
    if not callable(loss):
        raise TypeError(f"loss must be a callable loss(logits, labels), got {loss!r}")
    return loss


def device_of(network: nn.Module, device: torch.device | str | None) -> torch.device:
    """Return ``device``, or that of the network's first parameter or buffer (the CPU)."""
    if device is not None:
        return torch.device(device)
    for tensor in itertools.chain(network.parameters(), network.buffers()):
        return tensor.device
    return torch.device("cpu")


def quiet(progress: bool | None) -> bool:
    """Whether a progress bar is hidden: ``progress=False``, or None and no terminal."""
    return progress is False or (progress is None and not sys.stderr.isatty())


def forward_batch(
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


def check_labels(batch: SparseBatch, n_classes: float, where: str) -> None:
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


def loss_value(loss: Loss, logits: torch.Tensor, labels: torch.Tensor, where: str) -> torch.Tensor:
    """Return ``loss(logits, labels)`` as a 0-d tensor; raise if it is not one number."""
    value = loss(logits, labels)
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        got = list(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise TypeError(
            f"{where}: loss(logits, labels) must return a scalar tensor (the batch mean), got {got}"
        )
    return value.reshape(())


def hidden_module(network: nn.Module, name: object, where: str) -> nn.Module:
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


def are_logits(out: object, batch_size: int) -> bool:
    """Whether ``out`` is a ``[batch_size, C]`` tensor."""
    return isinstance(out, torch.Tensor) and out.dim() == 2 and out.shape[0] == batch_size


def embeddings_of(captured: list, batch_size: int, hidden: str, where: str) -> torch.Tensor:
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
    if are_logits(out, batch_size):
        return out
    got = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
    raise ValueError(
        f"{where}: the layer hidden={hidden!r} must return a SparseVoxelTensor or one embedding "
        f"per sample [{batch_size}, D], got {got}"
    )
