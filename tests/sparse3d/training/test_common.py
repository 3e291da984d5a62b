"""The checks every training function shares: the network, the data, labels, losses, layers."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from graphnn.sparse3d.data.dataset import SparseDataset
from graphnn.sparse3d.training import (
    evaluate,
    fit,
    predict,
    train_epoch,
)
from tests.sparse3d.training.workloads import CLASSES, network, shapes


def test_unlabeled_data():
    data, net = shapes(kind="unlabeled"), network()
    probabilities = predict(net, data, repeats=2, batch_size=4)
    assert probabilities.shape == (6, 2)
    assert torch.allclose(probabilities.sum(dim=1), torch.ones(6))
    with pytest.raises(ValueError, match=r"train_epoch needs labels.*use predict"):
        train_epoch(net, data)
    with pytest.raises(ValueError, match="evaluate needs labels"):
        evaluate(net, data)
    with pytest.raises(ValueError, match=r"fit \(test data\) needs labels"):
        fit(net, shapes(), data)


def test_a_label_outside_the_outputs():
    data = shapes(1, classes=["box", "sphere", "torus"])
    with pytest.raises(ValueError, match="has label 2, but the network has 2 outputs"):
        train_epoch(network(2), data, batch_size=3)
    with pytest.raises(ValueError, match="has label 2, but the network has 2 outputs"):
        evaluate(network(2), data)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda n, d: train_epoch(n, d, batch_size=0), ValueError, "batch_size must be a positive"),
        (lambda n, d: evaluate(n, d, repeats=0), ValueError, "repeats must be a positive int"),
        (lambda n, d: predict(n, d, batch_size=1.5), TypeError, "batch_size must be a positive"),
        (lambda n, d: train_epoch(n, d, lr=-1), ValueError, "lr must be a positive number"),
        (lambda n, d: train_epoch(n, d, momentum=1.0), ValueError, r"momentum must be .*\[0, 1\)"),
        (lambda n, d: train_epoch(n, d, weight_decay=-1), ValueError, "weight_decay must be"),
        (lambda n, d: fit(n, d, epochs=0), ValueError, "epochs must be a positive int"),
        (lambda n, d: fit(n, d, lr_decay=1.5), ValueError, r"lr_decay must be .*\(0, 1\]"),
        (lambda n, d: fit(n, d, test_every=0), ValueError, "test_every must be a positive"),
        (lambda n, d: train_epoch(n, d, loss="mse"), TypeError, "loss must be a callable"),
        (lambda n, d: train_epoch(n, d, optimizer=0.1), TypeError, "optimizer must be a torch"),
        (lambda n, d: train_epoch(lambda x: x, d), TypeError, "network must be a torch.nn.Module"),
        (lambda n, d: evaluate(n, list(d)), TypeError, "dataset must be a SparseDataset"),
        (
            lambda n, d: train_epoch(
                n, d, loss=lambda y, t: F.cross_entropy(y, t, reduction="none")
            ),
            TypeError,
            "must return a scalar tensor",
        ),
        (lambda n, d: predict(n[:-2], d), ValueError, r"logits \[6, C\], got SparseVoxelTensor"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(network(), shapes(kind="test"))


def test_empty_data_set():
    empty = SparseDataset("nothing", "test", CLASSES, spatial_size=12)
    for call in (train_epoch, evaluate, predict, fit):
        with pytest.raises(ValueError, match="is empty"):
            call(network(), empty)


class Lift(nn.Module):
    def forward(self, x):
        return x.unsqueeze(2)


class Unfit(nn.Module):
    """A network with a layer that never runs and one whose output is no embedding."""

    def __init__(self):
        super().__init__()
        self.net, self.lift, self.unused = network(), Lift(), nn.Linear(2, 2)

    def forward(self, x):
        return self.lift(self.net(x))


def test_hidden_layer_errors():
    with pytest.raises(ValueError, match=r"hidden='nope' names no layer.*'0', '1'"):
        train_epoch(network(), shapes(1), batch_size=2, hidden="nope")
    with pytest.raises(ValueError, match=r"hidden='unused' ran 0 times"):
        train_epoch(Unfit(), shapes(1), batch_size=2, hidden="unused")
    with pytest.raises(ValueError, match=r"must return a SparseVoxelTensor or one embedding"):
        train_epoch(Unfit(), shapes(1), batch_size=2, hidden="lift", loss=lambda e, y: e.sum())
