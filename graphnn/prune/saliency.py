"""Saliency measures, and one pruning function per measure.

Every measure returns :data:`~graphnn.prune.core.Scores` (one tensor per
masked layer, in the shape of its weight; higher means keep), and every
pruning function has the same shape: ``method(model, amount, *, scope,
threshold, protect, ...)`` masks the lowest-scoring live connections in place
and returns the model (see :func:`~graphnn.prune.core.prune_by_scores`).

* :func:`magnitude`: ``|w|``.
* :func:`random`: uniform random scores (seeded).
* :func:`distributed`: ``|w|`` over the standard deviation of the layer's live
  weights (Han et al. 2015; pyPaddle's "distributed" pruning).
* :func:`snip`: ``|g * w|``, the connection sensitivity of SNIP (Lee et al.
  2019), meant for the model at initialisation.
* :func:`taylor`: ``(g * w)^2`` averaged over batches, first-order Taylor
  importance (Molchanov et al. 2019).
* :func:`obd`: ``h * w^2 / 2`` with the diagonal ``h`` of the Hessian of the
  loss (Optimal Brain Damage, LeCun et al. 1990): exact by autograd for small
  models, the empirical Fisher (mean of squared per-sample gradients, a
  Gauss-Newton approximation) for large ones.
* :func:`by_saliency`: any scores, or a function of the model returning them.

``data`` is one batch ``(inputs, targets)`` or an iterable of them; ``loss``
is a function of ``(outputs, targets)`` such as
``torch.nn.functional.cross_entropy``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import contextmanager

import torch
from torch import nn

from graphnn._random import as_rng
from graphnn.prune.core import Scores, masked_layers_of, prune_by_scores

__all__ = [
    "by_saliency",
    "distributed",
    "distributed_scores",
    "hessian_diagonal",
    "magnitude",
    "magnitude_scores",
    "obd",
    "obd_scores",
    "random",
    "random_scores",
    "snip",
    "snip_scores",
    "taylor",
    "taylor_scores",
]

Batch = tuple[torch.Tensor, torch.Tensor]
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: Above this many live weights ``obd(method="auto")`` uses the Fisher diagonal.
EXACT_HESSIAN_LIMIT = 2000


def magnitude_scores(model: nn.Module) -> Scores:
    """Return ``|w|`` for every weight."""
    return [layer.weight.detach().abs() for layer in masked_layers_of(model)]


def random_scores(model: nn.Module, seed=None) -> Scores:
    """Return uniform random scores, reproducible with ``seed``."""
    generator = torch.Generator().manual_seed(int(as_rng(seed).integers(2**63)))
    return [
        torch.rand(layer.weight.shape, generator=generator).to(layer.weight.device)
        for layer in masked_layers_of(model)
    ]


def distributed_scores(model: nn.Module) -> Scores:
    """Return ``|w|`` divided by the standard deviation of each layer's live weights."""
    scores = []
    for layer in masked_layers_of(model):
        live = layer.weight.detach()[layer.mask]
        std = live.std() if live.numel() > 1 else live.new_tensor(1.0)
        scores.append(layer.weight.detach().abs() / (std if std > 0 else 1.0))
    return scores


def _batches(data: Batch | Iterable[Batch]) -> list[Batch]:
    if isinstance(data, tuple | list) and len(data) == 2 and isinstance(data[0], torch.Tensor):
        return [tuple(data)]
    batches = [tuple(batch) for batch in data]
    if not batches:
        raise ValueError("data has no batches")
    return batches


def _weights(model: nn.Module) -> list[torch.Tensor]:
    return [layer.weight for layer in masked_layers_of(model)]


def _gradients(model: nn.Module, batch: Batch, loss: Loss, create_graph: bool = False):
    inputs, targets = batch
    value = loss(model(inputs), targets)
    if value.ndim != 0:
        raise ValueError(f"loss must return a scalar, got shape {tuple(value.shape)}")
    return torch.autograd.grad(value, _weights(model), create_graph=create_graph)


def snip_scores(model: nn.Module, data: Batch | Iterable[Batch], loss: Loss) -> Scores:
    """Return ``|g * w|`` with ``g`` the loss gradient summed over the batches."""
    total = None
    for batch in _batches(data):
        grads = _gradients(model, batch, loss)
        total = list(grads) if total is None else [t + g for t, g in zip(total, grads, strict=True)]
    return [(g * w.detach()).abs() for g, w in zip(total, _weights(model), strict=True)]


def taylor_scores(model: nn.Module, data: Batch | Iterable[Batch], loss: Loss) -> Scores:
    """Return ``(g * w)^2`` averaged over the batches (first-order Taylor importance)."""
    batches = _batches(data)
    weights = [w.detach() for w in _weights(model)]
    total = [torch.zeros_like(w) for w in weights]
    for batch in batches:
        for t, g, w in zip(total, _gradients(model, batch, loss), weights, strict=True):
            t += (g * w) ** 2
    return [t / len(batches) for t in total]


@contextmanager
def _autograd_engine(model: nn.Module):
    """Run a compiled model on its twice-differentiable engine inside the block."""
    previous = getattr(model, "engine", None)
    if previous is not None:
        model.engine = "autograd"
    try:
        yield
    finally:
        if previous is not None:
            model.engine = previous


