"""EpochReport and EvaluationReport: frozen records, their text and their dicts."""

import dataclasses
import math

import pytest
import torch

from graphnn.sparse3d.training import EpochReport, EvaluationReport


def evaluation_report(**changes) -> EvaluationReport:
    fields = dict(
        samples=5, repeats=2, accuracy=0.6, error_rate=0.4, mean_loss=0.75,
        per_class_accuracy={"box": 0.5, "torus": 2 / 3, "cone": math.nan},
        confusion=torch.tensor([[1, 1, 0], [1, 2, 0], [0, 0, 0]]),
        probabilities=torch.tensor(
            [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.6, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]]
        ),
        labels=torch.tensor([0, 1, 1, 1, 0]), class_names=("box", "torus", "cone"), seconds=1.5,
    )  # fmt: skip
    fields.update(changes)
    return EvaluationReport(**fields)


def test_an_epoch_report_prints_and_gives_its_fields():
    report = EpochReport(8, 0.25, 0.5, None, 0.1, 80.0)
    assert str(report) == (
        "train: 8 samples, error rate 0.2500, mean loss 0.5000, 0.10 s (80.0 samples/s)"
    )
    assert report.as_dict() == {
        "samples": 8, "error_rate": 0.25, "mean_loss": 0.5, "multiply_adds_per_sample": None,
        "seconds": 0.1, "samples_per_second": 80.0,
    }  # fmt: skip
    counted = EpochReport(8, 0.25, 0.5, 123456.0, 0.1, 80.0)
    assert ", 1.235e+05 multiply-adds/sample, 0.10 s" in str(counted)
    assert counted.as_dict()["multiply_adds_per_sample"] == 123456.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.samples = 9
    assert report == EpochReport(8, 0.25, 0.5, None, 0.1, 80.0)  # compared by value


def test_an_evaluation_report_prints_its_confusion_matrix():
    report = evaluation_report()
    lines = str(report).splitlines()
    assert lines[0] == (
        "evaluation: 5 samples x 2 repeats, accuracy 0.6000 (error rate 0.4000), mean loss "
        "0.7500, 1.50 s; rows true, columns predicted"
    )
    assert lines[1].split() == ["class", "samples", "accuracy", "box", "torus", "cone"]
    rows = [line.split() for line in lines[2:] if not set(line) <= set("- ")]
    assert rows == [
        ["box", "2", "0.5000", "1", "1", "0"],
        ["torus", "3", "0.6667", "1", "2", "0"],
        ["cone", "0", "nan", "0", "0", "0"],
    ]


def test_an_evaluation_report_as_a_dict():
    report = evaluation_report()
    data = report.as_dict()
    assert list(data) == [
        "samples", "repeats", "accuracy", "error_rate", "mean_loss", "seconds",
        "per_class_accuracy", "confusion",
    ]  # fmt: skip
    assert data["confusion"] == [[1, 1, 0], [1, 2, 0], [0, 0, 0]]
    assert data["per_class_accuracy"] is not report.per_class_accuracy  # a copy
    assert data["per_class_accuracy"]["torus"] == pytest.approx(2 / 3)
    assert "probabilities" not in data and "labels" not in data


def test_the_predictions_are_the_most_likely_classes():
    report = evaluation_report()
    assert report.predictions.tolist() == [0, 1, 1, 0, 1]
    assert report.predictions.dtype == torch.int64
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.accuracy = 1.0
