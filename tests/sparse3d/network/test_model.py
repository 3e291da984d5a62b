"""SparseNetwork: spatial sizes, forward, recompile, graphs, counts, seeds, training."""

import io

import networkx as nx
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from graphnn import assert_graphs_equal, read_graphml, write_graphml
from graphnn.exceptions import NetworkGraphError
from graphnn.sparse3d import SparseDataset, SparseVoxelTensor, training
from graphnn.sparse3d.layers.conv import SparseConv3d
from graphnn.sparse3d.network.model import LayerActivation, SparseNetwork
from tests.sparse3d.network.networks import SIZE, small_net


def test_deepc2_is_126():
    net = SparseNetwork(in_features=1, n_classes=10)
    for i in range(6):
        net.add_lenet_mp(32 * (i + 1), 2, 1, 3 if i < 5 else 1, 2 if i < 5 else 1)
    net.add_softmax()
    assert net.input_spatial_size() == 126
    assert net.output_spatial_size(126) == 1
    assert net.input_spatial_size(2) == 126 + 32  # each pool stride 2 doubles: 2**5


@pytest.mark.parametrize("blocks", [1, 2, 3])
def test_lenet_conv3_pool2_blocks(blocks):
    # per block backwards: pool 2/2: 2 n, conv 3: + 2; last block conv 2: 1 -> 2
    net = SparseNetwork(n_classes=3)
    for _ in range(blocks):
        net.add_lenet_mp(4, 3, 1, 2, 2)
    net.add_lenet_mp(4, 2, 1, 1, 1).add_classifier()
    expected = 2
    for _ in range(blocks):
        expected = 2 * expected + 2
    assert net.input_spatial_size() == expected
    assert net.output_spatial_size(expected) == 1


def test_submanifold_and_strided_sizes():
    net = SparseNetwork().add_conv(4, 3).add_conv(4, 5).add_conv(8, 2, 2)
    assert [net.graph.nodes[v]["op"] for v in ("L0", "L2", "L4")] == [
        "submanifold_conv",
        "submanifold_conv",
        "conv",
    ]
    assert net.input_spatial_size() == 2
    assert net.input_spatial_size(3) == 6
    # SparseConvNet's convolutional layer is a valid convolution
    assert SparseNetwork().add_conv(4, 3, 1, submanifold=False).input_spatial_size(4) == 6


def test_output_size_error_names_layer():
    net = SparseNetwork().add_conv(4, 3).add_conv(8, 2, 2)
    with pytest.raises(ValueError, match=r"layer L2 \(conv, size 2, stride 2\).*size 5"):
        net.output_spatial_size(5)
    with pytest.raises(ValueError, match="L2"):
        net.output_spatial_size(1)


def test_forward_shapes(batch):
    net = small_net(n_classes=3)
    assert net.input_spatial_size() == SIZE
    out = net(batch)
    assert out.shape == (6, 3)
    x = SparseVoxelTensor.from_batch(batch)
    torch.testing.assert_close(net.eval()(x), net(batch))
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_forward_without_classifier_returns_sparse(batch):
    out = SparseNetwork().add_conv(5, 3)(batch)
    assert isinstance(out, SparseVoxelTensor) and out.channels == 5


def test_bad_inputs(batch):
    net = small_net()
    with pytest.raises(TypeError, match="SparseBatch"):
        net(torch.zeros(2, 1))
    x = SparseVoxelTensor.from_batch(batch)
    with pytest.raises(ValueError, match="input features"):
        net(x.replace_features(torch.ones(x.num_sites, 2)))
    small = SparseVoxelTensor(torch.tensor([[0, 1, 1, 1]]), torch.ones(1, 1), (8, 8, 8))
    with pytest.raises(ValueError, match="input spatial size 14"):
        net(small)


