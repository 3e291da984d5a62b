"""Weights in and out of a SparseNetwork: numpy arrays, files, the first n layers."""

import numpy as np
import pytest
import torch

from graphnn import assert_graphs_equal
from graphnn.sparse3d.network.model import SparseNetwork
from tests.sparse3d.network.networks import small_net


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


def test_weights_round_trip_through_numpy_arrays():
    net, other = small_net(batch_norm=True, seed=0), small_net(batch_norm=True, seed=1)
    weights = net.get_weights()
    with_state = [v for v in net.layers if net.layers[v].state_dict()]
    assert list(weights) == with_state  # the nodes with parameters or buffers, in order
    assert all(isinstance(a, np.ndarray) for arrays in weights.values() for a in arrays)
    weights["L0"][0][...] = 0  # copies: editing them leaves the network alone
    assert bool((net.layers["L0"].weight != 0).any())
    other.set_weights(net.get_weights())
    state, expected = other.state_dict(), net.state_dict()
    assert all(torch.equal(state[k], expected[k]) for k in expected)
    assert other.set_weights({"L0": net.get_weights()["L0"]}) is other  # some nodes only


def test_set_weights_names_what_does_not_fit():
    net = small_net()
    weights = net.get_weights()
    with pytest.raises(ValueError, match="node 'L99' has no weights in this network"):
        net.set_weights({"L99": []})
    with pytest.raises(ValueError, match="node 'L0' takes 3 arrays, got 2"):
        net.set_weights({"L0": weights["L0"][:2]})
    with pytest.raises(ValueError, match=r"layers\.L11\.weight has shape \(2, 8\), got \(8, 2\)"):
        net.set_weights({"L11": [weights["L11"][0].T, weights["L11"][1], weights["L11"][2]]})


def test_load_weights_of_the_first_layers_only(tmp_path):
    net = small_net(seed=0)
    path = tmp_path / "net.pt"
    net.save(path)
    order = net.execution_order[1:]
    for n in (0, 1, 3, len(order)):
        other = small_net(seed=1)
        fresh = {v: other.layers[v].weight.detach().clone() for v in ("L0", "L2", "L5", "L11")}
        assert other.load_weights(path, first_n_layers=n) is other
        for v, before in fresh.items():
            loaded = order.index(v) < n
            assert torch.equal(other.layers[v].weight, net.layers[v].weight if loaded else before)
    loaded = SparseNetwork.load(path, first_n_layers=1)
    assert torch.equal(loaded.layers["L0"].weight, net.layers["L0"].weight)
    assert not torch.equal(loaded.layers["L2"].weight, net.layers["L2"].weight)
    assert_graphs_equal(loaded.graph, net.graph)


def test_load_errors_name_the_file_and_the_node(tmp_path):
    path = tmp_path / "net.pt"
    small_net().save(path)
    wider = SparseNetwork(n_classes=2).add_conv(5, 3)
    with pytest.raises(ValueError, match=r"'.*net\.pt': node L0 differs, layers\.L0\.bias has "
                       r"shape \(5,\) here and \(4,\) in the file"):  # fmt: skip
        wider.load_weights(path)
    other = SparseNetwork(n_classes=2).add_conv(4, 3).add_batch_norm()
    with pytest.raises(ValueError, match=r"node L2 differs, layers\.L2\.bias has shape \(4,\) "
                       r"here and \(6,\) in the file"):  # fmt: skip
        other.load_weights(path)  # L2 is a conv of 6 channels in the file
    other.load_weights(path, first_n_layers=2)  # the first two nodes do match
    longer = small_net(seed=1).add_activation("prelu")
    with pytest.raises(ValueError, match=r"node L12 differs, layers\.L12\.weight has shape "
                       r"\(2,\) here and nothing in the file"):  # fmt: skip
        longer.load_weights(path)
    longer.load_weights(path, first_n_layers=len(longer.execution_order) - 2)


def test_first_n_layers_must_be_a_count(tmp_path):
    path = tmp_path / "net.pt"
    small_net().save(path)
    for bad, error in ((-2, ValueError), (True, TypeError), ("2", TypeError)):
        with pytest.raises(error, match="first_n_layers"):
            small_net(seed=1).load_weights(path, bad)
    assert small_net(seed=1).load_weights(path, 0) is not None  # nothing loaded, no error
