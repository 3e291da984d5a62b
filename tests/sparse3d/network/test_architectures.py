import numpy as np
import pytest
import torch

from graphnn.sparse3d import SparseDataset, collate, deep_c2


@pytest.mark.parametrize("batch_norm", [True, False])
def test_deep_c2_has_sparseconvnets_blocks(batch_norm):
    net = deep_c2(5, width=3, batch_norm=batch_norm)
    assert net.input_spatial_size() == 126
    G = net.to_graph()
    convs = [v for v, op in G.nodes(data="op") if op == "conv"]
    pools = [v for v, op in G.nodes(data="op") if op == "max_pool"]
    assert [G.nodes[v]["channels"] for v in convs] == [3, 6, 9, 12, 15, 18]
    assert len(pools) == 5
    assert ("batch_norm" in dict(G.nodes(data="op")).values()) == batch_norm


def test_deep_c2_classifies_a_batch_of_shapes():
    data = SparseDataset.shapes(1, render_size=12, spatial_size=126, seed=0)
    batch = collate([data[i] for i in range(3)])
    net = deep_c2(len(data.class_names), width=2)
    logits = net(batch)
    assert logits.shape == (3, len(data.class_names))
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_classes": 0}, ValueError, "n_classes must be at least 1, got 0"),
        ({"n_classes": 2, "width": 1.5}, TypeError, "width must be an int"),
        ({"n_classes": 2, "in_features": True}, TypeError, "in_features must be an int"),
    ],
)
def test_deep_c2_rejects_bad_sizes(kwargs, error, message):
    with pytest.raises(error, match=message):
        deep_c2(**kwargs)


def _same(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_deep_c2_takes_a_seed(batch_norm):
    torch.manual_seed(0)
    a = deep_c2(4, width=2, batch_norm=batch_norm, seed=3)
    torch.manual_seed(1)
    state = torch.get_rng_state()
    b = deep_c2(4, width=2, batch_norm=batch_norm, seed=3)
    assert torch.equal(torch.get_rng_state(), state)  # a seeded build leaves torch's alone
    assert _same(a, b)
    assert not _same(a, deep_c2(4, width=2, batch_norm=batch_norm, seed=4))
    g = [deep_c2(4, width=2, batch_norm=batch_norm, seed=np.random.default_rng(3)) for _ in "ab"]
    assert _same(*g)


def test_deep_c2_without_a_seed_follows_torch_manual_seed():
    torch.manual_seed(9)
    a = deep_c2(4, width=2)
    torch.manual_seed(9)
    assert _same(a, deep_c2(4, width=2))


@pytest.mark.parametrize(
    ("seed", "error"), [(-1, ValueError), ("1", TypeError), (2.0, TypeError), (False, TypeError)]
)
def test_deep_c2_rejects_a_bad_seed(seed, error):
    with pytest.raises(error, match="seed must be"):
        deep_c2(4, width=2, seed=seed)