def hessian_diagonal(
    model: nn.Module, data: Batch | Iterable[Batch], loss: Loss, method: str = "auto"
) -> Scores:
    """Return the diagonal of the loss Hessian with respect to every weight.

    Parameters
    ----------
    model, data, loss
        As for the saliencies; the loss is summed over the batches.
    method : {"auto", "exact", "fisher"}, default "auto"
        ``"exact"``: one second backward pass per live weight (autograd;
        needs dense or block layouts, which are twice differentiable).
        ``"fisher"``: the mean over samples of squared per-sample gradients,
        the empirical Fisher (a Gauss-Newton approximation for likelihood
        losses).  ``"auto"``: exact up to 2,000 live weights.

    Returns
    -------
    list of torch.Tensor
        Zero at masked weights.

    Raises
    ------
    ValueError
        For an unknown method, or ``"exact"`` on sparse layers.
    """
    if method not in ("auto", "exact", "fisher"):
        raise ValueError(f"method must be auto, exact or fisher; got {method!r}")
    layers = masked_layers_of(model)
    live = sum(layer.weight_count for layer in layers)
    if method == "auto":
        method = "exact" if live <= EXACT_HESSIAN_LIMIT else "fisher"
    if method == "fisher":
        return _fisher_diagonal(model, data, loss)
    if any(layer.layout == "sparse" for layer in layers):
        raise ValueError(
            "the exact Hessian needs twice-differentiable products: compile with layout='dense' "
            "or 'block', or use method='fisher'"
        )
    weights = _weights(model)
    diagonal = [torch.zeros_like(w) for w in weights]
    with _autograd_engine(model):
        grads = None
        for batch in _batches(data):
            g = _gradients(model, batch, loss, create_graph=True)
            grads = list(g) if grads is None else [a + b for a, b in zip(grads, g, strict=True)]
        for k, (layer, g) in enumerate(zip(layers, grads, strict=True)):
            for i in layer.mask.flatten().nonzero().squeeze(1).tolist():
                (second,) = torch.autograd.grad(g.flatten()[i], weights[k], retain_graph=True)
                diagonal[k].view(-1)[i] = second.flatten()[i].detach()
    return diagonal


def _fisher_diagonal(model: nn.Module, data, loss: Loss, max_samples: int = 512) -> Scores:
    total = [torch.zeros_like(w) for w in _weights(model)]
    seen = 0
    for inputs, targets in _batches(data):
        for i in range(inputs.shape[0]):
            if seen == max_samples:
                break
            grads = _gradients(model, (inputs[i : i + 1], targets[i : i + 1]), loss)
            for t, g in zip(total, grads, strict=True):
                t += g.detach() ** 2
            seen += 1
    return [t / max(seen, 1) for t in total]


def obd_scores(
    model: nn.Module, data: Batch | Iterable[Batch], loss: Loss, method: str = "auto"
) -> Scores:
    """Return ``h * w^2 / 2`` with ``h`` the Hessian diagonal (see :func:`hessian_diagonal`)."""
    h = hessian_diagonal(model, data, loss, method)
    return [0.5 * d * w.detach() ** 2 for d, w in zip(h, _weights(model), strict=True)]


def by_saliency(
    model: nn.Module,
    scores: Scores | Callable[[nn.Module], Scores],
    amount: float | int | None = None,
    *,
    threshold: float | None = None,
    scope: str = "global",
    protect: bool = True,
) -> nn.Module:
    """Prune by any saliency: scores, or a function of the model returning them.

    Examples
    --------
    >>> from graphnn.nn import MaskedFFN
    >>> model = by_saliency(MaskedFFN(4, 2, [3]), magnitude_scores, 0.5, scope="layer")
    >>> model.densities()
    [0.5, 0.5]
    """
    if callable(scores):
        scores = scores(model)
    return prune_by_scores(model, scores, amount, threshold=threshold, scope=scope, protect=protect)


_TEMPLATE = """Prune ``model`` in place by {what}.

Parameters
----------
model : torch.nn.Module
    A compiled model or any module with masked layers.
amount : float or int, optional
    Fraction of the live connections in the scope, or how many.
threshold : float, optional
    Instead of ``amount``: prune every score below it.
scope : {{"global", "layer"}}, default "global"
    One ranking across layers (class-blinded) or one per layer (class-uniform).
protect : bool, default True
    Keep every input and output unit connected.
{options}
Returns
-------
torch.nn.Module
    ``model``.

Raises
------
ValueError, TypeError
    As :func:`~graphnn.prune.core.prune_by_scores`.
"""
_DATA = """data, loss
    Batches ``(inputs, targets)`` and a loss of ``(outputs, targets)``.
"""


def _method(
    measure: Callable[..., Scores], what: str, options: str = ""
) -> Callable[..., nn.Module]:
    """Return the pruning function of a saliency measure (they all share one signature)."""

    def prune(
        model: nn.Module,
        amount: float | int | None = None,
        *,
        threshold: float | None = None,
        scope: str = "global",
        protect: bool = True,
        **measure_options,
    ) -> nn.Module:
        scores = measure(model, **measure_options)
        return prune_by_scores(
            model, scores, amount, threshold=threshold, scope=scope, protect=protect
        )

    prune.__name__ = prune.__qualname__ = measure.__name__.removesuffix("_scores")
    prune.__doc__ = _TEMPLATE.format(what=what, options=options)
    return prune


magnitude = _method(magnitude_scores, "``|w|``")
random = _method(
    random_scores,
    "uniform random scores",
    "seed : None, int or numpy.random.Generator\n    For the scores.\n",
)
distributed = _method(distributed_scores, "``|w|`` over the std of each layer's live weights")
snip = _method(snip_scores, "SNIP's ``|g * w|``", _DATA)
taylor = _method(taylor_scores, "first-order Taylor importance ``(g * w)^2``", _DATA)
obd = _method(
    obd_scores,
    "Optimal Brain Damage, ``h * w^2 / 2``",
    _DATA + 'method : {"auto", "exact", "fisher"}, default "auto"\n    The Hessian diagonal.\n',
)
