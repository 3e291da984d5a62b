"""The channel graph, channel pruning as graph edits, and shrink."""

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn import assert_graphs_equal
from graphnn.exceptions import NetworkGraphError
from graphnn.sparse3d.network.model import SparseNetwork
from graphnn.sparse3d.network.nodes import WEIGHT_OPS
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.network.networks import small_net


def test_channel_graph_structure():
    net = SparseNetwork(in_features=2).add_conv(3, 3, activation="relu")
    net.layers["L0"].channel_mask[1, 2] = False
    G = net.to_graph("channel")
    assert set(G) == {("input", 0), ("input", 1), *((v, c) for v in ("L0", "L1") for c in range(3))}
    weights = {(u, v) for u, v, k in G.edges(data="kind") if k == "weight"}
    assert len(weights) == 5 and (("input", 1), ("L0", 2)) not in weights
    w = net.layers["L0"].weight.detach()
    assert G.edges[("input", 0), ("L0", 1)]["weight"] == pytest.approx(float(w[:, 0, 1].norm()))
    assert {(u, v) for u, v, k in G.edges(data="kind") if k == "identity"} == {
        (("L0", c), ("L1", c)) for c in range(3)
    }


def test_prune_equals_zeroed_weights(batch):
    net = small_net().eval()
    reference = copy.deepcopy(net)
    net.prune_channels("L2", [1, 4]).prune_channels("L0", [0])
    with torch.no_grad():
        reference.layers["L2"].weight[:, :, [1, 4]] = 0
        reference.layers["L2"].bias[[1, 4]] = 0
        reference.layers["L0"].weight[:, :, 0] = 0
        reference.layers["L0"].bias[0] = 0
    assert bool(reference.layers["L2"].channel_mask.all())
    torch.testing.assert_close(net(batch), reference(batch))
    shrunk = copy.deepcopy(net).shrink()
    assert shrunk.graph.nodes["L2"]["channels"] == 4 and shrunk.graph.nodes["L0"]["channels"] == 3
    assert shrunk.layers["L5"].weight.shape == (8, 4, 8)
    torch.testing.assert_close(shrunk(batch), net(batch))
    assert shrunk.multiply_adds(batch) < net.multiply_adds(batch)


@pytest.mark.parametrize("train", [False, True])
def test_channel_graph_pruning_shrinks_with_batch_norm(batch, train):
    net = small_net(batch_norm=True)
    net.train()
    net(batch)  # running statistics
    G = net.to_graph("channel")
    G.remove_nodes_from([("L3", 2), ("L3", 5)])  # output channels 2 and 5 of the conv L3
    G.remove_edge(("input", 0), ("L0", 1))  # one connection: channel L0/1 keeps its bias
    net.apply_channel_graph(G)
    assert net.layers["L3"].channel_mask.sum(0).tolist() == [4, 4, 0, 4, 4, 0]
    net.train(train)
    torch.manual_seed(1)
    expected = net(batch)
    shrunk = copy.deepcopy(net).shrink()
    assert shrunk.graph.nodes["L3"]["channels"] == 4
    assert shrunk.graph.nodes["L6"]["channels"] == 4  # the batch norm after it
    assert shrunk.graph.nodes["L0"]["channels"] == 4  # a constant channel is not removed
    assert shrunk.layers["L6"].num_features == 4
    torch.manual_seed(1)
    torch.testing.assert_close(shrunk(batch), expected)
    assert_graphs_equal(shrunk.to_graph("channel"), shrunk.to_graph("channel"))


def test_pruning_errors():
    net = small_net()
    with pytest.raises(ValueError, match="not a convolution"):
        net.prune_channels("L1", [0])
    with pytest.raises(ValueError, match=r"channels 0 \.\. 3, got \[7\]"):
        net.prune_channels("L0", [7])
    G = net.to_graph("channel")
    G.add_edge(("L0", 0), ("L2", 0))  # L2 reads L1
    with pytest.raises(ValueError, match="L2"):
        net.apply_channel_graph(G)


# --- drawn networks with pruned channels --------------------------------------------------


