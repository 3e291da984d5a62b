import warnings

import pytest
import torch

import graphnn.sparse3d as sparse3d
from graphnn import compat
from graphnn.compat.pysparseconvnet import SparseNetwork
from graphnn.sparse3d import SparseDataset, training

SIZE = 16  # input_spatial_size of net()


def net(n_classes=2, seed=0):
    network = SparseNetwork(3, 1, n_classes, seed=seed)
    network.addConvolutionalLayer(4, 3, 1)
    network.addLeNetLayerMP(6, 2, 1, 3, 2).addLeNetLayerMP(8, 2, 1, 3, 2)
    return network.addLeNetLayerMP(8, 2, 1, 1, 1).addSoftmaxLayer()


def data(count=2, kind="train"):
    return SparseDataset.shapes(
        count, 10, classes=["box", "torus"], kind=kind, seed=0, spatial_size=SIZE
    )


def test_the_compat_network_is_graphnns_network():
    network = net()
    assert isinstance(network, sparse3d.SparseNetwork)
    assert compat.SparseNetwork is SparseNetwork
    assert network.input_spatial_size() == SIZE


def test_deepc2_is_126_as_in_sparseconvnet():
    network = SparseNetwork(3, 1, 10)
    for i in range(6):
        network.addLeNetLayerMP(32 * (i + 1), 2, 1, 3 if i < 5 else 1, 2 if i < 5 else 1)
    assert network.addSoftmaxLayer().input_spatial_size() == 126


def test_the_camelcase_builders_build_the_snake_case_graph():
    old = net(seed=3)
    new = sparse3d.SparseNetwork(in_features=1, n_classes=2, seed=3)
    new.add_conv(4, 3, 1, submanifold=False)
    new.add_lenet_mp(6, 2, 1, 3, 2).add_lenet_mp(8, 2, 1, 3, 2)
    new.add_lenet_mp(8, 2, 1, 1, 1).add_softmax()
    assert list(old.graph.nodes(data=True)) == list(new.graph.nodes(data=True))
    for key, value in new.state_dict().items():
        assert torch.equal(old.state_dict()[key], value)  # same seed, same parameters
    # SparseConvNet's convolutional layer is valid; size 1 is pointwise (submanifold)
    assert SparseNetwork().addConvolutionalLayer(4, 3, 1).input_spatial_size(4) == 6
    assert SparseNetwork().addConvolutionalLayer(4, 1, 1).graph.nodes["L0"]["op"] == (
        "submanifold_conv"
    )


def test_fractional_max_pooling_is_refused_clearly():
    with pytest.raises(NotImplementedError, match="ROFMP"):
        SparseNetwork().addLeNetLayerROFMP(32, 2, 1, 3, 2)
    with pytest.raises(NotImplementedError, match="POFMP"):
        SparseNetwork().addLeNetLayerPOFMP(32, 2, 1, 3, 2)


def test_process_dataset_keeps_the_networks_momentum():
    network = net()
    train = data()
    report = network.processDataset(train, 4, 0.01, progress=False)  # PySparseConvNet's order
    assert isinstance(report, training.EpochReport) and report.samples == len(train)
    optimizer = network.optimizer
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.param_groups[0]["momentum"] == 0.99  # PySparseConvNet's default
    assert optimizer.state  # momentum buffers after the first epoch
    network.processDataset(train, 4, learningRate=0.05, momentum=0.5, progress=False)
    assert network.optimizer is optimizer  # kept, hyper-parameters set in place
    assert optimizer.param_groups[0]["lr"] == 0.05 and optimizer.param_groups[0]["momentum"] == 0.5
    network.prune_channels("L0", [0]).shrink()  # new parameters: a new optimizer
    network.processDataset(train, 4, 0.01, progress=False)
    assert network.optimizer is not optimizer
    held = {id(p) for group in network.optimizer.param_groups for p in group["params"]}
    assert held == {id(p) for p in network.parameters()}


def test_process_dataset_takes_an_optimizer_of_ones_own():
    network = net()
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    network.processDataset(data(), 4, optimizer=optimizer, progress=False)
    assert optimizer.state and network.optimizer is None


def test_process_dataset_repeat_test_takes_pysparseconvnets_order(tmp_path):
    network = net()
    test = data(1, kind="test")
    path = tmp_path / "predictions.csv"
    report = network.processDatasetRepeatTest(test, 1, 3, str(path), progress=False)
    assert report.repeats == 3 and report.samples == len(test)  # batches of 1, 3 poses
    assert path.exists()
    report = network.processDatasetRepeatTest(test, nReps=2, batchSize=2, progress=False)
    assert report.repeats == 2


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("addLeNetLayerMP", (4, 2, 1, 1, 1)),
        ("addConvolutionalLayer", (4, 3, 1)),
        ("addSoftmaxLayer", ()),
    ],
)
def test_the_old_names_on_the_core_class_warn_and_still_work(name, args):
    core = sparse3d.SparseNetwork(in_features=1, n_classes=2)
    with pytest.warns(DeprecationWarning, match=rf"SparseNetwork\.{name} .*graphnn\.compat"):
        result = getattr(core, name)(*args)
    assert result is core and core.graph.number_of_nodes() > 1


def test_process_dataset_on_the_core_class_warns_and_trains():
    core = sparse3d.SparseNetwork(in_features=1, n_classes=2)
    core.add_conv(4, 3).add_lenet_mp(8, 2, 1, 3, 2).add_lenet_mp(8, 2, 1, 3, 2)
    core.add_lenet_mp(8, 2, 1, 1, 1).add_softmax()
    with pytest.warns(DeprecationWarning, match="processDataset"):
        report = core.processDataset(data(), 4, 0.01, progress=False)
    assert report.samples == 4


def test_graphnns_own_names_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sparse3d.SparseNetwork(in_features=1, n_classes=2).add_lenet_mp(4, 2, 1, 1, 1).add_softmax()
