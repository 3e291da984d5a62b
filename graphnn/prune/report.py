"""What pruning left: a per-layer table of a model, and a plot of a metric against sparsity.

:func:`report` tabulates a model's masked layers (shape, layout, live and
total connections, density) with the total sparsity and the live parameter
count.  :func:`plot_history` draws a metric (test accuracy by default)
against sparsity for one or several :class:`~graphnn.prune.PruningHistory`;
it needs matplotlib (``pip install graphnn[examples]``), imported only when
called and used with its non-interactive Agg canvas, so no window opens and
pyplot's global state is left alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from graphnn._figures import agg_figure
from graphnn._table import text_table
from graphnn.prune.core import live_parameters, masked_layers_of
from graphnn.prune.loop import PruningHistory

__all__ = ["LayerReport", "PruningReport", "plot_history", "report"]


@dataclass(frozen=True)
class LayerReport:
    """One masked layer in a :class:`PruningReport`.

    Attributes
    ----------
    index : int
        Position among the model's masked layers.
    out_features, in_features : int
        The layer's shape.
    layout : str
        ``"dense"``, ``"sparse"`` or ``"block"``.
    live : int
        Live connections.
    total : int
        Connections of the compiled structure in this layer (live or pruned).
    """

    index: int
    out_features: int
    in_features: int
    layout: str
    live: int
    total: int

    @property
    def density(self) -> float:
        """``live / total``: the fraction of the layer's connections still live."""
        return self.live / self.total if self.total else 0.0


@dataclass(frozen=True)
class PruningReport:
    """What :func:`report` returns: plain data, printable as a table.

    Attributes
    ----------
    layers : tuple of LayerReport
        One per masked layer.
    sparsity : float
        Masked connections over all connections (:func:`~graphnn.prune.sparsity`).
    live_parameters : int
        Live weights plus biases.
    parameters : int
        All connections plus biases (the dense count of the structure).
    """

    layers: tuple[LayerReport, ...]
    sparsity: float
    live_parameters: int
    parameters: int

    def __str__(self) -> str:
        header = ("layer", "shape", "layout", "live", "total", "density")
        rows = [
            (
                str(layer.index),
                f"{layer.out_features} x {layer.in_features}",
                layer.layout,
                str(layer.live),
                str(layer.total),
                f"{layer.density:.4f}",
            )
            for layer in self.layers
        ]
        totals = (
            f"total sparsity {self.sparsity:.4f}, "
            f"live parameters {self.live_parameters} of {self.parameters}"
        )
        return text_table(header, rows, align="rrlrrr") + "\n" + totals


def report(model: nn.Module) -> PruningReport:
    """Tabulate the masked layers of ``model`` and how much of them is left.

    Parameters
    ----------
    model : torch.nn.Module
        A compiled model or any module with masked layers.

    Returns
    -------
    PruningReport

    Raises
    ------
    ValueError
        If the model has no masked layers.

    Examples
    --------
    >>> from graphnn.nn import MaskedFFN
    >>> from graphnn.prune import magnitude
    >>> model = magnitude(MaskedFFN(4, 2, [3]), 0.5, scope="layer")
    >>> print(report(model))
    layer  shape  layout  live  total  density
        0  3 x 4  dense      6     12   0.5000
        1  2 x 3  dense      3      6   0.5000
    total sparsity 0.5000, live parameters 14 of 23
    """
    layers = tuple(
        LayerReport(
            index=k,
            out_features=layer.out_features,
            in_features=layer.in_features,
            layout=layer.layout,
            live=layer.weight_count,
            total=int(layer.entry_positions().numel()),
        )
        for k, layer in enumerate(masked_layers_of(model))
    )
    live = sum(layer.live for layer in layers)
    total = sum(layer.total for layer in layers)
    live_params = live_parameters(model)
    return PruningReport(
        layers=layers,
        sparsity=1.0 - live / total if total else 0.0,
        live_parameters=live_params,
        parameters=live_params - live + total,
    )


def plot_history(
    history: PruningHistory | Mapping[str, PruningHistory],
    path: str | os.PathLike,
    metric: str = "accuracy",
    *,
    split: str = "test",
    title: str | None = None,
) -> Path:
    """Plot ``metric`` against total sparsity for one or several pruning runs; save it.

    Parameters
    ----------
    history : PruningHistory or dict of str to PruningHistory
        One run, or several labelled runs (e.g. ``{"magnitude": h1,
        "random": h2}``) drawn on the same axes.
    path : str or os.PathLike
        Image file to write (the format follows the suffix: ``.png``,
        ``.pdf``, ``.svg``, ...).
    metric : str, default "accuracy"
        A metric name returned by the training or evaluation function.
    split : {"test", "train"}, default "test"
        Whether the metric comes from the evaluation or the training function.
    title : str, optional
        Title of the plot.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install graphnn[examples]``).
    ValueError
        If ``split`` is neither ``"test"`` nor ``"train"``, or no run has the
        metric (the message lists those it has).

    Examples
    --------
    >>> import tempfile
    >>> from graphnn.prune.loop import PruningHistory, RoundRecord
    >>> history = PruningHistory([
    ...     RoundRecord(0, 0.0, 0.0, (1.0,), 20, test={"accuracy": 0.97}),
    ...     RoundRecord(1, 0.9, 0.9, (0.1,), 4, test={"accuracy": 0.96}),
    ... ])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     plot_history(history, Path(folder) / "accuracy.png").stat().st_size > 0
    True
    """
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train', got {split!r}")
    runs = dict(history) if isinstance(history, Mapping) else {"": history}
    key = f"{split}_{metric}"
    series = {}
    for label, run in runs.items():
        points = [(r["sparsity"], r[key]) for r in run.as_dicts() if r.get(key) is not None]
        if points:
            series[label] = points
    if not series:
        available = sorted({name for run in runs.values() for name in run.metric_names()})
        raise ValueError(
            f"no round has the metric {key!r}; the histories have {available or 'no metrics'}"
        )
    figure = agg_figure("plot_history", 6.0, 4.0)
    axes = figure.add_subplot()
    for label, points in series.items():
        x, y = zip(*points, strict=True)
        axes.plot([100.0 * s for s in x], y, marker="o", label=label or None)
    axes.set_xlabel("sparsity (% of connections pruned)")
    axes.set_ylabel(f"{split} {metric}")
    axes.grid(True, alpha=0.3)
    if title:
        axes.set_title(title)
    if any(series):
        axes.legend()
    path = Path(path)
    figure.savefig(path)
    return path