def test_graph_attributes():
    net = small_net()
    G = net.to_graph()
    assert G.nodes["L0"] == {"op": "submanifold_conv", "kernel_size": 3, "channels": 4}
    assert G.nodes["L2"] == {
        "op": "conv",
        "kernel_size": 2,
        "stride": 1,
        "min_active_inputs": 1,
        "channels": 6,
    }
    assert G.nodes["L4"] == {"op": "max_pool", "kernel_size": 3, "stride": 2, "channels": 6}
    assert G.edges["L0", "L1"] == {"channels": 4, "port": 0}
    assert G.graph == {"dimension": 3, "in_features": 1, "n_classes": 2}
    assert G is not net.graph


def test_from_graph_round_trip(batch):
    net = small_net(batch_norm=True).eval()
    G = net.to_graph()
    other = SparseNetwork.from_graph(G)
    assert_graphs_equal(other.graph, G)
    other.load_state_dict(net.state_dict())
    torch.testing.assert_close(other.eval()(batch), net(batch), rtol=0, atol=0)


@pytest.mark.parametrize("level", ["layer", "channel"])
def test_graphml_round_trip(level, batch):
    net = small_net(batch_norm=True).eval()
    G = net.to_graph(level)
    buffer = io.BytesIO()
    write_graphml(G, buffer)
    buffer.seek(0)
    H = read_graphml(buffer)
    assert_graphs_equal(H, G)
    if level == "layer":
        other = SparseNetwork.from_graph(H)
        other.load_state_dict(net.state_dict())
        torch.testing.assert_close(other.eval()(batch), net(batch), rtol=0, atol=0)


def test_recompile_keeps_untouched_layers(batch):
    net = small_net()
    before = {v: net.layers[v] for v in net.layers}
    weight0 = net.layers["L0"].weight.detach().clone()
    net.graph.nodes["L5"]["channels"] = 10  # second block's conv: 8 -> 10 channels
    with pytest.raises(RuntimeError, match="recompile"):
        net(batch)
    for v in ("L6", "L7"):  # its activation and pooling
        net.graph.nodes[v]["channels"] = 10
    for u, _, attrs in net.graph.edges(data=True):
        attrs["channels"] = net.graph.nodes[u]["channels"]
    net.recompile()
    assert net.layers["L0"] is before["L0"] and torch.equal(net.layers["L0"].weight, weight0)
    assert net.layers["L2"] is before["L2"] and net.layers["L4"] is before["L4"]
    assert net.layers["L5"] is not before["L5"] and net.layers["L5"].out_channels == 10
    assert net.layers["L8"] is not before["L8"]  # its input channels changed
    assert net.layers["L11"] is before["L11"]
    assert net(batch).shape == (6, 2)


def test_layer_activations_follow_layer_rules(batch):
    net = small_net().eval()
    records = net.layer_activations(batch)
    assert [r.name for r in records] == list(net.graph)
    assert all(isinstance(r, LayerActivation) for r in records)
    by_name = {r.name: r for r in records}
    for r in records[1:]:
        (p,) = net.graph.predecessors(r.name)
        prev, attrs = by_name[p], net.graph.nodes[r.name]
        assert r.features.shape == (r.coords.shape[0], attrs["channels"])
        if r.op in ("conv", "max_pool"):
            k, s = attrs["kernel_size"], attrs["stride"]
            occupied = prev.features.new_zeros(6, 1, *prev.spatial_shape)
            c = prev.coords.long()
            occupied[c[:, 0], 0, c[:, 1], c[:, 2], c[:, 3]] = 1
            expected = F.max_pool3d(occupied, k, s)[:, 0] > 0
            assert r.spatial_shape == tuple(expected.shape[1:])
            got = torch.zeros_like(expected)
            c = r.coords.long()
            got[c[:, 0], c[:, 1], c[:, 2], c[:, 3]] = True
            assert torch.equal(got, expected)
        elif r.op in ("global_max_pool", "linear"):
            assert r.coords[:, 0].tolist() == list(range(6)) and r.spatial_shape == (1, 1, 1)
        else:  # submanifold conv, activation: the same sites
            assert torch.equal(r.coords, prev.coords) and r.spatial_shape == prev.spatial_shape
    assert by_name["L8"].spatial_shape == (1, 1, 1)  # the last conv ends at a single position
    torch.testing.assert_close(records[-1].features, net(batch))


