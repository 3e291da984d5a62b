import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from graphnn.sparse3d.data.dataset import SparseDataset
from graphnn.sparse3d.retrieval import (
    MININGS,
    RetrievalMetrics,
    TripletLoss,
    embed,
    pairwise_distances,
    retrieval_metrics,
    triplet_loss,
)
from tests.sparse3d.training.workloads import network, pooled_embeddings, shapes

# ---------------------------------------------------------------- references


def reference_triplet_loss(x, labels, margin, distance, mining):
    """Loops over triplets, straight from the definitions in the docstring."""
    d = pairwise_distances(torch.as_tensor(x, dtype=torch.float64), distance).tolist()
    y = list(labels)
    n = len(y)
    pos = {a: [p for p in range(n) if p != a and y[p] == y[a]] for a in range(n)}
    neg = {a: [m for m in range(n) if y[m] != y[a]] for a in range(n)}
    losses = []
    for a in range(n):
        if mining == "hard":
            if pos[a] and neg[a]:
                hp = max(d[a][p] for p in pos[a])
                hn = min(d[a][m] for m in neg[a])
                losses.append(max(0.0, hp - hn + margin))
            continue
        for p in pos[a]:
            if mining == "all":
                losses += [max(0.0, d[a][p] - d[a][m] + margin) for m in neg[a]]
            elif neg[a]:
                farther = [d[a][m] for m in neg[a] if d[a][m] > d[a][p]]
                chosen = min(farther) if farther else max(d[a][m] for m in neg[a])
                losses.append(max(0.0, d[a][p] - chosen + margin))
    if mining == "all":
        losses = [v for v in losses if v > 0]
    return sum(losses) / len(losses) if losses else 0.0


def reference_metrics(x, labels, distance):
    """One query at a time, with the PSB formulas written out."""
    d = pairwise_distances(torch.as_tensor(x, dtype=torch.float64), distance).numpy()
    y = np.asarray(labels)
    n = len(y)
    rows = []
    for q in range(n):
        others = sorted((i for i in range(n) if i != q), key=lambda i: (d[q, i], i))
        g = [int(y[i] == y[q]) for i in others]
        r = sum(g)
        if r == 0:
            continue
        k = min(32, n - 1)
        p_at_k, r_at_k = sum(g[:k]) / k, sum(g[:k]) / r
        e = 0.0 if p_at_k == 0 else 2 / (1 / p_at_k + 1 / r_at_k)
        dcg = g[0]
        for i in range(2, n):
            dcg += g[i - 1] / math.log2(i)
        ideal = 1.0
        for i in range(2, r + 1):
            ideal += 1 / math.log2(i)
        precisions = [sum(g[: i + 1]) / (i + 1) for i in range(n - 1) if g[i]]
        rows.append(
            [g[0], sum(g[:r]) / r, sum(g[: 2 * r]) / r, e, dcg / ideal, sum(precisions) / r]
        )
    return np.mean(rows, axis=0), len(rows)


def as_array(m):
    return np.array(list(m.as_dict().values()))


# ------------------------------------------------------------ triplet loss

# Class 0 at 0 and 1, class 1 at 1.5 and 4, margin 1.  Distances:
# d01 = 1, d02 = 1.5, d03 = 4, d12 = 0.5, d13 = 3, d23 = 2.5.
LINE = torch.tensor([[0.0], [1.0], [1.5], [4.0]])
LINE_LABELS = torch.tensor([0, 0, 1, 1])


@pytest.mark.parametrize(
    ("mining", "expected"),
    [
        # all: (0,1,2) 0.5, (0,1,3) 0, (1,0,2) 1.5, (1,0,3) 0,
        #      (2,3,0) 2, (2,3,1) 3, (3,2,0) 0, (3,2,1) 0.5 -> 5 active, 7.5 / 5
        ("all", 1.5),
        # hard: anchor 0: 1 - 1.5 + 1 = 0.5; anchor 1: 1 - 0.5 + 1 = 1.5;
        #       anchor 2: 2.5 - 0.5 + 1 = 3; anchor 3: 2.5 - 3 + 1 = 0.5 -> 5.5 / 4
        ("hard", 1.375),
        # semi-hard: (0,1): closest negative beyond 1 is 1.5 -> 0.5;
        #   (1,0): beyond 1 is 3 -> 0; (2,3): none beyond 2.5, farthest 1.5 -> 2;
        #   (3,2): beyond 2.5 is 3 -> 0.5 -> 3 / 4
        ("semi-hard", 0.75),
    ],
)
def test_triplet_loss_l2_by_hand(mining, expected):
    loss = triplet_loss(LINE, LINE_LABELS, margin=1.0, distance="l2", mining=mining)
    assert loss.item() == pytest.approx(expected)
    module = TripletLoss(margin=1.0, distance="l2", mining=mining)
    assert module(LINE, LINE_LABELS).item() == pytest.approx(expected)


