"""evaluate and predict: test-time repeats, confusion, per-class accuracy, CSV files."""

import csv

import pytest
import torch

from graphnn.sparse3d.training import (
    EvaluationReport,
    evaluate,
    predict,
)
from tests.sparse3d.training.workloads import network, shapes


def test_evaluate_averages_the_repeats():
    data, net = shapes(kind="test"), network()
    net.train()
    torch.manual_seed(5)
    report = evaluate(net, data, repeats=3)
    assert net.training  # the mode is restored
    torch.manual_seed(5)
    passes = [predict(net, data) for _ in range(3)]
    assert not torch.equal(passes[0], passes[1])  # each pass voxelizes anew (random rotation)
    assert torch.allclose(report.probabilities, torch.stack(passes).mean(dim=0), atol=1e-6)
    assert report.probabilities.shape == (6, 2) and report.probabilities.dtype == torch.float32
    assert torch.allclose(report.probabilities.sum(dim=1), torch.ones(6))
    assert report.repeats == 3 and report.samples == 6
    assert torch.equal(report.labels, torch.tensor([0, 0, 0, 1, 1, 1]))


def test_evaluate_with_a_seeded_data_set_is_reproducible():
    data, net = shapes(kind="test", seed=0), network()
    data.seed = 7  # the augmentation is a function of (seed, epoch, index)
    data.set_epoch(4)
    first, second = evaluate(net, data, repeats=3), evaluate(net, data, repeats=3)
    assert torch.equal(first.probabilities, second.probabilities)
    assert data.epoch == 4  # restored
    passes = []
    for epoch in (4, 5, 6):
        data.set_epoch(epoch)
        passes.append(predict(net, data))
    assert torch.allclose(first.probabilities, torch.stack(passes).mean(dim=0), atol=1e-6)


def test_confusion_matrix_and_per_class_accuracy():
    data, net = shapes(2, kind="test", classes=["box", "sphere", "torus"]), network(3)
    report = evaluate(net, data, repeats=2)
    assert isinstance(report, EvaluationReport)
    predicted = report.predictions
    assert torch.equal(predicted, report.probabilities.argmax(dim=1))
    assert report.confusion.dtype == torch.int64 and report.confusion.shape == (3, 3)
    assert int(report.confusion.sum()) == 6
    for i in range(3):
        for j in range(3):
            expected = int(((report.labels == i) & (predicted == j)).sum())
            assert int(report.confusion[i, j]) == expected
        accuracy = float((predicted[report.labels == i] == i).double().mean())
        assert report.per_class_accuracy[data.class_names[i]] == pytest.approx(accuracy)
    assert list(report.per_class_accuracy) == ["box", "sphere", "torus"]
    assert report.accuracy == pytest.approx(float(report.confusion.trace()) / 6)
    assert report.error_rate == pytest.approx(1 - report.accuracy)
    text = str(report)
    assert text.startswith("evaluation: 6 samples x 2 repeats") and "torus" in text
    assert report.as_dict()["confusion"] == report.confusion.tolist()


def test_a_class_without_samples_has_nan_accuracy():
    data = shapes(2, kind="test")
    data.class_names = ["box", "sphere", "cone"]  # named but absent
    report = evaluate(network(3), data)
    assert report.per_class_accuracy["cone"] != report.per_class_accuracy["cone"]
    assert report.class_names == ("box", "sphere", "cone")


def test_csv_files(tmp_path):
    data, net = shapes(kind="test"), network()
    report = evaluate(
        net, data, repeats=2, predictions=tmp_path / "p.csv", confusion=tmp_path / "c.csv"
    )
    with open(tmp_path / "p.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["index", "label", "predicted", "p_box", "p_sphere"]
    assert [int(r["index"]) for r in rows] == list(range(6))
    assert [int(r["label"]) for r in rows] == report.labels.tolist()
    assert [int(r["predicted"]) for r in rows] == report.predictions.tolist()
    probabilities = torch.tensor([[float(r["p_box"]), float(r["p_sphere"])] for r in rows])
    assert torch.allclose(probabilities, report.probabilities, atol=1e-5)
    with open(tmp_path / "c.csv", newline="") as file:
        table = list(csv.reader(file))
    assert table[0] == ["true \\ predicted", "box", "sphere"]
    assert [row[0] for row in table[1:]] == ["box", "sphere"]
    assert [[int(v) for v in row[1:]] for row in table[1:]] == report.confusion.tolist()
