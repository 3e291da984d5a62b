"""Structured pruning: remove whole hidden units, and the units that lie on no path.

Connection pruning (:mod:`graphnn.prune.core`) shrinks masks; the model keeps
its shape.  Structured pruning is a *graph edit*: whole hidden units leave
the structure with every connection at them, and the smaller graph is
compiled again, so the model really has fewer parameters and smaller layers.

* :func:`unit_scores`: the norm (l1 or l2) of each hidden unit's live
  incoming, outgoing or all connection weights.
* :func:`units` removes the lowest-scoring hidden units (a fraction, a count,
  or all below a threshold).  This is pruning: it changes the function.
* :func:`remove_dead_units` removes the hidden units on no input-to-output
  path (connection pruning leaves many) *without* changing the function:
  units that reach no output contribute nothing, and the constants computed
  by units no input reaches are folded into the biases of the units they feed.

Each returns a new model compiled with :func:`graphnn.compile` from the
edited ``model.to_graph()``; inputs and outputs are never removed, and the
surviving nodes keep their labels, roles, layers and parameters (but for
biases that constants are folded into).
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable

import networkx as nx
import numpy as np
import torch

from graphnn.nn.activations import ACTIVATIONS
from graphnn.nn.dag import MaskedDAG, compile
from graphnn.nn.plan import Plan
from graphnn.prune.core import how_many
from graphnn.structure.edits import remove_dead_units as remove_dead_nodes
from graphnn.structure.roles import HIDDEN
from graphnn.structure.validation import BIAS

__all__ = ["DIRECTIONS", "NORMS", "remove_dead_units", "unit_scores", "units"]

#: Accepted ``norm`` values of :func:`unit_scores`.
NORMS = ("l1", "l2")
#: Accepted ``direction`` values: the unit's incoming, outgoing or all connections.
DIRECTIONS = ("in", "out", "both")


def unit_scores(
    model: MaskedDAG, *, norm: str = "l2", direction: str = "both"
) -> dict[Hashable, float]:
    """Rate every hidden unit by the norm of its live connection weights.

    Parameters
    ----------
    model : MaskedDAG
        A compiled model.
    norm : {"l1", "l2"}, default "l2"
        Sum of absolute values, or Euclidean norm.
    direction : {"in", "out", "both"}, default "both"
        The unit's incoming, outgoing, or all live connections.

    Returns
    -------
    dict
        ``{hidden node: score}`` in the order of ``model.to_graph().nodes``;
        0 for a unit without live connections in ``direction``.

    Raises
    ------
    TypeError
        If ``model`` is not a compiled :class:`~graphnn.nn.MaskedDAG`.
    ValueError
        For an unknown ``norm`` or ``direction``.

    Examples
    --------
    >>> import networkx as nx
    >>> import graphnn
    >>> G = nx.DiGraph()
    >>> G.add_weighted_edges_from([("x", "h", 3.0), ("h", "y", -4.0), ("x", "y", 1.0)])
    >>> model = graphnn.compile(G)
    >>> unit_scores(model), unit_scores(model, norm="l1", direction="out")
    ({'h': 5.0}, {'h': 4.0})
    """
    _check_model(model)
    weight, live, _ = _parameters(model)
    positions, scores = _scores(model._plan, weight, live, norm, direction)
    labels = model._plan.labels
    return {labels[p]: s for p, s in zip(positions.tolist(), scores.tolist(), strict=True)}


def units(
    model: MaskedDAG,
    amount: float | int | None = None,
    *,
    threshold: float | None = None,
    norm: str = "l2",
    direction: str = "both",
    protect: bool = True,
) -> MaskedDAG:
    """Remove the lowest-scoring hidden units and compile the smaller structure.

    Units are ranked by :func:`unit_scores` (ties by the order of the
    structure's nodes, so the same model always loses the same units).

    Parameters
    ----------
    model : MaskedDAG
        A compiled model; it is not changed.
    amount : float or int, optional
        A fraction in ``[0, 1]`` of the hidden units (rounded to the nearest
        count), or how many to remove.
    threshold : float, optional
        Instead of ``amount``: remove every hidden unit scoring below it
        (but those ``protect`` keeps).
    norm, direction
        As for :func:`unit_scores`.
    protect : bool, default True
        Keep every output connected: units are taken from the lowest score
        up, and a unit whose removal would leave an output that still has
        live incoming connections with none is skipped (kept).

    Returns
    -------
    MaskedDAG
        A new model compiled from ``model.to_graph()`` without the removed
        units (see :func:`remove_dead_units` for the layout, dtype, device
        and engine it keeps).

    Raises
    ------
    TypeError
        If ``model`` is not a compiled :class:`~graphnn.nn.MaskedDAG`, or
        ``amount`` or ``threshold`` is not a number.
    ValueError
        For a bad ``amount``, ``threshold``, ``norm`` or ``direction``, or if
        ``protect`` lets fewer than ``amount`` units go.

    Examples
    --------
    >>> import networkx as nx
    >>> import graphnn
    >>> G = nx.DiGraph()
    >>> G.add_weighted_edges_from([("x", "a", 1.0), ("x", "b", 0.1), ("a", "y", 1.0),
    ...                            ("b", "y", 0.1)])
    >>> list(units(graphnn.compile(G), 1).to_graph())
    ['x', 'a', 'y']
    >>> try:
    ...     units(graphnn.compile(G), 2)  # y would lose all its inputs
    ... except ValueError as err:
    ...     print(err)  # doctest: +ELLIPSIS
    cannot remove 2 hidden units with protect=True: only 1 can go ...

    Notes
    -----
    This is pruning: the removed units' contributions are gone, so the
    function changes (unless no removed unit had a path to an output, or
    all had zero outgoing weights).  ``protect`` guarantees exactly this:
    every output with a live incoming connection before keeps one.  Not that
    it still depends on an input (its remaining predecessors may have lost
    theirs); and it is greedy, so the count it allows need not be the
    largest possible.  Units left on no input-to-output path stay;
    :func:`remove_dead_units` removes them without changing the function.
    """
    _check_model(model)
    plan = model._plan
    weight, live, _ = _parameters(model)
    positions, scores = _scores(plan, weight, live, norm, direction)
    if (amount is None) == (threshold is None):
        raise ValueError("give exactly one of amount (a fraction or a count) and threshold")
    ranking = np.argsort(scores, kind="stable")
    order = positions[ranking]
    if threshold is None:
        count = how_many(amount, positions.size, "hidden units")
    else:
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
            raise TypeError(f"threshold must be a real number, got {threshold!r}")
        if np.isnan(threshold):
            raise ValueError("threshold must be a number, got nan")
        order = order[scores[ranking] < threshold]
        count = order.size
    chosen = _unprotected(plan, live, order, count) if protect else order[:count]
    if threshold is None and chosen.size < count:
        raise ValueError(
            f"cannot remove {count} hidden units with protect=True: only {chosen.size} can go "
            "(taken from the lowest score up) without leaving an output with no incoming "
            "connection; ask for fewer or pass protect=False"
        )
    H = model.to_graph()
    H.remove_nodes_from(plan.labels[p] for p in chosen.tolist())
    return _recompiled(model, H)


def remove_dead_units(model: MaskedDAG) -> MaskedDAG:
    """Remove the hidden units on no input-to-output path, computing the same function.

    Parameters
    ----------
    model : MaskedDAG
        A compiled model; it is not changed.

    Returns
    -------
    MaskedDAG
        A new model compiled from ``model.to_graph()`` without the dead
        units (a recompiled copy when there are none; a plain ``MaskedDAG``,
        also for a ``MaskedFFN``), with the model's dtype, device, engine,
        training mode, and layout if all its layers share one (else
        ``"auto"``).  Its outputs equal the model's.

    Raises
    ------
    TypeError
        If ``model`` is not a compiled :class:`~graphnn.nn.MaskedDAG`.

    Examples
    --------
    >>> import networkx as nx
    >>> import torch
    >>> import graphnn
    >>> G = nx.DiGraph()
    >>> G.add_weighted_edges_from([("x", "h", 2.0), ("h", "y", 1.0), ("c", "y", 3.0),
    ...                            ("x", "d", 1.0)])
    >>> G.nodes["c"].update(role="hidden", bias=0.5)  # no input reaches c: constant 0.5
    >>> G.nodes["d"]["role"], G.nodes["y"]["bias"] = "hidden", 0.0  # d reaches no output
    >>> model = graphnn.compile(G)
    >>> smaller = remove_dead_units(model)
    >>> list(smaller.to_graph()), smaller.to_graph().nodes["y"]["bias"]
    (['x', 'h', 'y'], 1.5)
    >>> x = torch.randn(4, 1)
    >>> torch.allclose(smaller(x), model(x))
    True

    Notes
    -----
    A unit that cannot reach an output contributes nothing and is dropped.
    A unit that no input reaches computes a constant: its activation of its
    bias plus the contributions of such units before it.  These constants
    are computed in float64, layer by layer, with the activations of
    :data:`graphnn.nn.activations.ACTIVATIONS`, and each dead unit's
    ``weight * value`` is added to the bias of every kept node it feeds.
    So, unlike :func:`units`, this does not change the function (up to
    rounding the folded biases to the model's dtype).
    """
    _check_model(model)
    plan = model._plan
    weight, live, bias = _parameters(model)
    reached, reaching = _reach(model, live)
    hidden = np.array([r == HIDDEN for r in plan.role], dtype=bool)
    dead = hidden & ~(reached & reaching)
    value = _constants(model, weight, live, bias, reached)
    fold = live & dead[plan.src] & ~dead[plan.dst]
    assert not reached[plan.src[fold]].any(), "a dead unit that feeds a kept node is not constant"
    into = plan.dst[fold]
    delta = np.bincount(into, weights=weight[fold] * value[plan.src[fold]], minlength=bias.size)
    H = model.to_graph()
    for p in np.unique(into).tolist():
        H.nodes[plan.labels[p]][BIAS] = float(bias[p] + delta[p])
    remove_dead_nodes(H, copy=False)
    assert H.number_of_nodes() == plan.n_nodes - int(dead.sum()), "dead units differ"
    return _recompiled(model, H)


# --- the pieces --------------------------------------------------------------------------------


def _check_model(model: object) -> None:
    if not isinstance(model, MaskedDAG):
        raise TypeError(
            "structured pruning edits the model's graph, so it needs a compiled MaskedDAG "
            f"(graphnn.compile or graphnn.nn.MaskedFFN), got {type(model).__name__}"
        )


def _parameters(model: MaskedDAG) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return float64 weight and liveness per edge of the plan, and bias per buffer position."""
    plan = model._plan
    weight, live = np.zeros(plan.n_edges), np.zeros(plan.n_edges, dtype=bool)
    bias = np.zeros(plan.n_nodes)
    layers = model.masked_layers()
    for stage, layer, edges in zip(plan.stages, layers, model._entry_edges, strict=True):
        _, _, values, alive = layer.entries()
        weight[edges] = values.double().cpu().numpy()
        live[edges] = alive.cpu().numpy()
        bias[stage.start : stage.stop] = layer.bias.detach().double().cpu().numpy()
    return weight, live, bias


def _scores(
    plan: Plan, weight: np.ndarray, live: np.ndarray, norm: str, direction: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return the hidden units' buffer positions (in node order) and their scores."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}; got {norm!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}; got {direction!r}")
    size = np.where(live, np.abs(weight) if norm == "l1" else weight * weight, 0.0)
    total = np.zeros(plan.n_nodes)
    if direction != "out":
        total += np.bincount(plan.dst, weights=size, minlength=plan.n_nodes)
    if direction != "in":
        total += np.bincount(plan.src, weights=size, minlength=plan.n_nodes)
    if norm == "l2":
        total = np.sqrt(total)
    positions = np.array([p for p in plan.order.tolist() if plan.role[p] == HIDDEN], dtype=np.int64)
    return positions, total[positions]


def _unprotected(plan: Plan, live: np.ndarray, order: np.ndarray, count: int) -> np.ndarray:
    """Take up to ``count`` units from ``order``, skipping any that would cut off an output."""
    is_output = np.zeros(plan.n_nodes, dtype=bool)
    is_output[plan.outputs] = True
    into_output = live & is_output[plan.dst]
    remaining = np.bincount(plan.dst[into_output], minlength=plan.n_nodes)
    feeds: dict[int, list[int]] = {}
    for u, v in zip(plan.src[into_output].tolist(), plan.dst[into_output].tolist(), strict=True):
        feeds.setdefault(u, []).append(v)
    chosen: list[int] = []
    for p in order.tolist():
        if len(chosen) == count:
            break
        fed = feeds.get(p)
        if fed is not None:
            if (remaining[fed] == 1).any():
                continue
            remaining[fed] -= 1  # a DiGraph has one edge per pair: no repeats in fed
        chosen.append(p)
    return np.array(chosen, dtype=np.int64)


def _reach(model: MaskedDAG, live: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which nodes an input reaches, and which reach an output (one sweep each way)."""
    plan = model._plan
    reached = np.zeros(plan.n_nodes, dtype=bool)
    reached[: plan.n_inputs] = True
    reaching = np.zeros(plan.n_nodes, dtype=bool)
    reaching[plan.outputs] = True
    edges = [stage.edge_ids[live[stage.edge_ids]] for stage in plan.stages]
    for e in edges:
        reached[plan.dst[e[reached[plan.src[e]]]]] = True
    for e in reversed(edges):
        reaching[plan.src[e[reaching[plan.dst[e]]]]] = True
    return reached, reaching


def _constants(
    model: MaskedDAG, weight: np.ndarray, live: np.ndarray, bias: np.ndarray, reached: np.ndarray
) -> np.ndarray:
    """Return the value of every node no input reaches (float64), 0 elsewhere."""
    plan = model._plan
    value = np.zeros(plan.n_nodes)
    for stage in plan.stages:
        rows = np.arange(stage.start, stage.stop)
        constant = ~reached[rows]
        if not constant.any():
            continue
        e = stage.edge_ids[live[stage.edge_ids]]
        e = e[~reached[plan.dst[e]]]  # all their live predecessors are constant too
        z = bias[rows] + np.bincount(
            plan.dst[e] - stage.start, weights=weight[e] * value[plan.src[e]], minlength=rows.size
        )
        names = np.array(stage.activations)
        for name in set(names[constant].tolist()):
            pick = constant & (names == name)
            value[rows[pick]] = ACTIVATIONS[name](torch.from_numpy(z[pick])).numpy()
    return value


def _recompiled(model: MaskedDAG, H: nx.DiGraph) -> MaskedDAG:
    """Compile ``H`` like ``model``: its layout (if one for all layers), dtype, device, engine."""
    layers = model.masked_layers()
    layouts = {layer.layout for layer in layers}
    layout = layouts.pop() if len(layouts) == 1 else "auto"
    block_size = next((layer.block_size for layer in layers if layer.layout == "block"), 32)
    device = model.structure_fingerprint.device
    new = compile(H, layout=layout, block_size=block_size, dtype=model.dtype, device=device)
    new.engine = model.engine
    return new.train(model.training)