# Class 0: (3, 0) and (0, 1); class 1: (-1, 0).  Cosine distances d01 = 1, d02 = 2, d12 = 1.
# Triplets (0,1,2): 1 - 2 + 0.2 < 0;  (1,0,2): 1 - 1 + 0.2 = 0.2.
@pytest.mark.parametrize(
    ("mining", "expected"),
    [
        ("all", 0.2),  # one active triplet
        ("hard", 0.1),  # anchors 0 and 1 give 0 and 0.2
        ("semi-hard", 0.1),  # (1,0): no negative beyond 1 (strictly), farthest is 1 -> 0.2
    ],
)
def test_triplet_loss_cosine_by_hand(mining, expected):
    x = torch.tensor([[3.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    loss = triplet_loss(x, torch.tensor([0, 0, 1]), margin=0.2, mining=mining)
    assert loss.item() == pytest.approx(expected)


@pytest.mark.parametrize("distance", ["cosine", "l2"])
@pytest.mark.parametrize("mining", MININGS)
def test_triplet_loss_gradient_finite_at_identical_embeddings(distance, mining):
    x = torch.ones(4, 3, requires_grad=True)
    loss = triplet_loss(x, torch.tensor([0, 0, 1, 1]), margin=0.3, distance=distance, mining=mining)
    assert loss.item() == pytest.approx(0.3)
    loss.backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("distance", ["cosine", "l2"])
@pytest.mark.parametrize("mining", MININGS)
def test_triplet_loss_gradcheck(distance, mining):
    x = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0, 0, 1, 1, 2, 2])

    def loss(x):
        return triplet_loss(x, labels, margin=0.5, distance=distance, mining=mining)

    assert torch.autograd.gradcheck(loss, (x.requires_grad_(),))


@pytest.mark.parametrize("mining", MININGS)
@pytest.mark.parametrize("labels", [[0, 0, 0], [0, 1, 2], [5]])
def test_triplet_loss_without_triplets_is_zero_with_grad(mining, labels):
    x = torch.randn(len(labels), 2, requires_grad=True)
    loss = triplet_loss(x, torch.tensor(labels), mining=mining)
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert (x.grad == 0).all()


@given(
    st.lists(st.integers(0, 2), min_size=2, max_size=8),
    st.sampled_from(["cosine", "l2"]),
    st.sampled_from(MININGS),
    st.floats(0.0, 2.0),
    st.integers(0, 2**16),
)
def test_triplet_loss_matches_reference(labels, distance, mining, margin, seed):
    x = torch.randn(
        len(labels), 3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    )
    loss = triplet_loss(x, torch.tensor(labels), margin, distance, mining)
    expected = reference_triplet_loss(x, labels, margin, distance, mining)
    assert loss.item() == pytest.approx(expected, abs=1e-12)


@given(
    st.lists(st.integers(1, 4), min_size=2, max_size=4),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.sampled_from(MININGS),
    st.integers(0, 2**16),
)
def test_triplet_loss_zero_when_classes_separated_beyond_margin(sizes, margin, width, mining, seed):
    # Class k lies in [k * gap, k * gap + width]: any two classes are more than width + margin
    # apart, while two items of one class are at most width apart.
    rng = np.random.default_rng(seed)
    gap = 2 * width + margin + 0.1
    x = np.concatenate([k * gap + width * rng.random(size) for k, size in enumerate(sizes)])
    labels = np.repeat(np.arange(len(sizes)), sizes)
    loss = triplet_loss(torch.tensor(x)[:, None], torch.tensor(labels), margin, "l2", mining)
    assert loss.item() == 0.0


def test_triplet_loss_repr():
    assert repr(TripletLoss()) == "TripletLoss(margin=0.2, distance='cosine', mining='all')"


def test_triplet_loss_errors():
    x, y = torch.zeros(3, 2), torch.tensor([0, 0, 1])
    with pytest.raises(ValueError, match=r"embeddings must have shape \[B, D\], got shape \(3,\)"):
        triplet_loss(torch.zeros(3), y)
    with pytest.raises(ValueError, match=r"labels must have shape \[3\].*got shape \(2,\)"):
        triplet_loss(x, torch.tensor([0, 1]))
    with pytest.raises(TypeError, match=r"labels must be integers.*torch\.float32"):
        triplet_loss(x, y.float())
    with pytest.raises(ValueError, match=r"margin must be a finite number >= 0, got -0\.1"):
        triplet_loss(x, y, margin=-0.1)
    with pytest.raises(ValueError, match=r"distance must be one of.*got 'l1'"):
        triplet_loss(x, y, distance="l1")
    with pytest.raises(ValueError, match=r"mining must be one of.*got 'easy'"):
        triplet_loss(x, y, mining="easy")
    with pytest.raises(ValueError, match="margin must be a finite number >= 0, got nan"):
        TripletLoss(margin=float("nan"))
    with pytest.raises(ValueError, match="distance must be one of"):
        TripletLoss(distance="dot")
    with pytest.raises(ValueError, match="mining must be one of"):
        TripletLoss(mining="random")


# ---------------------------------------------------------------- metrics


def test_metrics_by_hand():
    # Items 0..4 at 0, 1, 2, 5, 6 on a line; classes A A B A B.  Rankings (others by
    # distance, the tie of query 1 between items 0 and 2 broken by index) and G:
    #   q0 (A, R=2): 1A 2B 3A 4B -> 1 0 1 0     q1 (A, R=2): 0A 2B 3A 4B -> 1 0 1 0
    #   q2 (B, R=1): 1A 0A 3A 4B -> 0 0 0 1     q3 (A, R=2): 4B 2B 1A 0A -> 0 0 1 1
    #   q4 (B, R=1): 3A 2B 1A 0A -> 0 1 0 0
    # NN = 2/5.  FT (top R): 1/2, 1/2, 0, 0, 0 -> 1/5.  ST (top 2R): 1, 1, 0, 1, 1 -> 4/5.
    # E over the top min(32, 4) = 4: P = R/4, recall 1, E = 2R/(4+R): 2/3, 2/3, 2/5, 2/3, 2/5.
    # DCG weights 1, 1, 1/log2 3, 1/2; ideal 2 (R=2) or 1 (R=1):
    #   (1 + 1/log2 3)/2 twice, 1/2, (1/log2 3 + 1/2)/2, 1.
    # AP: (1 + 2/3)/2 twice, 1/4, (1/3 + 2/4)/2, 1/2 -> mAP = 34/60.
    x = torch.tensor([[0.0], [1.0], [2.0], [5.0], [6.0]])
    m = retrieval_metrics(x, torch.tensor([0, 0, 1, 0, 1]), distance="l2", per_query=True)
    w = 1 / math.log2(3)
    dcg = [(1 + w) / 2, (1 + w) / 2, 0.5, (w + 0.5) / 2, 1.0]
    assert m.nearest_neighbor == pytest.approx(0.4)
    assert m.first_tier == pytest.approx(0.2)
    assert m.second_tier == pytest.approx(0.8)
    assert m.e_measure == pytest.approx((3 * 2 / 3 + 2 * 2 / 5) / 5)
    assert m.dcg == pytest.approx(sum(dcg) / 5)
    assert m.mean_average_precision == pytest.approx(34 / 60)
    assert m.queries == 5
    np.testing.assert_allclose(m.per_query["dcg"], dcg)
    np.testing.assert_allclose(
        m.per_query["mean_average_precision"], [5 / 6, 5 / 6, 1 / 4, 5 / 12, 1 / 2]
    )
    np.testing.assert_array_equal(m.per_query["nearest_neighbor"], [1, 1, 0, 0, 0])


def test_metrics_cosine_by_hand_and_printable():
    # Angles 0, 10, 100, 110 degrees (classes A A B B), lengths varied: every query's nearest
    # item is its partner, so NN = FT = DCG = mAP = 1; ST = 1; E over 3 results: 2*1/(3+1).
    angles = np.radians([0.0, 10.0, 100.0, 110.0])
    x = np.stack([np.cos(angles), np.sin(angles)], 1) * np.array([[1.0], [2.0], [3.0], [0.5]])
    m = retrieval_metrics(x, np.array([0, 0, 1, 1]))
    np.testing.assert_allclose(as_array(m), [1, 1, 1, 0.5, 1, 1])
    assert m.per_query is None
    assert str(m) == (
        "NN 1.0000  FT 1.0000  ST 1.0000  E 0.5000  DCG 1.0000  mAP 1.0000  (4 queries)"
    )
    assert list(m.as_dict()) == [
        "nearest_neighbor",
        "first_tier",
        "second_tier",
        "e_measure",
        "dcg",
        "mean_average_precision",
    ]


@pytest.mark.parametrize("distance", ["cosine", "l2"])
def test_perfect_embeddings(distance):
    # Two classes of 33 (R = 32 = K): every measure, the E-measure included, is 1.
    rng = np.random.default_rng(0)
    centers = np.array([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0]])
    labels = np.repeat([0, 1], 33)
    x = centers[labels] + 0.01 * rng.standard_normal((66, 3))
    m = retrieval_metrics(x, labels, distance)
    np.testing.assert_allclose(as_array(m), 1.0)
    # Smaller classes: all 1 but E, which is at its ceiling 2R / (K + R).
    labels = np.repeat([0, 1, 2], [3, 4, 5])
    x = np.eye(3)[labels] + 0.01 * rng.standard_normal((12, 3))
    m = retrieval_metrics(x, labels, distance, per_query=True)
    r = np.bincount(labels)[labels] - 1
    np.testing.assert_allclose(m.per_query["e_measure"], 2 * r / (11 + r))
    assert [m.nearest_neighbor, m.first_tier, m.second_tier, m.dcg] == [1.0] * 4
    assert m.mean_average_precision == 1.0


