"""Pruning as graph edits: saliencies, scopes, structured pruning, schedules.

Every method edits the masks of a model's layers in place (masks only
shrink) and returns the model; ``model.to_graph()`` then has only the live
connections, so a pruned model is a smaller graph.
"""

from graphnn.prune.core import SCOPES, Scores, masked_layers_of, prune_by_scores, sparsity
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

__all__ = [
    "SCOPES",
    "Scores",
    "by_saliency",
    "distributed",
    "distributed_scores",
    "hessian_diagonal",
    "magnitude",
    "magnitude_scores",
    "masked_layers_of",
    "obd",
    "obd_scores",
    "prune_by_scores",
    "random",
    "random_scores",
    "snip",
    "snip_scores",
    "sparsity",
    "taylor",
    "taylor_scores",
]
