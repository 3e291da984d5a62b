"""Pruning schedules, pruning to a target sparsity, and lottery-ticket rewinding.

A schedule is the list of **total** sparsities a model should have after each
pruning round; sparsity is the fraction of the compiled structure's
connections that are masked (:func:`~graphnn.prune.core.sparsity`).

* :class:`OneShot`: one round, straight to the target.
* :class:`Iterative`: the same fraction of the remaining weights each round.
* :class:`Gradual`: the cubic schedule of Zhu & Gupta (2017).

:func:`prune_to` brings a model to a target with any pruning method (masks
only shrink), and :func:`snapshot` / :func:`rewind` reset the surviving
weights to earlier values, as in the lottery-ticket experiments (Frankle &
Carbin 2019; rewinding to an early training step, Frankle et al. 2020).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator

import torch
from torch import nn

from graphnn.prune.core import SCOPES, masked_layers_of
from graphnn.prune.saliency import magnitude

__all__ = ["Gradual", "Iterative", "OneShot", "Schedule", "prune_to", "rewind", "snapshot"]


def _check_target(target: object, name: str = "target") -> float:
    if isinstance(target, bool) or not isinstance(target, numbers.Real):
        raise TypeError(f"{name} must be a sparsity (a float in [0, 1)), got {target!r}")
    if not 0.0 <= target < 1.0:
        raise ValueError(
            f"{name}={target} must lie in [0, 1): the fraction of connections masked "
            "(1 would leave no connection)"
        )
    return float(target)


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    return int(value)


class Schedule:
    """The total sparsity to reach after each pruning round.

    Subclasses implement :meth:`targets`; a schedule iterates over them and
    its ``len`` is the number of rounds.
    """

    def targets(self) -> list[float]:
        """Return the total sparsity after each round, in ``[0, 1)`` and non-decreasing."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[float]:
        return iter(self.targets())

    def __len__(self) -> int:
        return len(self.targets())


class OneShot(Schedule):
    """Prune once, straight to ``target``.

    Parameters
    ----------
    target : float
        Total sparsity, in ``[0, 1)``.

    Raises
    ------
    ValueError, TypeError
        If ``target`` is not a float in ``[0, 1)``.

    Examples
    --------
    >>> list(OneShot(0.8))
    [0.8]
    """

    def __init__(self, target: float) -> None:
        self.target = _check_target(target)

    def targets(self) -> list[float]:
        """Return ``[target]``."""
        return [self.target]

    def __repr__(self) -> str:
        return f"OneShot(target={self.target})"


class Iterative(Schedule):
    """Prune the same fraction ``p`` of the remaining weights in each of ``rounds`` rounds.

    ``p`` is chosen so that ``(1 - p) ** rounds == 1 - target``: after round
    ``k`` the sparsity is ``1 - (1 - target) ** (k / rounds)``, and the last
    round reaches ``target`` exactly (Han et al. 2015; Frankle & Carbin 2019).

    Parameters
    ----------
    target : float
        Total sparsity after the last round, in ``[0, 1)``.
    rounds : int
        Number of rounds, at least 1.

    Attributes
    ----------
    rate : float
        ``p``, the fraction of the live weights pruned in every round.

    Raises
    ------
    ValueError, TypeError
        If ``target`` is not in ``[0, 1)`` or ``rounds`` is not an int >= 1.

    Examples
    --------
    >>> schedule = Iterative(0.75, 2)
    >>> schedule.rate, list(schedule)
    (0.5, [0.5, 0.75])
    """

    def __init__(self, target: float, rounds: int) -> None:
        self.target = _check_target(target)
        self.rounds = _check_count(rounds, "rounds")
        if self.rounds < 1:
            raise ValueError(f"rounds must be at least 1, got {rounds}")
        self.rate = 1.0 - (1.0 - self.target) ** (1.0 / self.rounds)

    def targets(self) -> list[float]:
        """Return ``1 - (1 - target) ** (k / rounds)`` for ``k = 1 .. rounds``."""
        keep = 1.0 - self.target
        return [1.0 - keep ** (k / self.rounds) for k in range(1, self.rounds)] + [self.target]

    def __repr__(self) -> str:
        return f"Iterative(target={self.target}, rounds={self.rounds})"


