import copy
import io

import networkx as nx
import pytest
import torch
import torch.nn.functional as F

from graphnn import assert_graphs_equal, read_graphml, write_graphml
from graphnn.sparse3d import SparseDataset, SparseVoxelTensor, training
from graphnn.sparse3d.layers.conv import SparseConv3d
from graphnn.sparse3d.network.model import LayerActivation, SparseNetwork

SIZE = 14  # input_spatial_size of small_net


def small_net(n_classes=2, batch_norm=False, seed=0):
    torch.manual_seed(seed)
    net = SparseNetwork(in_features=1, n_classes=n_classes)
    net.add_conv(4, 3)
    if batch_norm:
        net.add_batch_norm()
    net.add_lenet_mp(6, 2, 1, 3, 2)
    if batch_norm:
        net.add_batch_norm()
    net.add_lenet_mp(8, 2, 1, 3, 2).add_lenet_mp(8, 2, 1, 1, 1)
    return net.add_classifier()


@pytest.fixture(scope="module")
def batch():
    data = SparseDataset.shapes(
        2, 10, classes=["box", "torus", "sphere"], seed=0, kind="test", spatial_size=SIZE
    )
    return next(iter(data.loader(batch_size=6, shuffle=False)))


# --- spatial size arithmetic -----------------------------------------------------------------


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


# --- forward ---------------------------------------------------------------------------------


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


# --- graph <-> model -------------------------------------------------------------------------


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


# --- channel pruning -------------------------------------------------------------------------


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


# --- activations, counts, weights, files -----------------------------------------------------


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


def test_get_set_weights(batch):
    net, other = small_net(seed=0).eval(), small_net(seed=1).eval()
    weights = net.get_weights()
    assert [w.shape for w in weights["L0"]] == [(27, 1, 4), (4,), (1, 4)]
    other.set_weights(weights)
    torch.testing.assert_close(other(batch), net(batch), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"L0\.weight has shape"):
        other.set_weights({"L0": [w[:1] for w in weights["L0"]]})
    with pytest.raises(ValueError, match="'L1' has no weights"):
        other.set_weights({"L1": []})


def test_save_load(tmp_path, batch):
    net = small_net(batch_norm=True).eval()
    path = tmp_path / "net.pt"
    net.save(path)
    assert set(torch.load(path, weights_only=True)) == {"format", "graph", "state_dict"}
    loaded = SparseNetwork.load(path).eval()
    assert_graphs_equal(loaded.graph, net.graph)
    torch.testing.assert_close(loaded(batch), net(batch), rtol=0, atol=0)
    # same prefix, another head: load the first five layers only
    torch.manual_seed(3)
    prefix = SparseNetwork(n_classes=5).add_conv(4, 3).add_batch_norm().add_lenet_mp(6, 2, 1, 3, 2)
    prefix.load_weights(path, first_n_layers=5)
    assert torch.equal(prefix.layers["L3"].weight, net.layers["L3"].weight)
    assert torch.equal(prefix.layers["L2"].running_var, net.layers["L2"].running_var)
    with pytest.raises(ValueError, match="node L6 differs"):
        SparseNetwork().add_conv(4, 3).add_batch_norm().add_lenet_mp(6, 2, 1, 3, 2).add_conv(
            9, 3
        ).load_weights(path)
    torch.save({"a": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"not a file written by SparseNetwork\.save"):
        SparseNetwork.load(tmp_path / "other.pt")


# --- training --------------------------------------------------------------------------------


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
