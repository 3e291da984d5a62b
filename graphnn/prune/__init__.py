"""Pruning as graph edits: saliencies, scopes, structured pruning, schedules.

Every connection-pruning method edits the masks of a model's layers in place
(masks only shrink) and returns the model; ``model.to_graph()`` then has only
the live connections, so a pruned model is a smaller graph.  Structured
pruning (:func:`units`) and :func:`remove_dead_units` edit the graph and
return a new, smaller compiled model (``graphnn.remove_dead_units`` is the
same edit on a graph, without folding constants into biases).
"""

from graphnn.prune.core import (
    SCOPES,
    Scores,
    how_many,
    masked_layers_of,
    prune_by_scores,
    sparsity,
)
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
from graphnn.prune.structured import remove_dead_units, unit_scores, units

__all__ = [
    "SCOPES",
    "Scores",
    "by_saliency",
    "distributed",
    "distributed_scores",
    "hessian_diagonal",
    "how_many",
    "magnitude",
    "magnitude_scores",
    "masked_layers_of",
    "obd",
    "obd_scores",
    "prune_by_scores",
    "random",
    "random_scores",
    "remove_dead_units",
    "snip",
    "snip_scores",
    "sparsity",
    "taylor",
    "taylor_scores",
    "unit_scores",
    "units",
]