class Gradual(Schedule):
    r"""The gradual (cubic) pruning schedule of Zhu & Gupta (2017).

    The sparsity rises from ``initial`` :math:`s_i` at step ``start``
    :math:`t_0` to ``target`` :math:`s_f` over ``steps`` :math:`n` pruning
    steps :math:`t = t_0 + k \Delta t`, :math:`k = 1 .. n`:

    .. math::

        s_t = s_f + (s_i - s_f) \left(1 - \frac{t - t_0}{n \Delta t}\right)^3

    so it prunes fast while many redundant weights remain and slowly near the
    end.  The schedule yields :math:`s_t` at the ``n`` pruning steps (the
    rounds); :meth:`at` evaluates it at any training step.

    Parameters
    ----------
    target : float
        Final sparsity :math:`s_f`, in ``[0, 1)``.
    steps : int
        Number of pruning steps :math:`n`, at least 1.
    initial : float, default 0.0
        Sparsity :math:`s_i` at ``start``, in ``[0, target]``.
    start : int, default 0
        Training step :math:`t_0` at which pruning starts (``>= 0``).
    frequency : int, default 1
        Training steps :math:`\Delta t` between pruning steps (``>= 1``).

    Raises
    ------
    ValueError, TypeError
        For a sparsity outside ``[0, 1)``, ``initial > target``, ``steps < 1``,
        ``start < 0`` or ``frequency < 1``.

    Examples
    --------
    >>> schedule = Gradual(0.875, steps=2)
    >>> list(schedule)
    [0.765625, 0.875]
    >>> schedule = Gradual(0.9, steps=4, start=100, frequency=10)
    >>> schedule.pruning_steps()
    [110, 120, 130, 140]
    >>> schedule.at(0), schedule.at(140), schedule.at(1000)
    (0.0, 0.9, 0.9)

    References
    ----------
    .. [1] M. Zhu and S. Gupta, "To prune, or not to prune: exploring the
       efficacy of pruning for model compression", arXiv:1710.01878, 2017
       (ICLR 2018 workshop), eq. (1).
    """

    def __init__(
        self, target: float, steps: int, initial: float = 0.0, start: int = 0, frequency: int = 1
    ) -> None:
        self.target = _check_target(target)
        self.initial = _check_target(initial, "initial")
        if self.initial > self.target:
            raise ValueError(f"initial={initial} must not exceed target={target}")
        self.steps = _check_count(steps, "steps")
        self.start = _check_count(start, "start")
        self.frequency = _check_count(frequency, "frequency")
        for name, value, low in (
            ("steps", steps, 1),
            ("start", start, 0),
            ("frequency", frequency, 1),
        ):
            if value < low:
                raise ValueError(f"{name} must be at least {low}, got {value}")

    def at(self, step: int) -> float:
        """Return the sparsity at training step ``step``.

        ``initial`` up to ``start``, the cubic in between and ``target`` after
        the last pruning step.
        """
        progress = (step - self.start) / (self.steps * self.frequency)
        progress = min(max(progress, 0.0), 1.0)
        if progress == 1.0:
            return self.target
        return self.target + (self.initial - self.target) * (1.0 - progress) ** 3

    def pruning_steps(self) -> list[int]:
        """Return the training steps at which the model is pruned, ``t0 + k * frequency``."""
        return [self.start + k * self.frequency for k in range(1, self.steps + 1)]

    def targets(self) -> list[float]:
        """Return the sparsity at each pruning step."""
        return [self.at(t) for t in self.pruning_steps()]

    def __repr__(self) -> str:
        return (
            f"Gradual(target={self.target}, steps={self.steps}, initial={self.initial}, "
            f"start={self.start}, frequency={self.frequency})"
        )


def _connections(model: nn.Module) -> tuple[int, int, int]:
    """Return the model's (live connections, all connections, masked layers)."""
    layers = masked_layers_of(model)
    live = sum(layer.weight_count for layer in layers)
    total = sum(int(layer.entry_positions().numel()) for layer in layers)
    return live, total, len(layers)


def prune_to(
    model: nn.Module,
    target: float,
    method: Callable[..., nn.Module] = magnitude,
    *,
    scope: str = "global",
    **method_options,
) -> nn.Module:
    """Prune ``model`` in place until its total sparsity is ``target``.

    The number of live connections to remove is computed so that exactly
    ``round((1 - target) * connections)`` stay live (the nearest count to
    the target); connections pruned before stay pruned, and a model already
    at or beyond the target is left as it is.

    Parameters
    ----------
    model : torch.nn.Module
        A compiled model or any module with masked layers.
    target : float
        Total sparsity, in ``[0, 1)``.
    method : callable, default :func:`~graphnn.prune.magnitude`
        Any pruning method with the signature of graphnn's
        (``method(model, amount, *, scope=..., ...)``), e.g. ``random``,
        ``snip``.
    scope : {"global", "layer"}, default "global"
        ``"global"``: one ranking over all layers.  ``"layer"``: every layer
        loses the same fraction of its live connections (to rounding); then
        at most as many connections as there are layers are pruned by the
        global ranking, so that the total is exact.
    **method_options
        Passed to ``method`` (``seed=`` for ``random``, ``data=`` and
        ``loss=`` for ``snip``, ``protect=``, ...).

    Returns
    -------
    torch.nn.Module
        ``model``.

    Raises
    ------
    ValueError, TypeError
        For a target outside ``[0, 1)``, an unknown scope, ``amount`` or
        ``threshold`` among the options, or a method that did not prune the
        number of connections it was asked to.

    Examples
    --------
    >>> from graphnn.nn import MaskedFFN
    >>> from graphnn.prune import random, sparsity
    >>> model = prune_to(MaskedFFN(8, 4, [8]), 0.5)
    >>> sparsity(model)
    0.5
    >>> sparsity(prune_to(model, 0.75, random, scope="layer", seed=0))
    0.75
    """
    target = _check_target(target)
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}; got {scope!r}")
    clash = sorted({"amount", "threshold"} & set(method_options))
    if clash:
        raise TypeError(f"prune_to computes the amount itself; do not pass {', '.join(clash)}")
    live, total, n_layers = _connections(model)
    count = live - round((1.0 - target) * total)
    if count <= 0:
        return model
    if SCOPES[scope] == "global":
        method(model, count, scope="global", **method_options)
    else:
        # Each layer prunes round(fraction * its live); aiming n_layers / 2 low keeps the sum of
        # the roundings at most ``count``, and the global ranking prunes the few left over.
        fraction = max(0.0, (count - n_layers / 2) / live)
        method(model, fraction, scope="layer", **method_options)
        rest = _connections(model)[0] - (live - count)
        if rest > 0:
            method(model, rest, scope="global", **method_options)
    pruned = live - _connections(model)[0]
    if pruned != count:
        name = getattr(method, "__name__", repr(method))
        raise ValueError(
            f"method {name} pruned {pruned} connections where {count} were asked for; "
            "prune_to needs a method that prunes exactly `amount` live connections"
        )
    return model