def state_of(net: SparseNetwork) -> dict[str, torch.Tensor]:
    return {k: t.clone() for k, t in net.state_dict().items()}


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def randomise_batch_norms(net: SparseNetwork, generator: torch.Generator) -> None:
    """Give every batch norm a non-trivial affine map and running statistics."""
    with torch.no_grad():
        for v in net.execution_order:
            if net.graph.nodes[v]["op"] == "batch_norm":
                bn = net.layers[v]
                for t in (bn.weight, bn.bias, bn.running_mean):
                    t.copy_(torch.randn(t.shape, generator=generator))
                bn.running_var.copy_(torch.rand(bn.running_var.shape, generator=generator) + 0.5)


def drawn_input(data, net: SparseNetwork) -> SparseVoxelTensor:
    n = net.input_spatial_size() + data.draw(st.integers(0, 2), label="extra size")
    generator = torch.Generator().manual_seed(data.draw(st.integers(0, 2**16), label="input"))
    occupied = torch.rand(2, 1, n, n, n, generator=generator) < 0.6
    occupied[:, :, 0, 0, 0] = True  # every sample has a site
    dense = torch.randn(2, net.in_features, n, n, n, generator=generator) * occupied
    return SparseVoxelTensor.from_dense(dense)


def drawn_network(data, classifier: bool | None = None) -> SparseNetwork:
    """A chain of blocks (convolution, activation, batch norm, pooling), maybe a classifier."""
    net = SparseNetwork(
        in_features=data.draw(st.integers(1, 2)), seed=data.draw(st.integers(0, 99))
    )
    for _ in range(data.draw(st.integers(1, 3), label="blocks")):
        c = data.draw(st.integers(2, 5))
        act = data.draw(st.sampled_from([None, "relu", "vleakyrelu", "prelu", "tanh"]))
        size = data.draw(st.sampled_from([1, 2, 3]))
        net.add_conv(c, size, activation=act, submanifold=size != 2)
        if data.draw(st.booleans(), label="batch norm"):
            net.add_batch_norm()
        pool = data.draw(st.sampled_from([None, "max", "avg"]))
        if pool == "max":
            net.add_max_pool(2, 1)
        elif pool == "avg":
            net.add_avg_pool(2, 1)
    if classifier is None:
        classifier = data.draw(st.booleans(), label="classifier")
    if classifier:
        net.add_classifier(data.draw(st.integers(2, 3)), data.draw(st.sampled_from(["max", "avg"])))
    randomise_batch_norms(net, torch.Generator().manual_seed(0))
    return net.eval()


def weight_layers(net: SparseNetwork) -> list[str]:
    return [v for v in net.execution_order if net.graph.nodes[v]["op"] in WEIGHT_OPS]


def outputs_close(a, b) -> None:
    if isinstance(a, SparseVoxelTensor):
        assert torch.equal(a.coords, b.coords) and a.spatial_shape == b.spatial_shape
        a, b = a.features, b.features
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@settings(max_examples=20, deadline=None)
@given(st.data())
def test_shrink_keeps_the_outputs_of_drawn_pruned_networks(data):
    net = drawn_network(data)
    x = drawn_input(data, net)
    G = net.to_graph("channel")
    weights = [(u, v) for u, v, kind in G.edges(data="kind") if kind == "weight"]
    cut = data.draw(st.sets(st.sampled_from(weights), max_size=4), label="removed edges")
    G.remove_edges_from(cut)
    net.apply_channel_graph(G)
    pruned = {}
    for v in weight_layers(net)[:-1] if net.n_classes else weight_layers(net):
        c = net.graph.nodes[v]["channels"]
        pruned[v] = data.draw(st.sets(st.integers(0, c - 1), max_size=c - 1), label=f"pruned {v}")
        net.prune_channels(v, sorted(pruned[v]))
    expected = net(x)
    before = net.multiply_adds(x)
    shrunk = copy.deepcopy(net).shrink()
    outputs_close(shrunk(x), expected)
    assert list(shrunk.graph.edges) == list(net.graph.edges)
    assert shrunk.multiply_adds(x) <= before
    last = weight_layers(net)[-1]
    for v, channels in pruned.items():
        c = net.graph.nodes[v]["channels"]
        # a channel goes unless its layer feeds the output through layers that keep zeros
        kept = c if (v == last and not net.n_classes) else c - len(channels)
        assert shrunk.graph.nodes[v]["channels"] == kept, v
    shrunk.train()
    net.train()
    if all(net.graph.nodes[v]["op"] != "batch_norm" for v in net.graph):
        outputs_close(shrunk(x), net(x))  # training mode too, when no batch statistics enter


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_applying_an_unedited_channel_graph_changes_nothing(data):
    net = drawn_network(data)
    for v in weight_layers(net):
        mask = net.layers[v].channel_mask
        drawn = data.draw(st.lists(st.booleans(), min_size=mask.numel(), max_size=mask.numel()))
        mask.copy_(torch.tensor(drawn).view(mask.shape))
    net.prune_channels(weight_layers(net)[0], [0])
    before = state_of(net)
    assert net.apply_channel_graph(net.to_graph("channel")) is net
    assert same_state(state_of(net), before)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_removing_an_edge_masks_exactly_that_entry(data):
    net = drawn_network(data, classifier=True)
    G = net.to_graph("channel")
    weights = [(u, v) for u, v, kind in G.edges(data="kind") if kind == "weight"]
    (source, i), (layer, o) = edge = data.draw(st.sampled_from(weights))
    before = state_of(net)
    G.remove_edge(*edge)
    net.apply_channel_graph(G)
    after = state_of(net)
    expected = before[f"layers.{layer}.channel_mask"].clone()
    assert expected[i, o]
    expected[i, o] = False
    assert torch.equal(after[f"layers.{layer}.channel_mask"], expected)
    assert net.inputs_of(layer) == [source]
    assert same_state(
        {k: t for k, t in after.items() if k != f"layers.{layer}.channel_mask"},
        {k: t for k, t in before.items() if k != f"layers.{layer}.channel_mask"},
    )  # the weights and biases stay: only the mask entry goes
    assert edge not in net.to_graph("channel").edges