def test_map_matches_sklearn():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 40)
    x = rng.standard_normal((40, 5))
    for distance in ("cosine", "l2"):
        m = retrieval_metrics(x, labels, distance, per_query=True)
        d = pairwise_distances(torch.tensor(x), distance).numpy()
        for q in range(40):
            others = np.arange(40) != q
            expected = average_precision_score(labels[others] == labels[q], -d[q, others])
            assert m.per_query["mean_average_precision"][q] == pytest.approx(expected)


def test_singleton_classes_are_skipped():
    x = torch.tensor([[0.0], [1.0], [5.0]])
    m = retrieval_metrics(x, torch.tensor([0, 0, 7]), distance="l2", per_query=True)
    assert m.queries == 2 and m.nearest_neighbor == 1.0
    assert np.isnan(m.per_query["first_tier"][2])


@st.composite
def items(draw, min_items=2, max_items=12):
    n = draw(st.integers(min_items, max_items))
    labels = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    assume(np.bincount(labels).max() > 1)
    seed = draw(st.integers(0, 2**16))
    x = np.random.default_rng(seed).standard_normal((n, 3))
    return x, np.array(labels)


def distinct_distances(x, distance):
    d = np.sort(pairwise_distances(torch.tensor(x), distance).numpy(), 1)
    return np.diff(d[:, 1:], axis=1).min(initial=1.0) > 1e-6


