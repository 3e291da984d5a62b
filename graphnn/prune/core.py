"""What every pruning method shares: scores in, a smaller mask out.

A saliency gives every weight of every masked layer a score: a list of
tensors in the shapes of the layers' weights (:data:`Scores`).  Pruning
masks the lowest-scoring *live* connections:

* ``scope="global"`` ("class-blinded"): one ranking across all layers;
  ``scope="layer"`` ("class-uniform"): every layer ranked on its own;
* ``amount``: a float in ``[0, 1]`` (that fraction of the live connections in
  the scope), an int (that many), or ``threshold=`` (every score below it);
* masks only shrink: a pruned connection never comes back;
* with ``protect=True`` (the default) each input of a compiled model keeps its
  highest-scoring outgoing connection and each output its highest-scoring
  incoming one, so no input or output unit is disconnected.

Ties are broken by position, so the same scores always prune the same
connections, and exactly the asked number of them.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from torch import nn

from graphnn.nn.masked_linear import MaskedLinear

__all__ = [
    "SCOPES",
    "Scores",
    "how_many",
    "live_parameters",
    "masked_layers_of",
    "prune_by_scores",
    "sparsity",
]

#: One score per weight entry of every masked layer, in the shape of its ``weight``.
Scores = list[torch.Tensor]
#: Accepted scopes and their aliases.
SCOPES = {"global": "global", "class-blinded": "global", "layer": "layer", "class-uniform": "layer"}


def masked_layers_of(model: nn.Module) -> list[MaskedLinear]:
    """Return the masked layers of ``model`` (its ``masked_layers()`` if it has them).

    Raises
    ------
    ValueError
        If ``model`` has no masked layer.
    """
    if hasattr(model, "masked_layers"):
        layers = list(model.masked_layers())
    else:
        layers = [m for m in model.modules() if isinstance(m, MaskedLinear)]
    if not layers:
        raise ValueError(
            f"{type(model).__name__} has no masked layers to prune; compile a structure with "
            "graphnn.compile or use graphnn.nn.MaskedLinear"
        )
    return layers


def sparsity(model: nn.Module) -> float:
    """Return the fraction of the model's connections that are masked.

    Connections are the entries of the layers' patterns: the edges of the
    structure the model was compiled from.

    Examples
    --------
    >>> import graphnn
    >>> model = graphnn.nn.MaskedFFN(4, 2, [3])
    >>> sparsity(model)
    0.0
    """
    layers = masked_layers_of(model)
    total = sum(int(layer.entry_positions().numel()) for layer in layers)
    live = sum(layer.weight_count for layer in layers)
    return 1.0 - live / total if total else 0.0


def live_parameters(model: nn.Module) -> int:
    """Return the live weights plus the biases of the model's masked layers.

    Raises
    ------
    ValueError
        If ``model`` has no masked layer.

    Examples
    --------
    >>> import graphnn
    >>> model = graphnn.nn.MaskedFFN(4, 2, [3])
    >>> live_parameters(model)  # 4 * 3 + 3 * 2 weights, 3 + 2 biases
    23
    """
    return sum(
        layer.weight_count + (0 if layer.bias is None else layer.bias.numel())
        for layer in masked_layers_of(model)
    )


def _check_scores(layers: list[MaskedLinear], scores: Scores) -> list[np.ndarray]:
    """Validate scores; return, per layer, the scores of its entries (float64, CPU)."""
    if isinstance(scores, torch.Tensor) or len(scores) != len(layers):
        count = 1 if isinstance(scores, torch.Tensor) else len(scores)
        raise ValueError(f"need one score tensor per masked layer ({len(layers)}), got {count}")
    entry_scores = []
    for k, (layer, score) in enumerate(zip(layers, scores, strict=True)):
        if not isinstance(score, torch.Tensor) or tuple(score.shape) != tuple(layer.weight.shape):
            shape = tuple(score.shape) if isinstance(score, torch.Tensor) else type(score).__name__
            raise ValueError(
                f"scores of layer {k} must have the shape of its weight "
                f"{tuple(layer.weight.shape)}, got {shape}"
            )
        positions = layer.entry_positions()
        values = score.detach().flatten()[positions].double().cpu().numpy()
        live = layer.mask.flatten()[positions].cpu().numpy()
        if np.isnan(values[live]).any():
            raise ValueError(f"scores of layer {k} are NaN at live connections")
        entry_scores.append(values)
    return entry_scores


def _protected(model: nn.Module, layers, entry_scores, live) -> list[np.ndarray]:
    """Per layer, the entries that keep every input and output of a compiled model connected."""
    protected = [np.zeros(s.size, dtype=bool) for s in entry_scores]
    plan, edges = getattr(model, "_plan", None), getattr(model, "_entry_edges", None)
    if plan is None or edges is None:
        return protected  # no graph to protect: a plain module of masked layers
    layer_of = np.concatenate([np.full(s.size, k) for k, s in enumerate(entry_scores)])
    local = np.concatenate([np.arange(s.size) for s in entry_scores])
    edge = np.concatenate(edges)
    score = np.concatenate(entry_scores)
    alive = np.concatenate(live)
    for node, chosen in (
        (plan.src[edge], plan.src[edge] < plan.n_inputs),
        (plan.dst[edge], np.isin(plan.dst[edge], plan.outputs)),
    ):
        candidates = np.flatnonzero(alive & chosen)
        if candidates.size == 0:
            continue
        order = candidates[np.lexsort((-score[candidates], node[candidates]))]
        first = order[np.r_[True, node[order][1:] != node[order][:-1]]]
        for k, i in zip(layer_of[first].tolist(), local[first].tolist(), strict=True):
            protected[k][i] = True
    return protected


def how_many(amount: object, available: int, what: str) -> int:
    """Return how many of ``available`` things ``amount`` asks for (a fraction or a count).

    Raises
    ------
    TypeError
        If ``amount`` is not a real number (or is a bool).
    ValueError
        If a fraction lies outside ``[0, 1]`` or a count outside
        ``[0, available]``; ``what`` names the things in the message.

    Examples
    --------
    >>> how_many(0.25, 10, "hidden units"), how_many(3, 10, "hidden units")
    (2, 3)
    """
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"amount must be a fraction (float) or a count (int), got {amount!r}")
    if isinstance(amount, numbers.Integral):
        if amount < 0 or amount > available:
            raise ValueError(f"amount={amount} must be between 0 and the {available} {what}")
        return int(amount)
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount={amount} is a fraction and must lie in [0, 1]")
    return round(float(amount) * available)


def _lowest(scores: np.ndarray, candidates: np.ndarray, k: int, where: str) -> np.ndarray:
    """Return the ``k`` lowest-scoring candidates (ties by position), as a boolean array."""
    index = np.flatnonzero(candidates)
    if k > index.size:
        raise ValueError(
            f"cannot prune {k} weights {where}: only {index.size} live weights may be pruned "
            "(the others keep inputs and outputs connected; pass protect=False to allow it)"
        )
    chosen = np.zeros(candidates.size, dtype=bool)
    chosen[index[np.argsort(scores[index], kind="stable")[:k]]] = True
    return chosen


@torch.no_grad()
def prune_by_scores(
    model: nn.Module,
    scores: Scores,
    amount: float | int | None = None,
    *,
    threshold: float | None = None,
    scope: str = "global",
    protect: bool = True,
) -> nn.Module:
    """Mask the lowest-scoring live connections of ``model``, in place.

    Parameters
    ----------
    model : torch.nn.Module
        A compiled model (:class:`~graphnn.nn.MaskedDAG`) or any module with
        :class:`~graphnn.nn.MaskedLinear` layers.
    scores : list of torch.Tensor
        One per masked layer, in the shape of its ``weight``.
    amount : float or int, optional
        A fraction of the live connections in the scope (float in
        ``[0, 1]``), or how many to prune (int).
    threshold : float, optional
        Instead of ``amount``: prune every live connection scoring below it.
    scope : {"global", "layer"}, default "global"
        One ranking for all layers, or one per layer (also accepted:
        ``"class-blinded"``, ``"class-uniform"``).
    protect : bool, default True
        Keep every input and output unit of a compiled model connected.

    Returns
    -------
    torch.nn.Module
        ``model``, with smaller masks.

    Raises
    ------
    ValueError, TypeError
        For a bad amount, scope or scores (wrong count, shape, NaN), or a model
        without masked layers; the message names what is wrong.

    Examples
    --------
    >>> import torch
    >>> from graphnn.nn import MaskedFFN
    >>> model = MaskedFFN(4, 2, [3])
    >>> scores = [layer.weight.detach().abs() for layer in model.masked_layers()]
    >>> _ = prune_by_scores(model, scores, 0.5)
    >>> sum(layer.weight_count for layer in model.masked_layers())
    9
    """
    layers = masked_layers_of(model)
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}; got {scope!r}")
    if (amount is None) == (threshold is None):
        raise ValueError("give exactly one of amount (a fraction or a count) and threshold")
    entry_scores = _check_scores(layers, scores)
    positions = [layer.entry_positions() for layer in layers]
    live = [
        layer.mask.flatten()[p].cpu().numpy() for layer, p in zip(layers, positions, strict=True)
    ]
    keep = (
        _protected(model, layers, entry_scores, live)
        if protect
        else [np.zeros_like(a) for a in live]
    )
    candidates = [a & ~k for a, k in zip(live, keep, strict=True)]
    if threshold is not None:
        pruned = [c & (s < threshold) for c, s in zip(candidates, entry_scores, strict=True)]
    elif SCOPES[scope] == "global":
        total = int(sum(a.sum() for a in live))
        k = how_many(amount, total, "live weights in the model")
        flat = _lowest(np.concatenate(entry_scores), np.concatenate(candidates), k, "in the model")
        pruned = np.split(flat, np.cumsum([s.size for s in entry_scores])[:-1])
    else:
        pruned = []
        for index, (s, a, c) in enumerate(zip(entry_scores, live, candidates, strict=True)):
            where = f"in layer {index}"
            k = how_many(amount, int(a.sum()), f"live weights {where}")
            pruned.append(_lowest(s, c, k, where))
    for layer, p, cut in zip(layers, positions, pruned, strict=True):
        flat_mask = layer.mask.view(-1)
        flat_mask[p[torch.as_tensor(cut, device=p.device)]] = False
    return model
