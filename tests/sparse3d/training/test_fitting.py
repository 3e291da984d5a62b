"""fit, EpochRecord and TrainingLog: several epochs, learning-rate decay, the table and plot."""

import sys
from unittest import mock

import pytest
import torch

from graphnn.sparse3d.training import (
    EpochRecord,
    EpochReport,
    TrainingLog,
    evaluate,
    fit,
)
from tests.sparse3d.training.workloads import network, shapes


def test_fit_reduces_the_training_loss():
    torch.manual_seed(2)
    train = shapes(6, seed=2)
    fixed = shapes(6, "test", seed=2)  # the same meshes, without training augmentation
    fixed.pictures = train.pictures
    net = network(batch_norm=False)
    before = evaluate(net, fixed).mean_loss
    log = fit(net, train, epochs=10, batch_size=4, lr=0.1)
    after = evaluate(net, fixed).mean_loss
    assert after < before - 0.05
    assert len(log) == 10 and all(r.train.samples == 12 for r in log)


def test_fit_trains_with_one_optimizer_for_the_whole_run():
    data, net = shapes(), network()
    seen = []
    original = torch.optim.SGD.step

    def step(self, *args, **kwargs):
        seen.append(id(self))
        return original(self, *args, **kwargs)

    with mock.patch.object(torch.optim.SGD, "step", step):
        fit(net, data, epochs=3, batch_size=4, progress=False)
    assert len(seen) == 3 * 2 and len(set(seen)) == 1  # 2 batches an epoch, one SGD


def test_fit_log_and_learning_rate_decay(tmp_path):
    train, test = shapes(), shapes(1, kind="test", seed=1)
    net, seen = network(), []
    log = fit(
        net, train, test, epochs=3, batch_size=4, lr=0.1, lr_decay=0.5, test_every=2,
        on_epoch=seen.append,
    )  # fmt: skip
    assert isinstance(log, TrainingLog) and len(log) == 3
    assert seen == list(log)  # each record, as its epoch ended
    assert [(r.epoch, r.lr, r.test is not None) for r in log] == [
        (1, 0.1, False),
        (2, 0.05, True),
        (3, 0.025, True),
    ]
    assert train.epoch == 3 and test.epoch == 0
    rows = log.as_dicts()
    assert "test_accuracy" not in rows[0] and rows[1]["test_samples"] == 2
    assert rows[2]["train_samples"] == 6 and "test_per_class_accuracy" in rows[2]
    lines = str(log).splitlines()
    assert lines[0].split() == [
        "epoch", "lr", "train", "error", "train", "loss", "test", "error", "test", "loss", "seconds"
    ]  # fmt: skip
    assert len(lines) == 4 and lines[1].split()[4:6] == ["-", "-"]
    path = log.plot(tmp_path / "curves.png", title="shapes")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_decays_a_given_optimizer():
    net = network()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.2)
    log = fit(net, shapes(), epochs=2, batch_size=4, optimizer=optimizer, lr_decay=0.5)
    assert [r.lr for r in log] == [0.2, 0.1] and optimizer.param_groups[0]["lr"] == 0.1
    assert all(r.test is None for r in log)


def test_plot_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="no epoch"):
        TrainingLog().plot(tmp_path / "x.png")
    log = TrainingLog([EpochRecord(1, 0.1, EpochReport(4, 0.5, 0.7, None, 0.1, 40.0))])
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install graphnn\[examples\]"):
        log.plot(tmp_path / "x.png")


def test_an_epoch_record_flattens_its_reports():
    train = EpochReport(6, 0.5, 0.7, None, 0.25, 24.0)
    test = evaluate(network(), shapes(1, kind="test"))
    untested = EpochRecord(1, 0.1, train).as_dict()
    prefixed = {f"train_{k}": v for k, v in train.as_dict().items()}
    assert untested == {"epoch": 1, "lr": 0.1, **prefixed}
    row = EpochRecord(2, 0.05, train, test).as_dict()
    assert row["test_accuracy"] == test.accuracy and row["test_samples"] == 2
    assert "test_confusion" not in row and row["test_per_class_accuracy"] == test.per_class_accuracy


def test_a_training_log_table_shows_the_test_columns_when_tested():
    train = EpochReport(6, 0.5, 0.7, None, 0.25, 24.0)
    test = evaluate(network(), shapes(1, kind="test"))
    log = TrainingLog([EpochRecord(1, 0.1, train), EpochRecord(2, 0.05, train, test)])
    assert len(log) == 2 and [r.epoch for r in log] == [1, 2]
    lines = str(log).splitlines()
    assert lines[1].split() == ["1", "0.1", "0.5000", "0.7000", "-", "-", "0.25"]
    second = lines[2].split()
    assert second[:4] == ["2", "0.05", "0.5000", "0.7000"]
    assert float(second[4]) == pytest.approx(test.error_rate, abs=1e-4)
    assert float(second[-1]) == pytest.approx(0.25 + test.seconds, abs=0.01)  # train + test
    assert [row["epoch"] for row in log.as_dicts()] == [1, 2]