@given(items(), st.sampled_from(["cosine", "l2"]))
def test_metrics_match_reference(data, distance):
    x, labels = data
    m = retrieval_metrics(x, labels, distance)
    expected, queries = reference_metrics(x, labels, distance)
    np.testing.assert_allclose(as_array(m), expected, atol=1e-12)
    assert m.queries == queries


@given(items(), st.sampled_from(["cosine", "l2"]), st.randoms(use_true_random=False))
def test_metrics_invariant_under_permutation(data, distance, random):
    x, labels = data
    assume(distinct_distances(x, distance))  # ties are broken by index, which moves
    perm = list(range(len(labels)))
    random.shuffle(perm)
    m = retrieval_metrics(x, labels, distance, per_query=True)
    permuted = retrieval_metrics(x[perm], labels[perm], distance, per_query=True)
    np.testing.assert_allclose(as_array(permuted), as_array(m), atol=1e-12)
    for name, values in m.per_query.items():
        np.testing.assert_allclose(permuted.per_query[name], values[perm], atol=1e-12)


@given(items(), st.lists(st.floats(0.01, 100.0), min_size=12, max_size=12))
def test_cosine_metrics_invariant_under_scaling(data, scales):
    x, labels = data
    assume(distinct_distances(x, "cosine"))
    scaled = x * np.array(scales[: len(labels)])[:, None]
    np.testing.assert_allclose(
        as_array(retrieval_metrics(scaled, labels)), as_array(retrieval_metrics(x, labels))
    )


