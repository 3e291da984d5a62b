"""What training and evaluation return: an epoch's report and an evaluation's report.

Both are frozen dataclasses, printable, with ``as_dict()`` for tables and
files.  :class:`EpochReport` is what :func:`~graphnn.sparse3d.training.train.train_epoch`
returns, :class:`EvaluationReport` what
:func:`~graphnn.sparse3d.training.evaluation.evaluate` returns.

Examples
--------
>>> print(EpochReport(8, 0.25, 0.5, None, 0.1, 80.0))
train: 8 samples, error rate 0.2500, mean loss 0.5000, 0.10 s (80.0 samples/s)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from graphnn._table import text_table

__all__ = ["EpochReport", "EvaluationReport"]


@dataclass(frozen=True)
class EpochReport:
    """What :func:`train_epoch` returns; printable.

    Attributes
    ----------
    samples : int
        Samples trained on.
    error_rate : float
        Fraction of samples whose largest logit was not their label, during
        training (augmented inputs, training mode).
    mean_loss : float
        The loss averaged over the samples.
    multiply_adds_per_sample : float or None
        ``network.multiply_adds(x)`` summed over the batches, per sample;
        None when the network has no ``multiply_adds``.
    seconds : float
        Wall-clock time of the epoch, loading included.
    samples_per_second : float
    """

    samples: int
    error_rate: float
    mean_loss: float
    multiply_adds_per_sample: float | None
    seconds: float
    samples_per_second: float

    def as_dict(self) -> dict:
        """Return the fields as a dict."""
        return asdict(self)

    def __str__(self) -> str:
        madds = self.multiply_adds_per_sample
        counted = "" if madds is None else f", {madds:.4g} multiply-adds/sample"
        return (
            f"train: {self.samples} samples, error rate {self.error_rate:.4f}, "
            f"mean loss {self.mean_loss:.4f}{counted}, {self.seconds:.2f} s "
            f"({self.samples_per_second:.1f} samples/s)"
        )


@dataclass(frozen=True, eq=False)
class EvaluationReport:
    """What :func:`evaluate` returns; printable, with the confusion matrix.

    Attributes
    ----------
    samples, repeats : int
        Samples of the data set, and passes over it.
    accuracy, error_rate : float
        Of the averaged probabilities' most likely class.
    mean_loss : float
        The loss of each pass's logits, averaged over samples and passes.
    per_class_accuracy : dict of str to float
        By class name, in class order; NaN for a class without samples.
    confusion : torch.Tensor
        ``int64 [C, C]``: row = true class, column = predicted class.
    probabilities : torch.Tensor
        ``float32 [N, C]`` on the CPU: softmax averaged over the passes, row
        ``i`` for sample ``i`` of the data set.
    labels : torch.Tensor
        ``int64 [N]``, the true classes.
    class_names : tuple of str
        ``C`` names: the data set's, or the class index for classes it does not name.
    seconds : float
    """

    samples: int
    repeats: int
    accuracy: float
    error_rate: float
    mean_loss: float
    per_class_accuracy: dict[str, float]
    confusion: torch.Tensor
    probabilities: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    seconds: float

    @property
    def predictions(self) -> torch.Tensor:
        """``int64 [N]``: the most likely class of each sample."""
        return self.probabilities.argmax(dim=1)

    def as_dict(self) -> dict:
        """Return the numbers as a dict: the scalars, per-class accuracy and confusion (lists)."""
        return {
            "samples": self.samples,
            "repeats": self.repeats,
            "accuracy": self.accuracy,
            "error_rate": self.error_rate,
            "mean_loss": self.mean_loss,
            "seconds": self.seconds,
            "per_class_accuracy": dict(self.per_class_accuracy),
            "confusion": self.confusion.tolist(),
        }

    def __str__(self) -> str:
        header = ["class", "samples", "accuracy", *self.class_names]
        rows = [
            [name, str(int(row.sum())), f"{self.per_class_accuracy[name]:.4f}"]
            + [str(int(v)) for v in row]
            for name, row in zip(self.class_names, self.confusion, strict=True)
        ]
        title = (
            f"evaluation: {self.samples} samples x {self.repeats} repeats, accuracy "
            f"{self.accuracy:.4f} (error rate {self.error_rate:.4f}), mean loss "
            f"{self.mean_loss:.4f}, {self.seconds:.2f} s; rows true, columns predicted"
        )
        return title + "\n" + text_table(header, rows, align="l" + "r" * (len(header) - 1))
