"""check_layer_graph, input_size and merge: every error names the node at fault."""

import networkx as nx
import pytest
import torch

from graphnn.exceptions import NetworkGraphError
from graphnn.sparse3d.network.layer_graph import LayerPlan, check_layer_graph, input_size, merge
from graphnn.sparse3d.network.model import SparseNetwork
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.network.networks import small_net


def test_bad_graph_edits():
    net = small_net()
    net.graph.nodes["L2"]["channels"] = 5
    net.graph.nodes["L3"]["channels"] = 7
    with pytest.raises(ValueError, match=r"'L3' \(activation\) has channels=7"):
        net.recompile()
    net = small_net()
    net.graph.nodes["L4"]["op"] = "fft"
    with pytest.raises(ValueError, match="'L4' has op 'fft'"):
        net.recompile()


def layer_graph() -> nx.DiGraph:
    """input -> L0 (conv 2/2, 4 channels) -> L1 (activation) -> L2 (submanifold conv, 3)."""
    G = nx.DiGraph(dimension=3, in_features=1)
    G.add_node("input", op="input", channels=1)
    G.add_node("L0", op="conv", kernel_size=2, stride=2, min_active_inputs=1, channels=4)
    G.add_node("L1", op="activation", function="relu", channels=4)
    G.add_node("L2", op="submanifold_conv", kernel_size=3, channels=3)
    for u, v in (("input", "L0"), ("L0", "L1"), ("L1", "L2")):
        G.add_edge(u, v, channels=G.nodes[u]["channels"], port=0)
    return G


def refused(G: nx.DiGraph, match: str) -> NetworkGraphError:
    with pytest.raises(NetworkGraphError, match=match) as info:
        check_layer_graph(G)
    assert isinstance(info.value, ValueError)
    with pytest.raises(NetworkGraphError, match=match):  # the network refuses it alike
        SparseNetwork.from_graph(G)
    return info.value


def test_a_valid_graph_gives_its_plan():
    plan = check_layer_graph(layer_graph())
    assert isinstance(plan, LayerPlan)
    assert plan.order == ["input", "L0", "L1", "L2"] and plan.sink == "L2"
    assert plan.inputs == {"input": [], "L0": ["input"], "L1": ["L0"], "L2": ["L1"]}
    assert plan.in_channels == {"input": 1, "L0": 1, "L1": 4, "L2": 4}


@pytest.mark.parametrize("name", [3, "", "L.1", ("L", 1)])
def test_a_bad_node_name_is_named(name):
    G = nx.relabel_nodes(layer_graph(), {"L1": name})
    error = refused(G, r"layer node names must be non-empty strings without '\.', got ")
    assert error.nodes == [name]


def test_an_unknown_op_is_named_with_the_known_ones():
    G = layer_graph()
    G.nodes["L1"]["op"] = "fft"
    error = refused(G, r"node 'L1' has op 'fft'; use one of input, submanifold_conv, conv, ")
    assert error.nodes == ["L1"]
    del G.nodes["L1"]["op"]
    assert refused(G, "node 'L1' has op None").nodes == ["L1"]


@pytest.mark.parametrize(
    ("node", "attribute"),
    [("L0", "stride"), ("L0", "min_active_inputs"), ("L1", "function"), ("L2", "kernel_size"),
     ("L2", "channels"), ("input", "channels")],
)  # fmt: skip
def test_a_missing_attribute_is_named(node, attribute):
    G = layer_graph()
    del G.nodes[node][attribute]
    op = G.nodes[node]["op"]
    error = refused(G, rf"node '{node}' \({op}\) has no '{attribute}' attribute")
    assert error.nodes == [node]


def test_a_cycle_is_named():
    G = layer_graph()
    G.add_edge("L2", "L1", channels=3, port=0)
    error = refused(G, "the layer graph has a cycle")
    assert set(error.nodes) == {"L1", "L2"} and len(error.edges) == 2


def test_one_input_and_one_output_node():
    G = layer_graph()
    G.add_node("other", op="input", channels=1)
    G.add_edge("other", "L0", channels=1, port=1)
    error = refused(G, r"exactly one input node 'input', got \['input', 'other'\]")
    assert error.nodes == ["input", "other"]
    G = nx.relabel_nodes(layer_graph(), {"input": "source"})
    with pytest.raises(
        NetworkGraphError, match=r"one input node 'input', got \['source'\]"
    ) as info:
        check_layer_graph(G)
    assert info.value.nodes == ["source"]
    G = layer_graph()
    G.add_node("L3", op="activation", function="tanh", channels=4)
    G.add_edge("L1", "L3", channels=4, port=0)
    error = refused(G, r"exactly one output node, got \['L2', 'L3'\]")
    assert error.nodes == ["L2", "L3"]


