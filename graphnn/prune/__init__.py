"""Pruning as graph edits: saliencies, scopes, structured pruning, schedules, the research loop.

Every connection-pruning method edits the masks of a model's layers in place
(masks only shrink) and returns the model; ``model.to_graph()`` then has only
the live connections, so a pruned model is a smaller graph.  Structured
pruning (:func:`units`) and :func:`remove_dead_units` edit the graph and
return a new, smaller compiled model (``graphnn.remove_dead_units`` is the
same edit on a graph, without folding constants into biases).

Schedules (:class:`OneShot`, :class:`Iterative`, :class:`Gradual`) give the
sparsity of each round, :func:`prune_to` reaches one with any method,
:func:`snapshot`/:func:`rewind` reset survivors (lottery tickets),
:class:`Pruner` runs the prune-retrain loop and records a
:class:`PruningHistory`, and :func:`report`/:func:`plot_history` show what
is left.
"""

from graphnn.prune.core import (
    SCOPES,
    Scores,
    how_many,
    live_parameters,
    masked_layers_of,
    prune_by_scores,
    sparsity,
)
from graphnn.prune.loop import Pruner, PruningHistory, RoundRecord
from graphnn.prune.report import LayerReport, PruningReport, plot_history, report
from graphnn.prune.saliency import (
    by_saliency,
    distributed,
    distributed_scores,
    hessian_diagonal,
    magnitude,
    magnitude_scores,
    obd,
    obd_scores,
    random,
    random_scores,
    snip,
    snip_scores,
    taylor,
    taylor_scores,
)
from graphnn.prune.schedules import (
    Gradual,
    Iterative,
    OneShot,
    Schedule,
    prune_to,
    rewind,
    snapshot,
)
from graphnn.prune.structured import remove_dead_units, unit_scores, units

__all__ = [
    "SCOPES",
    "Gradual",
    "Iterative",
    "LayerReport",
    "OneShot",
    "Pruner",
    "PruningHistory",
    "PruningReport",
    "RoundRecord",
    "Schedule",
    "Scores",
    "by_saliency",
    "distributed",
    "distributed_scores",
    "hessian_diagonal",
    "how_many",
    "live_parameters",
    "magnitude",
    "magnitude_scores",
    "masked_layers_of",
    "obd",
    "obd_scores",
    "plot_history",
    "prune_by_scores",
    "prune_to",
    "random",
    "random_scores",
    "remove_dead_units",
    "report",
    "rewind",
    "snapshot",
    "snip",
    "snip_scores",
    "sparsity",
    "taylor",
    "taylor_scores",
    "unit_scores",
    "units",
]
