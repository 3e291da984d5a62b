"""The builder methods of SparseNetwork: the nodes they add, their errors, add_skip."""

import pytest
import torch

from graphnn import assert_graphs_equal
from graphnn.exceptions import NetworkGraphError
from graphnn.sparse3d.network.model import SparseNetwork


def test_builder_errors():
    with pytest.raises(ValueError, match="dimension 3"):
        SparseNetwork(dimension=2)
    net = SparseNetwork()
    with pytest.raises(ValueError, match="submanifold"):
        net.add_conv(4, 2, submanifold=True)
    with pytest.raises(ValueError, match="activation"):
        net.add_conv(4, 3, activation="swish")
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        net.add_conv(4, 3, dropout=1.5)
    with pytest.raises(ValueError, match="n_classes"):
        net.add_classifier()
    assert list(net.graph) == ["input"]  # nothing was added by the failed calls
    net.add_classifier(4)
    with pytest.raises(ValueError, match="after the classifier"):
        net.add_conv(4, 3)


def test_skip_connections(batch):
    net = SparseNetwork().add_conv(4, 3).add_conv(4, 3).add_conv(4, 3)
    net.add_skip("L1", "L5", "add").add_skip("L3", "L6", "concat")
    assert net.graph.nodes["L7"] == {"op": "concat", "channels": 8}
    assert list(net.graph.predecessors("L7")) == ["L6", "L3"]
    net.add_lenet_mp(4, 2, 1, 1, 1).add_classifier(2)
    assert net.input_spatial_size() == 2
    acts = {a.name: a for a in net.layer_activations(batch)}
    torch.testing.assert_close(acts["L6"].features, acts["L5"].features + acts["L1"].features)
    torch.testing.assert_close(
        acts["L7"].features, torch.cat([acts["L6"].features, acts["L3"].features], 1)
    )
    # residual over a strided conv: the sites (and sizes) differ
    net = SparseNetwork().add_conv(4, 3).add_conv(4, 2, 2, activation=None)
    with pytest.raises(ValueError, match="feeds layers that need input sizes"):
        net.add_skip("L1", "L2")
    assert list(net.graph) == ["input", "L0", "L1", "L2"]
    with pytest.raises(ValueError, match="upstream"):
        net.add_skip("L2", "L1")


def ops(net: SparseNetwork) -> list[str]:
    return [net.graph.nodes[v]["op"] for v in net.graph][1:]


def test_each_builder_appends_its_nodes():
    net = SparseNetwork(in_features=2, n_classes=3)
    assert net.add_conv(4, 3) is net
    assert ops(net) == ["submanifold_conv", "activation"]
    assert net.graph.nodes["L1"] == {"op": "activation", "function": "vleakyrelu", "channels": 4}
    net.add_conv(5, 2, 2, activation="ReLU", dropout=0.25, min_active_inputs=3)
    assert ops(net)[2:] == ["dropout", "conv", "activation"]
    assert net.graph.nodes["L2"] == {"op": "dropout", "p": 0.25, "channels": 4}
    assert net.graph.nodes["L3"] == {
        "op": "conv", "kernel_size": 2, "stride": 2, "min_active_inputs": 3, "channels": 5,
    }  # fmt: skip
    assert net.graph.nodes["L4"]["function"] == "relu"
    net.add_conv(5, 1, activation=None).add_max_pool(2).add_avg_pool(3, 1)
    assert ops(net)[5:] == ["submanifold_conv", "max_pool", "avg_pool"]
    assert net.graph.nodes["L6"]["stride"] == 2 and net.graph.nodes["L7"]["stride"] == 1
    net.add_batch_norm().add_activation("TANH").add_dropout(0.5)
    assert ops(net)[8:] == ["batch_norm", "activation", "dropout"]
    assert [net.graph.nodes[v]["channels"] for v in ("L8", "L9", "L10")] == [5, 5, 5]
    net.add_lenet_mp(6, 2, 1, 1, 1).add_lenet_mp(6, 1, 1, 2, 2)
    assert ops(net)[11:] == ["conv", "activation", "submanifold_conv", "activation", "max_pool"]
    net.add_classifier(pooling="avg")
    assert ops(net)[-2:] == ["global_avg_pool", "linear"]
    assert net.graph.nodes[net.output_node]["channels"] == 3 and net.n_classes == 3
    assert all(
        d["channels"] == net.graph.nodes[u]["channels"] for u, _, d in net.graph.edges(data=True)
    )
    assert [v for v in net.graph if v != "input"] == [f"L{i}" for i in range(len(net.graph) - 1)]


