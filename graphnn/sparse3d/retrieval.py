r"""Shape retrieval: a triplet loss to train embeddings and the SHREC measures to judge them.

PySparseConvNet trained its sparse networks for shape retrieval on SHREC and
ModelNet with a triplet loss, then ranked every shape against all others.
:func:`triplet_loss` (and the module :class:`TripletLoss`) trains such
embeddings; :func:`retrieval_metrics` scores them with the measures of the
Princeton Shape Benchmark [1]_ that SHREC reports: nearest neighbour, first
and second tier, E-measure, discounted cumulative gain and mean average
precision.  :func:`embed` gives every sample's embedding at a hidden layer
of a network, the input of :func:`retrieval_metrics`.

Both take the same distances (:func:`pairwise_distances`): ``"cosine"`` is
:math:`1 - \cos(x, y)` and ``"l2"`` is the Euclidean distance.

References
----------
.. [1] P. Shilane, P. Min, M. Kazhdan and T. Funkhouser, "The Princeton Shape
   Benchmark", Shape Modeling International, 2004.
.. [2] A. Hermans, L. Beyer and B. Leibe, "In Defense of the Triplet Loss for
   Person Re-Identification", arXiv:1703.07737, 2017.
.. [3] F. Schroff, D. Kalenichenko and J. Philbin, "FaceNet: A Unified
   Embedding for Face Recognition and Clustering", CVPR 2015.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm

from graphnn._validation import check_int
from graphnn.sparse3d.tensor import SparseVoxelTensor
from graphnn.sparse3d.training.common import (
    check_setup,
    device_of,
    embeddings_of,
    hidden_module,
    quiet,
)

__all__ = [
    "DISTANCES",
    "MININGS",
    "RetrievalMetrics",
    "TripletLoss",
    "embed",
    "pairwise_distances",
    "retrieval_metrics",
    "triplet_loss",
]

#: The distances between embeddings that the loss and the metrics accept.
DISTANCES = ("cosine", "l2")
#: The ways :func:`triplet_loss` chooses triplets within a batch.
MININGS = ("all", "hard", "semi-hard")

#: How many results the E-measure looks at (Shilane et al. 2004).
E_MEASURE_RESULTS = 32

Distance = Literal["cosine", "l2"]
Mining = Literal["all", "hard", "semi-hard"]


def pairwise_distances(embeddings: Tensor, distance: Distance = "cosine") -> Tensor:
    r"""Distances between all rows of ``embeddings``, differentiable.

    Parameters
    ----------
    embeddings : Tensor
        Shape ``[B, D]``, one embedding per row.
    distance : {"cosine", "l2"}
        ``"cosine"``: :math:`1 - \cos(x_i, x_j)`, in ``[0, 2]`` (a zero row
        counts as orthogonal to everything); ``"l2"``: :math:`\lVert x_i - x_j \rVert_2`.

    Returns
    -------
    Tensor
        Shape ``[B, B]``, symmetric.

    Raises
    ------
    ValueError
        If ``embeddings`` is not 2-D or ``distance`` is unknown.

    Examples
    --------
    >>> x = torch.tensor([[3.0, 0.0], [0.0, 1.0], [0.0, 2.0]])
    >>> pairwise_distances(x, "cosine")
    tensor([[0., 1., 1.],
            [1., 0., 0.],
            [1., 0., 0.]])
    >>> pairwise_distances(x, "l2")[0]
    tensor([0.0000, 3.1623, 3.6056])

    Notes
    -----
    The Euclidean distance is taken coordinate by coordinate (no
    :math:`\lVert x\rVert^2 + \lVert y\rVert^2 - 2 x \cdot y` shortcut), so
    identical rows are exactly 0 apart, and its gradient at distance 0 is 0
    (the subgradient), never NaN.
    """
    if embeddings.dim() != 2:
        raise ValueError(f"embeddings must have shape [B, D], got shape {tuple(embeddings.shape)}")
    if distance == "cosine":
        unit = nn.functional.normalize(embeddings, dim=1)
        return (1.0 - unit @ unit.T).clamp(0.0, 2.0)
    if distance == "l2":
        # cdist's backward is 0 where the distance is 0: the safe square root.
        return torch.cdist(embeddings, embeddings, compute_mode="donot_use_mm_for_euclid_dist")
    raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")


def _check_labels(labels: Tensor | np.ndarray, n: int) -> Tensor:
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.shape[0] != n:
        raise ValueError(
            f"labels must have shape [{n}] (one per embedding), got shape {tuple(labels.shape)}"
        )
    if labels.dtype.is_floating_point or labels.dtype.is_complex:
        raise TypeError(f"labels must be integers (class indices), got dtype {labels.dtype}")
    return labels


def triplet_loss(
    embeddings: Tensor,
    labels: Tensor,
    margin: float = 0.2,
    distance: Distance = "cosine",
    mining: Mining = "all",
) -> Tensor:
    r"""Triplet loss over the triplets of a batch, :math:`\max(0, d(a, p) - d(a, n) + m)`.

    A triplet ``(a, p, n)`` is valid when ``a != p``, ``labels[a] ==
    labels[p]`` and ``labels[n] != labels[a]``.  The mining decides which
    valid triplets count:

    ``"all"`` (batch-all [2]_)
        Every valid triplet; the loss is the mean over the triplets whose
        loss is positive (the "active" ones), so easy triplets do not dilute
        it as training progresses.
    ``"hard"`` (batch-hard [2]_)
        For each anchor with a positive and a negative in the batch: its
        farthest positive and its closest negative; mean over those anchors.
    ``"semi-hard"`` (FaceNet [3]_)
        For each positive pair ``(a, p)`` with a negative in the batch: the
        closest negative *farther* than the positive, :math:`d(a, n) > d(a, p)`
        (a triplet with loss below the margin unless none lies within it);
        when every negative is closer than the positive, the farthest
        negative instead (the least hard one).  Mean over positive pairs.
        This is the rule of TensorFlow Addons' ``TripletSemiHardLoss``.

    Parameters
    ----------
    embeddings : Tensor
        Shape ``[B, D]``.
    labels : Tensor
        Shape ``[B]``, integer class of each embedding.
    margin : float
        Non-negative margin :math:`m`.
    distance : {"cosine", "l2"}
        See :func:`pairwise_distances`.
    mining : {"all", "hard", "semi-hard"}
        Which triplets count, see above.

    Returns
    -------
    Tensor
        A scalar.  A batch with no valid triplet (one class only, or no class
        with two members), or with no active triplet for ``"all"``, gives 0,
        still attached to the graph of ``embeddings`` (its gradient is 0).

    Raises
    ------
    ValueError
        If a shape does not fit, ``margin`` is negative or not finite, or
        ``distance`` or ``mining`` is unknown.
    TypeError
        If ``labels`` are not integers.

    Examples
    --------
    Two points of class 0 on a line at 0 and 1, one of class 1 at 1.5:

    >>> x = torch.tensor([[0.0], [1.0], [1.5]], requires_grad=True)
    >>> y = torch.tensor([0, 0, 1])
    >>> triplet_loss(x, y, margin=1.0, distance="l2")  # (0.5 + 1.5) / 2
    tensor(1., grad_fn=<MeanBackward0>)
    >>> triplet_loss(x, torch.tensor([0, 0, 0]), distance="l2")
    tensor(0., grad_fn=<MulBackward0>)

    Notes
    -----
    ``"all"`` builds the ``[B, B, B]`` tensor of triplet losses, the other
    minings ``[B, B]`` ones: meant for training batches (hundreds), not for
    whole data sets.  The embeddings are not checked for NaN, which would
    cost a device synchronisation; a NaN embedding gives a NaN loss.
    """
    if embeddings.dim() != 2:
        raise ValueError(f"embeddings must have shape [B, D], got shape {tuple(embeddings.shape)}")
    labels = _check_labels(labels, embeddings.shape[0]).to(embeddings.device)
    if not np.isfinite(margin) or margin < 0:
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
    if mining not in MININGS:
        raise ValueError(f"mining must be one of {MININGS}, got {mining!r}")
    dist = pairwise_distances(embeddings, distance)

    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    positive = same & ~eye  # [a, p]
    negative = ~same  # [a, n]
    zero = dist.sum() * 0.0  # the loss of a batch without triplets, on the graph

    if mining == "all":
        valid = positive[:, :, None] & negative[:, None, :]  # [a, p, n]
        losses = (dist[:, :, None] - dist[:, None, :] + margin).clamp(min=0)[valid]
        active = losses[losses > 0]
        return active.mean() if active.numel() else zero

    inf = torch.full_like(dist, torch.inf)
    if mining == "hard":
        anchors = positive.any(1) & negative.any(1)
        if not anchors.any():
            return zero
        hardest_positive = torch.where(positive, dist, -inf).amax(1)
        hardest_negative = torch.where(negative, dist, inf).amin(1)
        losses = (hardest_positive - hardest_negative + margin).clamp(min=0)
        return losses[anchors].mean()

    # semi-hard: one negative per positive pair (a, p).
    pairs = positive & negative.any(1, keepdim=True)
    if not pairs.any():
        return zero
    d_an = dist[:, None, :]  # [a, 1, n]
    farther = negative[:, None, :] & (d_an > dist[:, :, None])  # [a, p, n]
    closest_farther = torch.where(farther, d_an, inf[:, None, :]).amin(2)
    farthest = torch.where(negative, dist, -inf).amax(1, keepdim=True).expand_as(dist)
    chosen = torch.where(farther.any(2), closest_farther, farthest)
    losses = (dist - chosen + margin).clamp(min=0)
    return losses[pairs].mean()


class TripletLoss(nn.Module):
    """Module form of :func:`triplet_loss`, holding its options.

    Parameters
    ----------
    margin : float
        Non-negative margin.
    distance : {"cosine", "l2"}
        See :func:`pairwise_distances`.
    mining : {"all", "hard", "semi-hard"}
        See :func:`triplet_loss`.

    Raises
    ------
    ValueError
        If an option is out of range (checked here, not at the first call).

    Examples
    --------
    >>> loss = TripletLoss(margin=1.0, distance="l2", mining="hard")
    >>> loss
    TripletLoss(margin=1.0, distance='l2', mining='hard')
    >>> loss(torch.tensor([[0.0], [1.0], [1.5]]), torch.tensor([0, 0, 1]))
    tensor(1.)
    """

    def __init__(
        self, margin: float = 0.2, distance: Distance = "cosine", mining: Mining = "all"
    ) -> None:
        super().__init__()
        if not np.isfinite(margin) or margin < 0:
            raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
        if distance not in DISTANCES:
            raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
        if mining not in MININGS:
            raise ValueError(f"mining must be one of {MININGS}, got {mining!r}")
        self.margin = float(margin)
        self.distance = distance
        self.mining = mining

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """Loss of a batch: ``embeddings`` ``[B, D]``, integer ``labels`` ``[B]``."""
        return triplet_loss(embeddings, labels, self.margin, self.distance, self.mining)

    def extra_repr(self) -> str:
        """Return the options, for ``repr``."""
        return f"margin={self.margin}, distance={self.distance!r}, mining={self.mining!r}"


_NAMES = {
    "nearest_neighbor": "NN",
    "first_tier": "FT",
    "second_tier": "ST",
    "e_measure": "E",
    "dcg": "DCG",
    "mean_average_precision": "mAP",
}


@dataclass(frozen=True)
class RetrievalMetrics:
    """What :func:`retrieval_metrics` returns; printable.

    Attributes
    ----------
    nearest_neighbor, first_tier, second_tier, e_measure, dcg, mean_average_precision : float
        The measures, each a mean over the evaluated queries (micro average).
    queries : int
        How many queries were evaluated (items whose class has another member).
    per_query : dict of str to numpy.ndarray or None
        With ``per_query=True``: for each measure name, its value for every
        item (shape ``[N]``, NaN for an item that was not a query).
    """

    nearest_neighbor: float
    first_tier: float
    second_tier: float
    e_measure: float
    dcg: float
    mean_average_precision: float
    queries: int
    per_query: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, float]:
        """Return the six measures by field name, in the order NN, FT, ST, E, DCG, mAP."""
        return {name: getattr(self, name) for name in _NAMES}

    def __str__(self) -> str:
        values = "  ".join(f"{short} {getattr(self, name):.4f}" for name, short in _NAMES.items())
        return f"{values}  ({self.queries} queries)"


def retrieval_metrics(
    embeddings: Tensor | np.ndarray,
    labels: Tensor | np.ndarray,
    distance: Distance = "cosine",
    per_query: bool = False,
) -> RetrievalMetrics:
    r"""Princeton Shape Benchmark measures of ranking every item against all others.

    Each item is a query in turn; the others (never the query itself) are
    ranked by increasing distance, ties broken by increasing index.  With
    :math:`R = C - 1` the number of other items of the query's class (``C``
    the class size, query included) and :math:`G_i = 1` when the ``i``-th
    result is of the query's class:

    - nearest neighbour: :math:`G_1`;
    - first tier: recall in the top :math:`R`;
    - second tier: recall in the top :math:`2R` (all results if fewer);
    - E-measure: :math:`2 / (1/P + 1/R_{ec})` over the top :math:`K = 32`
      results (:math:`K = N - 1` if fewer), with precision :math:`P` and
      recall :math:`R_{ec}` there; 0 when none is relevant.  It equals
      :math:`2 h / (K + R)` with :math:`h` the hits, so it is 1 only for
      classes of 33, and at most :math:`2R/(K+R)` otherwise;
    - DCG: :math:`DCG_1 = G_1`, :math:`DCG_i = DCG_{i-1} + G_i / \log_2 i`
      over the whole ranking, divided by the ideal value (all :math:`R`
      relevant results first);
    - average precision over the whole ranking: the mean of the precision at
      the rank of each relevant result (the ``mean_average_precision`` field
      is its mean over queries).

    Every measure is the plain mean over queries (micro average: large
    classes weigh more), as in the benchmark's summary tables.

    Parameters
    ----------
    embeddings : Tensor or numpy.ndarray
        Shape ``[N, D]``, finite.  Distances are computed in float64.
    labels : Tensor or numpy.ndarray
        Shape ``[N]``, integer class of each item.
    distance : {"cosine", "l2"}
        See :func:`pairwise_distances`.
    per_query : bool
        Also return each query's values in ``RetrievalMetrics.per_query``.

    Returns
    -------
    RetrievalMetrics

    Raises
    ------
    ValueError
        If there are fewer than 2 items, a shape does not fit, an embedding is
        not finite, ``distance`` is unknown, or no class has two members.
    TypeError
        If ``labels`` are not integers.

    Examples
    --------
    Points on a line, class 0 at 0, 1 and 5, class 1 at 2 and 6:

    >>> x = torch.tensor([[0.0], [1.0], [2.0], [5.0], [6.0]])
    >>> m = retrieval_metrics(x, torch.tensor([0, 0, 1, 0, 1]), distance="l2")
    >>> m.nearest_neighbor, m.first_tier, m.second_tier, round(m.e_measure, 4)
    (0.4, 0.2, 0.8, 0.56)
    >>> print(m)
    NN 0.4000  FT 0.2000  ST 0.8000  E 0.5600  DCG 0.7393  mAP 0.5667  (5 queries)

    Notes
    -----
    A query alone in its class has no relevant result (first tier is 0/0), so
    such queries are skipped by every measure and left out of ``queries``.
    The whole ranking is one stable ``argsort`` of the ``[N, N]`` distance
    matrix: fine for a few thousand items.
    """
    x = torch.as_tensor(embeddings).detach()
    if x.dim() != 2:
        raise ValueError(f"embeddings must have shape [N, D], got shape {tuple(x.shape)}")
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"retrieval needs at least 2 items, got {n}")
    y = _check_labels(labels, n).cpu()
    if not x.dtype.is_floating_point:
        x = x.double()
    bad = ~torch.isfinite(x).all(1)
    if bad.any():
        rows = bad.nonzero().flatten().tolist()
        raise ValueError(f"embeddings must be finite; rows {rows[:10]} are not")
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
    dist = pairwise_distances(x.double(), distance).cpu()

    # Rank the others by distance, ties by index (stable sort), the query removed.
    order = torch.sort(dist, dim=1, stable=True).indices
    order = order[order != torch.arange(n)[:, None]].reshape(n, n - 1)
    hits = (y[order] == y[:, None]).double().numpy()  # G, [N, N - 1]
    relevant = hits.sum(1).astype(np.int64)  # R = C - 1
    queries = relevant > 0
    if not queries.any():
        raise ValueError(
            f"every one of the {n} items is alone in its class; retrieval needs a class of 2"
        )
    q = np.flatnonzero(queries)
    hits, r = hits[q], relevant[q]
    cum = hits.cumsum(1)  # relevant results in the top k, k = 1 .. N - 1
    rank = np.arange(1, n)
    k = min(E_MEASURE_RESULTS, n - 1)
    gain = np.ones(n - 1)
    gain[1:] = 1.0 / np.log2(rank[1:])
    ideal = gain.cumsum()
    values = {
        "nearest_neighbor": hits[:, 0],
        "first_tier": cum[np.arange(len(q)), r - 1] / r,
        "second_tier": cum[np.arange(len(q)), np.minimum(2 * r, n - 1) - 1] / r,
        "e_measure": 2.0 * cum[:, k - 1] / (k + r),
        "dcg": (hits * gain).sum(1) / ideal[r - 1],
        "mean_average_precision": (hits * cum / rank).sum(1) / r,
    }
    table = None
    if per_query:
        table = {}
        for name, value in values.items():
            table[name] = np.full(n, np.nan)
            table[name][q] = value
    return RetrievalMetrics(
        **{name: float(value.mean()) for name, value in values.items()},
        queries=len(q),
        per_query=table,
    )


def embed(
    network: nn.Module,
    dataset,
    hidden: str,
    batch_size: int = 32,
    *,
    num_workers: int = 0,
    progress: bool | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return every sample's embedding at the layer ``hidden``, and the labels.

    The embedding is what :func:`~graphnn.sparse3d.training.train.train_epoch`
    trains with ``hidden=``: a sparse output averaged over each sample's active
    sites (zeros for a sample without sites there), or a dense ``[B, D]``
    output as it is.  One pass in
    data-set order, in evaluation mode (the network's mode is restored), no
    gradients; a test set's poses are those of its ``seed`` and epoch.  Give
    the result to :func:`retrieval_metrics`.

    Parameters
    ----------
    network : torch.nn.Module
    dataset : SparseDataset
    hidden : str
        The layer: a submodule name or, for a ``SparseNetwork``, a graph node.
    batch_size : int, default 32

    Returns
    -------
    tuple of torch.Tensor
        Embeddings ``float [N, D]`` and labels ``int64 [N]`` (-1 for
        unlabeled samples), on the CPU, row ``i`` for sample ``i``.

    Raises
    ------
    ValueError, TypeError
        For an empty data set, a bad ``batch_size``, an unknown layer (the
        names are listed), a layer that does not run once per forward pass or
        gives no per-sample output.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d import SparseDataset, SubmanifoldConv3d
    >>> data = SparseDataset.shapes(2, render_size=8, classes=["box", "sphere"], seed=0)
    >>> net = torch.nn.Sequential(SubmanifoldConv3d(1, 4, 3))
    >>> z, labels = embed(net, data, hidden="0", batch_size=3)
    >>> z.shape, labels.tolist()
    (torch.Size([4, 4]), [0, 0, 1, 1])
    """
    where = "embed"
    check_setup(network, dataset, where, labelled=False)
    batch_size = check_int("batch_size", batch_size, low=1, what="a positive int")
    module = hidden_module(network, hidden, where)
    device = device_of(network, device)
    captured: list = []
    handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out))
    was_training = network.training
    network.eval()
    embeddings, labels = [], []
    loader = dataset.loader(batch_size, shuffle=False, num_workers=num_workers)
    try:
        with torch.no_grad():
            for batch in tqdm(loader, desc="embed", leave=False, disable=quiet(progress)):
                captured.clear()
                network(SparseVoxelTensor.from_batch(batch.to(device)))
                embeddings.append(embeddings_of(captured, batch.batch_size, hidden, where).cpu())
                labels.append(batch.labels.cpu())
    finally:
        handle.remove()
        network.train(was_training)
    return torch.cat(embeddings), torch.cat(labels)