def snapshot(model: nn.Module) -> dict[str, list[torch.Tensor | None]]:
    """Return copies of the weights and biases of every masked layer.

    Take it at initialisation, or at any training step ``k`` in your own
    loop, and hand it to :func:`rewind` later.

    Returns
    -------
    dict
        ``{"weights": [...], "biases": [...]}``, one detached clone per masked
        layer (``None`` for a layer without bias).

    Examples
    --------
    >>> from graphnn.nn import MaskedFFN
    >>> state = snapshot(MaskedFFN(4, 2, [3]))
    >>> [tuple(w.shape) for w in state["weights"]]
    [(3, 4), (2, 3)]
    """
    layers = masked_layers_of(model)
    return {
        "weights": [layer.weight.detach().clone() for layer in layers],
        "biases": [None if layer.bias is None else layer.bias.detach().clone() for layer in layers],
    }


def _check_snapshot(model: nn.Module, state: object) -> list:
    """Return the masked layers of ``model`` after checking that ``state`` fits them."""
    layers = masked_layers_of(model)
    if not isinstance(state, dict) or not {"weights", "biases"} <= set(state):
        raise TypeError("a snapshot is the dict returned by graphnn.prune.snapshot(model)")
    weights, biases = state["weights"], state["biases"]
    if len(weights) != len(layers) or len(biases) != len(layers):
        raise ValueError(
            f"the snapshot has {len(weights)} layers but the model has {len(layers)} masked "
            "layers; it was taken from another model"
        )
    for k, (layer, w, b) in enumerate(zip(layers, weights, biases, strict=True)):
        mine = (tuple(layer.weight.shape), None if layer.bias is None else tuple(layer.bias.shape))
        theirs = (tuple(w.shape), None if b is None else tuple(b.shape))
        if mine != theirs:
            raise ValueError(
                f"layer {k}: the snapshot holds weight/bias shapes {theirs} but the model has "
                f"{mine}; it was taken from another model"
            )
    return layers


@torch.no_grad()
def rewind(model: nn.Module, state: dict[str, list[torch.Tensor | None]]) -> nn.Module:
    """Reset the live weights and all biases of ``model`` to a :func:`snapshot`, in place.

    Masked weights stay masked and keep their stored values: this is the
    lottery-ticket "reset the surviving weights" step.

    Parameters
    ----------
    model : torch.nn.Module
        The model the snapshot was taken from (after any pruning).
    state : dict
        What :func:`snapshot` returned.

    Returns
    -------
    torch.nn.Module
        ``model``.

    Raises
    ------
    ValueError, TypeError
        If ``state`` is not a snapshot, or one of another model (the number
        of masked layers or a weight or bias shape differs).

    Examples
    --------
    >>> import torch
    >>> from graphnn.nn import MaskedFFN
    >>> model = MaskedFFN(4, 2, [3])
    >>> state = snapshot(model)
    >>> layer = model.masked_layers()[0]
    >>> with torch.no_grad():
    ...     _ = layer.weight.add_(1.0)
    >>> torch.equal(rewind(model, state).masked_layers()[0].weight, state["weights"][0])
    True
    """
    layers = _check_snapshot(model, state)
    for layer, weight, bias in zip(layers, state["weights"], state["biases"], strict=True):
        saved = weight.to(device=layer.weight.device, dtype=layer.weight.dtype)
        layer.weight.copy_(torch.where(layer.mask, saved, layer.weight))
        if bias is not None:
            layer.bias.copy_(bias)
    return model