def test_the_classifier_sets_n_classes_and_softmax_uses_it():
    net = SparseNetwork().add_conv(2, 3).add_classifier(5)
    assert net.n_classes == 5 and net.graph.graph["n_classes"] == 5
    soft = SparseNetwork(n_classes=4).add_conv(2, 3).add_softmax()
    assert ops(soft)[-2:] == ["global_max_pool", "linear"] and soft.output_channels == 4
    assert SparseNetwork(n_classes=4).add_classifier().add_dropout(0.1).add_activation("relu")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda n: n.add_conv(0, 3), ValueError, "n_features must be a positive int"),
        (lambda n: n.add_conv(4, 3, min_active_inputs=2), ValueError,
         "submanifold convolution needs stride 1, an odd filter_size and min_active_inputs 1"),
        (lambda n: n.add_conv(4, 2, min_active_inputs=9), ValueError, "at most 8 \\(filter volume"),
        (lambda n: n.add_conv(4, 3, activation=3), ValueError, "unknown activation 3"),
        (lambda n: n.add_max_pool(0), ValueError, "pool_size must be a positive int"),
        (lambda n: n.add_avg_pool(2, 0), ValueError, "pool_stride must be a positive int"),
        (lambda n: n.add_activation(None), ValueError, "add_activation needs an activation name"),
        (lambda n: n.add_activation("none"), ValueError, "needs an activation name, got 'none'"),
        (lambda n: n.add_dropout(1.0), ValueError, r"p must be a probability in \[0, 1\)"),
        (lambda n: n.add_lenet_mp(4, 0, 1, 2, 2), ValueError, "filter_size must be a positive"),
        (lambda n: n.add_classifier(2, pooling="sum"), ValueError, "pooling must be 'max' or "),
        (lambda n: n.add_classifier(0), ValueError, "n_classes must be a positive int"),
        (lambda n: n.add_skip("L0", "L1", "mul"), ValueError, "kind must be 'add' or 'concat'"),
    ],
)  # fmt: skip
def test_builder_errors_leave_the_graph_as_it_was(call, error, match):
    net = SparseNetwork().add_conv(4, 3)
    before = net.to_graph()
    with pytest.raises(error, match=match):
        call(net)
    assert_graphs_equal(net.graph, before)
    assert net.output_node == "L1"
    assert net.add_conv(2, 3).output_channels == 2  # and the network goes on


def test_add_lenet_mp_checks_the_pool_size():
    with pytest.raises(ValueError, match="pool_size must be a positive int, got 0"):
        SparseNetwork().add_lenet_mp(4, 2, 1, 0, 2)


def test_add_skip_errors_are_network_graph_errors_naming_the_nodes():
    net = SparseNetwork().add_conv(4, 3).add_conv(2, 3)
    cases = [
        (("L9", "L1"), "source 'L9' is not a node of the network", ["L9"]),
        (("L0", "L7"), "target 'L7' is not a node of the network", ["L7"]),
        (("L2", "L0"), "source 'L2' must be upstream of target 'L0'", ["L2", "L0"]),
        (("L1", "L1"), "source 'L1' must be upstream of target 'L1'", ["L1", "L1"]),
        (("L1", "L3"), "add needs equal channels, 'L3' has 2 and 'L1' has 4", ["L3", "L1"]),
    ]
    for (source, target), match, nodes in cases:
        with pytest.raises(NetworkGraphError, match=match) as info:
            net.add_skip(source, target)
        assert info.value.nodes == nodes and isinstance(info.value, ValueError)
    assert list(net.graph) == ["input", "L0", "L1", "L2", "L3"]
    net.add_skip("L1", "L3", "concat")
    assert net.graph.nodes["L4"] == {"op": "concat", "channels": 6}


def test_nothing_but_the_head_comes_after_the_classifier():
    net = SparseNetwork(n_classes=2).add_conv(4, 3).add_classifier()
    with pytest.raises(NetworkGraphError, match="cannot add a max_pool layer after") as info:
        net.add_max_pool(2)
    assert info.value.nodes == ["L3"]
    assert net.output_node == "L3"


@pytest.mark.parametrize(("pool_size", "pool_stride"), [(0, None), (3, 0), (2.5, None)])
def test_a_failed_lenet_block_adds_nothing(pool_size, pool_stride):
    net = SparseNetwork(in_features=1).add_conv(4, 3)
    nodes = list(net.graph)
    with pytest.raises((TypeError, ValueError), match="pool_"):
        net.add_lenet_mp(8, 2, 1, pool_size, pool_stride)
    assert list(net.graph) == nodes
