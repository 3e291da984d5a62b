"""The prune-retrain loop: prune to a schedule, rewind, retrain, evaluate, record.

:class:`Pruner` runs the usual experiment of the pruning literature around
the user's own training and evaluation functions:

1. optionally train the dense model first (round 0);
2. for every target of the schedule: prune to it
   (:func:`~graphnn.prune.schedules.prune_to`), optionally rewind the
   surviving weights (lottery tickets), make a fresh optimizer, retrain,
   evaluate, and record a :class:`RoundRecord` (and write the pruned
   structure as GraphML).

The records form a :class:`PruningHistory`: plain data, printable as a table.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from graphnn._table import Column, RecordLog
from graphnn.prune.core import live_parameters, masked_layers_of, sparsity
from graphnn.prune.saliency import magnitude
from graphnn.prune.schedules import (
    Iterative,
    Schedule,
    _check_snapshot,
    _check_target,
    prune_to,
    snapshot,
)
from graphnn.prune.schedules import rewind as rewind_to
from graphnn.structure.graphml import write_graphml

__all__ = ["Pruner", "PruningHistory", "RoundRecord"]

Metrics = dict[str, float]


@dataclass(frozen=True)
class RoundRecord:
    """The state of the model after one round (round 0: before any pruning).

    Attributes
    ----------
    round : int
        0 for the dense model, then 1, 2, ...
    target : float
        The schedule's sparsity for this round (0 for round 0).
    sparsity : float
        The total sparsity reached (:func:`~graphnn.prune.core.sparsity`).
    densities : tuple of float
        Each masked layer's density (``model.densities()``).
    live_parameters : int
        Live weights plus biases (:func:`~graphnn.prune.core.live_parameters`).
    train, test : dict
        What the training and evaluation functions returned.
    graphml : pathlib.Path or None
        Where the structure of this round was written.
    """

    round: int
    target: float
    sparsity: float
    densities: tuple[float, ...]
    live_parameters: int
    train: Metrics = field(default_factory=dict)
    test: Metrics = field(default_factory=dict)
    graphml: Path | None = None

    def as_dict(self) -> dict:
        """Return the record as one flat dict: metrics as ``train_<name>`` and ``test_<name>``."""
        data = asdict(self)
        data["densities"] = list(self.densities)
        data["graphml"] = None if self.graphml is None else str(self.graphml)
        for split in ("train", "test"):
            data.update({f"{split}_{name}": value for name, value in data.pop(split).items()})
        return data


class PruningHistory(RecordLog[RoundRecord]):
    """The records of a pruning run, one per round; printable as a table.

    Like every log of graphnn, a sequence of records printed as one table:
    iterate over it, index it, take its ``len``, or flatten it with
    ``as_dicts()`` (one :meth:`RoundRecord.as_dict` per round).

    Attributes
    ----------
    records : list of RoundRecord
        The rounds, in order.

    Examples
    --------
    >>> history = PruningHistory([RoundRecord(0, 0.0, 0.0, (1.0,), 10, test={"accuracy": 0.9})])
    >>> print(history)
    round  sparsity  live params  test_accuracy
        0    0.0000           10         0.9000
    >>> history.as_dicts()[0]["test_accuracy"]
    0.9
    """

    def metric_names(self) -> list[str]:
        """Return the ``train_*`` and ``test_*`` keys of the rounds, in order of appearance."""
        names: dict[str, None] = {}
        for split in ("train", "test"):
            for record in self.records:
                names.update({f"{split}_{name}": None for name in getattr(record, split)})
        return list(names)

    def columns(self) -> list[Column]:
        """Return the printed columns: round, sparsity, live params, then every metric."""
        metrics = [Column(name, name) for name in self.metric_names()]
        return [
            Column("round", "round"),
            Column("sparsity", "sparsity"),
            Column("live params", "live_parameters"),
            *metrics,
        ]


def _metrics(value: object, source: str) -> Metrics:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{source} must return a dict of metrics (or None), got {value!r}")
    return dict(value)


def _schedule_targets(schedule: Schedule | Iterable[float]) -> list[float]:
    if isinstance(schedule, str) or not isinstance(schedule, Schedule | Iterable):
        raise TypeError(
            f"schedule must be a Schedule (OneShot, Iterative, Gradual) or a sequence of "
            f"sparsities, got {schedule!r}"
        )
    targets = [_check_target(t, "a schedule's target") for t in schedule]
    if not targets:
        raise ValueError("the schedule has no rounds")
    return targets


class Pruner:
    """Prune a model round by round, retraining it in between.

    Parameters
    ----------
    model : torch.nn.Module
        A compiled model (or any module with masked layers); pruned in place.
    optimizer_factory : callable
        ``optimizer_factory(model.parameters())`` returns a fresh optimizer,
        e.g. ``functools.partial(torch.optim.Adam, lr=1e-3)``.  One is made
        for the initial training and for every round.
    train : callable
        ``train(model, optimizer)`` trains one phase and returns a dict of
        metrics (or None).
    evaluate : callable, optional
        ``evaluate(model)`` returns a dict of test metrics (or None).
    method : callable, default :func:`~graphnn.prune.magnitude`
        Any pruning method (``random``, ``snip``, ...).
    schedule : Schedule or sequence of float, default ``Iterative(0.9, 5)``
        The total sparsity after each round.
    rewind : None, "init" or dict, default None
        After each pruning, reset the surviving weights and all biases to a
        :func:`~graphnn.prune.snapshot` (lottery tickets); ``"init"`` is the
        snapshot taken here, before any training.
    export : str or os.PathLike, optional
        A folder (created if needed): the structure of every round, with its
        weights, is written to ``round-{k:02d}.graphml`` there.
    progress : bool, optional
        Show a progress bar over the rounds; by default only when stderr is a
        terminal.
    pretrain : bool, default True
        Train the dense model before the first round.
    **method_options
        Passed to :func:`~graphnn.prune.prune_to` and the method (``scope=``,
        ``seed=``, ``data=``, ...).

    Raises
    ------
    TypeError, ValueError
        For arguments that are not callables, a bad schedule or rewind; and
        during :meth:`run`, for metrics that are not dicts.

    Examples
    --------
    >>> from functools import partial
    >>> import torch
    >>> from graphnn.nn import MaskedFFN
    >>> from graphnn.prune.schedules import OneShot
    >>> _ = torch.manual_seed(0)
    >>> x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
    >>> def train(model, optimizer):
    ...     optimizer.zero_grad()
    ...     loss = torch.nn.functional.cross_entropy(model(x), y)
    ...     loss.backward()
    ...     optimizer.step()
    ...     return {"loss": loss.item()}
    >>> pruner = Pruner(MaskedFFN(4, 2, [8]), partial(torch.optim.SGD, lr=0.1), train,
    ...                 schedule=OneShot(0.5), progress=False)
    >>> history = pruner.run()
    >>> [(r.round, r.sparsity, r.live_parameters) for r in history]
    [(0, 0.0, 58), (1, 0.5, 34)]
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer_factory: Callable[..., torch.optim.Optimizer],
        train: Callable[[nn.Module, torch.optim.Optimizer], Mapping | None],
        evaluate: Callable[[nn.Module], Mapping | None] | None = None,
        *,
        method: Callable[..., nn.Module] = magnitude,
        schedule: Schedule | Iterable[float] = Iterative(0.9, 5),  # noqa: B008 - immutable
        rewind: str | dict | None = None,
        export: str | Path | None = None,
        progress: bool | None = None,
        pretrain: bool = True,
        **method_options,
    ) -> None:
        for name, value in (("optimizer_factory", optimizer_factory), ("train", train)):
            if not callable(value):
                raise TypeError(f"{name} must be callable, got {value!r}")
        for name, value in (("evaluate", evaluate), ("method", method)):
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable or None, got {value!r}")
        self.targets = _schedule_targets(schedule)
        if rewind == "init":
            rewind = snapshot(model)
        elif isinstance(rewind, dict):
            _check_snapshot(model, rewind)
        elif rewind is not None:
            raise ValueError(f"rewind must be None, 'init' or a snapshot dict, got {rewind!r}")
        self.model, self.optimizer_factory = model, optimizer_factory
        self.train, self.evaluate = train, evaluate
        self.method, self.method_options = method or magnitude, method_options
        self.schedule, self.rewind = schedule, rewind
        self.export = None if export is None else Path(export)
        self.progress, self.pretrain = progress, pretrain

    def _phase(self) -> tuple[Metrics, Metrics]:
        """Train with a fresh optimizer (returning its metrics) and evaluate."""
        optimizer = self.optimizer_factory(self.model.parameters())
        train = _metrics(self.train(self.model, optimizer), "train")
        return train, self._evaluate()

    def _evaluate(self) -> Metrics:
        return _metrics(self.evaluate(self.model), "evaluate") if self.evaluate else {}

    def _record(self, k: int, target: float, train: Metrics, test: Metrics) -> RoundRecord:
        path = None
        if self.export is not None:
            self.export.mkdir(parents=True, exist_ok=True)
            path = self.export / f"round-{k:02d}.graphml"
            write_graphml(self.model.to_graph(), path)
        return RoundRecord(
            round=k,
            target=target,
            sparsity=sparsity(self.model),
            densities=tuple(layer.density for layer in masked_layers_of(self.model)),
            live_parameters=live_parameters(self.model),
            train=train,
            test=test,
            graphml=path,
        )

    def run(self) -> PruningHistory:
        """Train, then prune, rewind, retrain and evaluate round by round.

        Returns
        -------
        PruningHistory
            Round 0 (after the initial training, or as given) and one record
            per target of the schedule.
        """
        quiet = (self.progress is False) or (self.progress is None and not sys.stderr.isatty())
        train, test = self._phase() if self.pretrain else ({}, self._evaluate())
        history = PruningHistory([self._record(0, 0.0, train, test)])
        bar = tqdm(self.targets, desc="pruning", unit="round", disable=quiet)
        for k, target in enumerate(bar, start=1):
            prune_to(self.model, target, self.method, **self.method_options)
            if self.rewind is not None:
                rewind_to(self.model, self.rewind)
            train, test = self._phase()
            history.records.append(self._record(k, target, train, test))
            bar.set_postfix(sparsity=f"{history[-1].sparsity:.3f}", **_short(test))
        bar.close()
        return history


def _short(metrics: Metrics) -> dict[str, str]:
    return {k: f"{v:.4g}" for k, v in metrics.items() if isinstance(v, int | float)}