def test_a_bad_edge_raises_naming_it():
    net = small_net()
    cases = [
        ((("L0", 0), ("L2", 0)), r"edge \('L0', 0\) -> \('L2', 0\): layer 'L2' reads channels "
                                 r"\(\('L1', 0\) \.\. \('L1', 3\)\)"),
        ((("L1", 4), ("L2", 1)), r"edge \('L1', 4\) -> \('L2', 1\)"),
        ((("L1", -1), ("L2", 1)), r"edge \('L1', -1\) -> \('L2', 1\)"),
        (("junk", ("L2", 0)), r"edge 'junk' -> \('L2', 0\)"),
    ]  # fmt: skip
    for edge, match in cases:
        G = net.to_graph("channel")
        G.add_edge(*edge)
        before = state_of(net)
        with pytest.raises(NetworkGraphError, match=match) as info:
            net.apply_channel_graph(G)
        assert info.value.edges == [edge] and isinstance(info.value, ValueError)
        assert same_state(state_of(net), before)  # L0's mask was set before L2 was read
    with pytest.raises(NetworkGraphError, match="'L1' is not a convolution or linear node") as info:
        net.prune_channels("L1", [0])
    assert info.value.nodes == ["L1"]
    with pytest.raises(NetworkGraphError, match="'nope' is not a convolution"):
        net.prune_channels("nope", [0])


def test_prune_channels_zeroes_the_bias_and_the_batch_norm_shift():
    torch.manual_seed(0)
    net = SparseNetwork(in_features=2).add_conv(4, 3, activation="relu").add_batch_norm()
    net.add_conv(3, 3)
    randomise_batch_norms(net, torch.Generator().manual_seed(1))
    before = state_of(net)
    assert net.prune_channels("L0", [1, 3]) is net
    after = state_of(net)
    mask = after["layers.L0.channel_mask"]
    assert not bool(mask[:, [1, 3]].any()) and bool(mask[:, [0, 2]].all())
    for key in ("layers.L0.bias", "layers.L2.bias", "layers.L2.running_mean"):
        assert after[key][[1, 3]].tolist() == [0.0, 0.0]
        assert torch.equal(after[key][[0, 2]], before[key][[0, 2]])
    for key in (
        "layers.L0.weight",
        "layers.L2.weight",
        "layers.L2.running_var",
        "layers.L3.weight",
    ):
        assert torch.equal(after[key], before[key])  # the scale and the weights stay
    x = SparseVoxelTensor.from_dense(torch.randn(2, 2, 4, 4, 4))
    for train in (False, True):
        acts = {a.name: a for a in net.train(train).layer_activations(x)}
        assert bool((acts["L2"].features[:, [1, 3]] == 0).all())  # zero after the batch norm
        assert bool((acts["L2"].features[:, [0, 2]] != 0).any())
    with pytest.raises(ValueError, match=r"layer 'L0' has channels 0 \.\. 3, got \[4, -1\]"):
        net.prune_channels("L0", [4, -1, 2])