def test_multiply_adds(batch):
    net = SparseNetwork().add_conv(3, 3, activation=None)
    x = SparseVoxelTensor.from_batch(batch)
    pairs = int((net.layers["L0"].kernel_map(x).neighbors >= 0).sum())
    assert net.multiply_adds(batch) == pairs * 1 * 3
    net.add_classifier(5)
    assert net.multiply_adds(batch) == pairs * 3 + 6 * 3 * 5


def test_short_training_reduces_loss(batch):
    net = small_net(n_classes=3, batch_norm=True)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    x = SparseVoxelTensor.from_batch(batch)  # its kernel maps are built once, then cached
    losses = []
    for _ in range(12):
        optimizer.zero_grad()
        loss = F.cross_entropy(net(x), batch.labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_workflow_methods_delegate_to_training():
    data = SparseDataset.shapes(2, 10, classes=["box", "torus"], seed=0, spatial_size=SIZE)
    net = small_net()
    report = net.train_epoch(data, 4, lr=0.01, progress=False)
    assert isinstance(report, training.EpochReport)
    assert report.multiply_adds_per_sample > 0
    assert report.samples == len(data)
    assert net.predict(data, batch_size=4).shape == (4, 2)


def test_graph_is_a_dag_of_layers():
    net = small_net()
    assert nx.is_directed_acyclic_graph(net.graph)
    assert net.output_node == "L11" and net.output_channels == 2
    assert isinstance(net.layers["L2"], SparseConv3d) and net.layers["L2"].padding == (0, 0, 0)


def test_training_counts_multiply_adds_in_its_own_passes(monkeypatch):
    from graphnn.sparse3d.training import train_epoch

    data = SparseDataset.shapes(2, 10, classes=["box", "torus"], seed=0, spatial_size=SIZE)
    net = small_net()
    seen, count = [], net.multiply_adds
    monkeypatch.setattr(net, "multiply_adds", lambda x: pytest.fail("an extra pass was run"))
    hook = net.register_forward_pre_hook(lambda _module, args: seen.append(args[0]))
    report = train_epoch(net, data, batch_size=4, lr=0.01, progress=False)
    hook.remove()
    assert len(seen) == 1
    assert report.multiply_adds_per_sample == count(seen[0]) / len(data)


def test_execution_order_and_inputs_of():
    net = SparseNetwork().add_conv(4, 3).add_conv(4, 3).add_skip("L1", "L3", "concat")
    order = net.execution_order
    assert order == ["input", "L0", "L1", "L2", "L3", "L4"] == list(nx.topological_sort(net.graph))
    order.append("x")  # a copy
    assert net.execution_order[-1] == "L4"
    assert net.inputs_of("input") == [] and net.inputs_of("L0") == ["input"]
    assert net.inputs_of("L4") == ["L3", "L1"]  # by port: the target first
    assert net.output_node == "L4" and net.output_channels == 8


# --- seeds --------------------------------------------------------------------------------


def seeded_net(seed, batch_norm=True):
    net = SparseNetwork(in_features=1, n_classes=3, seed=seed).add_conv(4, 3)
    if batch_norm:
        net.add_batch_norm()
    return net.add_lenet_mp(6, 2, 1, 3, 2).add_activation("prelu").add_classifier()


def same_state(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("seed", [0, 1, 2**63 - 1])
def test_the_same_seed_gives_the_same_parameters(seed):
    torch.manual_seed(0)
    first = seeded_net(seed)
    torch.manual_seed(1)  # torch's global generator plays no part
    torch.rand(3)
    assert same_state(first, seeded_net(seed))


def test_different_seeds_give_different_parameters():
    a, b = seeded_net(0), seeded_net(1)
    for v in ("L0", "L3", "L8"):
        assert not torch.equal(a.layers[v].weight, b.layers[v].weight)


def test_without_a_seed_torch_manual_seed_decides():
    torch.manual_seed(5)
    a = seeded_net(None)
    torch.manual_seed(5)
    b = seeded_net(None)
    torch.manual_seed(6)
    c = seeded_net(None)
    assert same_state(a, b) and not same_state(a, c)


def test_a_seeded_build_leaves_torchs_global_generator_alone():
    torch.manual_seed(3)
    state = torch.get_rng_state()
    net = seeded_net(4)
    SparseNetwork.from_graph(net.to_graph(), seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    seeded_net(None)
    assert not torch.equal(torch.get_rng_state(), state)  # the unseeded build draws from it


def test_a_numpy_generator_seeds_the_network_and_is_advanced():
    assert same_state(seeded_net(np.random.default_rng(7)), seeded_net(np.random.default_rng(7)))
    rng = np.random.default_rng(7)
    first, second = seeded_net(rng), seeded_net(rng)
    assert not torch.equal(first.layers["L0"].weight, second.layers["L0"].weight)


def test_from_graph_takes_a_seed():
    G = seeded_net(0).to_graph()
    a, b = SparseNetwork.from_graph(G, seed=3), SparseNetwork.from_graph(G, seed=3)
    assert same_state(a, b)
    assert_graphs_equal(a.graph, G)
    assert not torch.equal(
        a.layers["L0"].weight, SparseNetwork.from_graph(G, seed=4).layers["L0"].weight
    )
    torch.manual_seed(8)
    c = SparseNetwork.from_graph(G)
    torch.manual_seed(8)
    assert same_state(c, SparseNetwork.from_graph(G))
    rng_nets = [SparseNetwork.from_graph(G, seed=np.random.default_rng(1)) for _ in range(2)]
    assert same_state(*rng_nets)


@pytest.mark.parametrize(
    ("seed", "error", "match"),
    [(-1, ValueError, "seed must be a non-negative int, got -1"),
     (1.5, TypeError, "seed must be None, a non-negative int or a numpy.random.Generator"),
     (True, TypeError, "got bool"), ("0", TypeError, "got str"),
     (torch.Generator(), TypeError, "got Generator")],
)  # fmt: skip
def test_a_bad_seed_is_refused(seed, error, match):
    with pytest.raises(error, match=match):
        SparseNetwork(seed=seed)
    with pytest.raises(error, match=match):
        SparseNetwork.from_graph(seeded_net(0).to_graph(), seed=seed)


def test_from_graph_errors():
    with pytest.raises(TypeError, match=r"from_graph takes a networkx\.DiGraph, got Graph"):
        SparseNetwork.from_graph(nx.Graph())
    G = nx.DiGraph([("src", "L0")])
    with pytest.raises(NetworkGraphError, match="needs a node 'input' with op 'input'") as info:
        SparseNetwork.from_graph(G)
    assert isinstance(info.value, ValueError)


def test_a_seed_draws_the_same_weights_however_often_the_network_recompiles():
    def build(extra_recompiles):
        net = SparseNetwork(in_features=1, n_classes=2, seed=5)
        net.add_conv(4, 3)
        for _ in range(extra_recompiles):
            net.recompile()
        net.add_skip("L0", "L1").add_lenet_mp(6, 2, 1, 1, 1)
        return net.add_classifier()

    once, thrice = build(0), build(3)
    for key, value in once.state_dict().items():
        assert torch.equal(value, thrice.state_dict()[key]), key
    # the graph alone, with the same seed, draws the builder's weights
    again = SparseNetwork.from_graph(once.to_graph(), seed=5)
    for key, value in once.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key


@pytest.mark.parametrize("method", ["train_epoch", "evaluate", "predict", "fit"])
def test_the_training_methods_have_the_functions_signatures(method):
    """The methods are one-line delegations: the same parameters, defaults and kinds."""
    import inspect

    function = list(inspect.signature(getattr(training, method)).parameters.values())[1:]
    bound = list(inspect.signature(getattr(SparseNetwork, method)).parameters.values())[1:]
    assert [(p.name, p.kind, p.default) for p in bound] == [
        (p.name, p.kind, p.default) for p in function
    ]