def test_metrics_accept_tensors_with_grad_and_ints():
    # Query 1 is alone in its class; query 2 is as far from 0 as from 1, the tie goes to 0.
    x = torch.tensor([[0.0, 1.0], [0.0, 2.0], [1.0, 0.0]], requires_grad=True)
    m = retrieval_metrics(x, [0, 1, 0])
    assert m.nearest_neighbor == 0.5 and m.queries == 2
    assert isinstance(
        retrieval_metrics(np.array([[0], [1], [5]]), [0, 0, 1], "l2"), RetrievalMetrics
    )


def test_metrics_errors():
    x, y = np.zeros((3, 2)), np.array([0, 0, 1])
    with pytest.raises(ValueError, match="at least 2 items, got 1"):
        retrieval_metrics(np.zeros((1, 2)), [0])
    with pytest.raises(ValueError, match=r"embeddings must have shape \[N, D\], got shape \(3,\)"):
        retrieval_metrics(np.zeros(3), y)
    with pytest.raises(ValueError, match=r"labels must have shape \[3\].*got shape \(4,\)"):
        retrieval_metrics(x, np.array([0, 0, 1, 1]))
    with pytest.raises(TypeError, match="labels must be integers"):
        retrieval_metrics(x, np.array([0.0, 0.0, 1.0]))
    bad = x.copy()
    bad[1, 0] = np.inf
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"embeddings must be finite; rows \[1, 2\] are not"):
        retrieval_metrics(bad, y)
    with pytest.raises(ValueError, match=r"distance must be one of.*got 'cos'"):
        retrieval_metrics(x, y, distance="cos")
    with pytest.raises(ValueError, match="every one of the 3 items is alone in its class"):
        retrieval_metrics(x, np.array([0, 1, 2]))


# --- embed ---------------------------------------------------------------------------------


def test_embed_pools_a_hidden_layer_as_training_does():
    from graphnn.sparse3d.data.batch import collate
    from graphnn.sparse3d.network.model import SparseNetwork

    data = shapes(3, kind="test", classes=["box", "sphere", "torus"], seed=4, augment_seed=1)
    torch.manual_seed(0)
    net = SparseNetwork(in_features=1).add_conv(4, 3, activation="relu").add_batch_norm()
    net.add_conv(6, 2, 2, activation=None).add_classifier(3)
    layer = [v for v, op in net.graph.nodes(data="op") if op == "conv"][-1]
    net.train()
    z, labels = embed(net, data, hidden=layer, batch_size=4)
    assert net.training  # its mode is given back
    net.eval()
    batch = collate([data[i] for i in range(len(data))])
    torch.testing.assert_close(z, pooled_embeddings(net, batch, layer))  # the reference
    assert labels.tolist() == batch.labels.tolist() == [0] * 3 + [1] * 3 + [2] * 3


def test_embed_errors():
    with pytest.raises(ValueError, match=r"embed: hidden='nope' names no layer"):
        embed(network(), shapes(1), hidden="nope")
    with pytest.raises(ValueError, match=r"batch_size must be a positive int, got 0"):
        embed(network(), shapes(1), hidden="0", batch_size=0)
    with pytest.raises(ValueError, match=r"embed: the data set .* is empty"):
        embed(network(), SparseDataset(), hidden="0")
