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