def test_a_layer_with_another_number_of_inputs_is_named():
    G = layer_graph()
    G.add_edge("L0", "L2", channels=4, port=1)  # L2 would read L1 and L0
    error = refused(
        G, r"node 'L2' \(submanifold_conv\) needs exactly one input, got \['L1', 'L0'\]"
    )
    assert error.nodes == ["L2"]


def test_wrong_channel_counts_are_named():
    G = layer_graph()
    G.nodes["L1"]["channels"] = 7
    error = refused(G, r"node 'L1' \(activation\) has channels=7, its inputs give 4")
    assert error.nodes == ["L1"]
    G = layer_graph()
    G.nodes["input"]["channels"] = 2  # a weight layer has any output channels, any input
    assert check_layer_graph(G).in_channels["L0"] == 2


def merged(op: str, channels: int, second: int = 4) -> nx.DiGraph:
    """layer_graph with a merge node M of L1 (port 0) and a 1x1 conv of L1 (port 1)."""
    G = layer_graph()
    G.remove_node("L2")
    G.add_node("side", op="submanifold_conv", kernel_size=1, channels=second)
    G.add_node("M", op=op, channels=channels)
    G.add_edge("L1", "side", channels=4, port=0)
    G.add_edge("L1", "M", channels=4, port=0)
    G.add_edge("side", "M", channels=second, port=1)
    return G


def test_merges_are_checked():
    assert check_layer_graph(merged("add", 4)).inputs["M"] == ["L1", "side"]
    assert check_layer_graph(merged("concat", 7, 3)).in_channels["M"] == 4
    error = refused(merged("add", 4, 3), r"node 'M' \(add\) has inputs \['L1', 'side'\] with "
                    r"channels \[4, 3\]")  # fmt: skip
    assert error.nodes == ["M", "L1", "side"]
    error = refused(
        merged("concat", 8, 3), r"node 'M' \(concat\) has channels=8, its inputs give 7"
    )
    assert error.nodes == ["M"]
    G = layer_graph()
    G.add_node("M", op="add", channels=3)
    G.add_edge("L2", "M", channels=3, port=0)
    error = refused(G, r"node 'M' \(add\) needs at least two inputs, got \['L2'\]")
    assert error.nodes == ["M"]


def test_the_ports_order_the_inputs_of_a_merge():
    G = merged("concat", 8)
    G.edges["L1", "M"]["port"], G.edges["side", "M"]["port"] = 1, 0
    assert check_layer_graph(G).inputs["M"] == ["side", "L1"]


def test_input_size_goes_backwards_through_the_strided_layers():
    G = layer_graph()
    plan = check_layer_graph(G)
    assert input_size(G, plan, 1) == 2 and input_size(G, plan, 3) == 6
    G.add_node("P", op="max_pool", kernel_size=3, stride=2, channels=3)
    G.add_edge("L2", "P", channels=3, port=0)
    plan = check_layer_graph(G)
    assert input_size(G, plan, 1) == 2 * (3 + 0 * 2) and input_size(G, plan, 2) == 2 * (3 + 2)


def test_input_size_names_branches_that_need_different_sizes():
    G = merged("add", 4)
    G.nodes["side"].update(op="conv", kernel_size=2, stride=2, min_active_inputs=1)
    plan = check_layer_graph(G)
    with pytest.raises(
        NetworkGraphError, match="node 'L1' feeds layers that need input sizes"
    ) as info:
        input_size(G, plan, 1)
    assert info.value.nodes[0] == "L1" and isinstance(info.value, ValueError)


def test_merge_adds_or_concatenates_inputs_on_the_same_sites():
    x = SparseVoxelTensor.from_dense(torch.randn(1, 2, 3, 3, 3))
    y = x.replace_features(torch.randn(x.num_sites, 2))
    added = merge("M", "add", ["a", "b"], [x, y])
    assert added.coords is x.coords and added.cache is x.cache
    torch.testing.assert_close(added.features, x.features + y.features)
    joined = merge("M", "concat", ["a", "b"], [x, y])
    assert torch.equal(joined.features, torch.cat([x.features, y.features], 1))
    same_sites = SparseVoxelTensor(x.coords.clone(), y.features, x.spatial_shape)  # equal, not same
    assert torch.equal(merge("M", "add", ["a", "b"], [x, same_sites]).features, added.features)
    other = SparseVoxelTensor(x.coords[:5], x.features[:5], x.spatial_shape)
    with pytest.raises(ValueError, match=r"node 'M' \(add\) needs inputs on the same sites: 'a' "
                       r"has 27 sites on \(3, 3, 3\), 'b' has 5 on \(3, 3, 3\)"):  # fmt: skip
        merge("M", "add", ["a", "b"], [x, other])
    bigger = SparseVoxelTensor(x.coords, x.features, (4, 3, 3))
    with pytest.raises(ValueError, match=r"'b' has 27 on \(4, 3, 3\)"):
        merge("M", "concat", ["a", "b"], [x, bigger])