@pytest.mark.parametrize("kind", ["add", "concat"])
def test_shrink_keeps_the_channels_feeding_a_merge(kind):
    torch.manual_seed(0)
    net = SparseNetwork(in_features=1, n_classes=2).add_conv(4, 3).add_conv(4, 3)
    net.add_skip("L1", "L3", kind).add_conv(3, 3).add_classifier()
    x = SparseVoxelTensor.from_dense(torch.randn(2, 1, 4, 4, 4))
    net.eval().prune_channels("L0", [1]).prune_channels("L2", [0, 2]).prune_channels("L5", [1])
    expected = net(x)
    shrunk = copy.deepcopy(net).shrink()
    torch.testing.assert_close(shrunk(x), expected)
    # L0 and L2 feed the merge (L0 through L1, its skip source): both keep every channel
    merged = 4 if kind == "add" else 8
    assert [shrunk.graph.nodes[v]["channels"] for v in ("L0", "L2", "L4")] == [4, 4, merged]
    assert shrunk.graph.nodes["L5"]["channels"] == 2  # after the merge, pruning applies
    assert shrunk.layers["L5"].weight.shape[1] == merged


def test_shrink_keeps_the_channels_of_the_output_and_behind_a_sigmoid():
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(torch.randn(2, 1, 4, 4, 4))
    out = SparseNetwork().add_conv(3, 3).add_conv(4, 3, activation="relu").eval()
    out.prune_channels("L2", [0]).prune_channels("L0", [2])
    shrunk = copy.deepcopy(out).shrink()
    assert shrunk.graph.nodes["L2"]["channels"] == 4  # it feeds the output
    assert shrunk.graph.nodes["L0"]["channels"] == 2
    torch.testing.assert_close(shrunk(x).features, out(x).features)
    sig = SparseNetwork(n_classes=2).add_conv(3, 3, activation="sigmoid").add_classifier().eval()
    sig.prune_channels("L0", [1])  # sigmoid(0) = 1/2: the channel is not zero after it
    shrunk = copy.deepcopy(sig).shrink()
    assert shrunk.graph.nodes["L0"]["channels"] == 3
    torch.testing.assert_close(shrunk(x), sig(x))


def test_the_channel_graph_of_a_concat_and_a_linear_layer():
    torch.manual_seed(0)
    net = (
        SparseNetwork(in_features=1).add_conv(2, 1, activation=None).add_conv(3, 1, activation=None)
    )
    net.add_skip("L0", "L1", "concat").add_classifier(2)
    G = net.to_graph("channel")
    assert G.graph["level"] == "channel" and G.graph["n_classes"] == 2
    identity = {(u, v) for u, v, kind in G.edges(data="kind") if kind == "identity"}
    assert {(("L1", c), ("L2", c)) for c in range(3)} <= identity
    assert {(("L0", c), ("L2", 3 + c)) for c in range(2)} <= identity  # offset by L1's channels
    assert G.nodes[("L2", 4)] == {"layer": "L2", "op": "concat", "channel": 4}
    w = net.layers["L4"].weight.detach()
    for i in range(5):
        for o in range(2):
            assert G.edges[("L3", i), ("L4", o)]["weight"] == pytest.approx(abs(float(w[o, i])))
    assert G.number_of_nodes() == 1 + 2 + 3 + 5 + 5 + 2


def test_a_bad_edge_changes_no_mask():
    net = small_net()
    G = net.to_graph("channel")
    G.remove_edge(("input", 0), ("L0", 0))  # a good edit of the first layer ...
    G.add_edge(("input", 0), ("L2", 0))  # ... and a bad edge into a later one (L2 reads L1)
    masks = {v: m.clone() for v, m in net.state_dict().items() if v.endswith("channel_mask")}
    with pytest.raises(NetworkGraphError, match=r"\('input', 0\) -> \('L2', 0\)"):
        net.apply_channel_graph(G)
    for key, mask in masks.items():
        assert torch.equal(net.state_dict()[key], mask), key
