r"""Train and evaluate sparse 3D classifiers: epochs, test-time augmentation, learning curves.

The workflow of PySparseConvNet (``processDataset``,
``processDatasetRepeatTest``) as functions of any ``network``: a
``torch.nn.Module`` that maps a
:class:`~graphnn.sparse3d.tensor.SparseVoxelTensor` (made with
``SparseVoxelTensor.from_batch``) to logits ``[B, C]``, and optionally has a
``multiply_adds(x)`` method counting the multiply-adds of a forward pass on
``x``.  Models are not training loops: a ``SparseNetwork`` holds its layers
and its graph, these functions train it, and the optimizer is the caller's.

* :func:`train_epoch` (:mod:`~graphnn.sparse3d.training.train`) makes one
  pass over a labelled data set, shuffled and augmented, and returns an
  :class:`EpochReport`; :func:`sgd` makes PySparseConvNet's optimizer;
* :func:`evaluate` (:mod:`~graphnn.sparse3d.training.evaluation`) makes
  ``repeats`` passes over a data set, each voxelized anew (test-time
  augmentation), averages the class probabilities per sample and returns an
  :class:`EvaluationReport`; :func:`predict` returns those probabilities;
* :func:`fit` (:mod:`~graphnn.sparse3d.training.fitting`) alternates the two for
  some epochs and returns a :class:`TrainingLog`.

Data sets are :class:`~graphnn.sparse3d.data.dataset.SparseDataset`\ s (anything
with ``__len__`` and ``loader(batch_size, shuffle=..., num_workers=...)``
yielding :class:`~graphnn.sparse3d.data.batch.SparseBatch`\ es).  Their epoch
counter (``dataset.epoch``, which with a data-set ``seed`` decides the
augmentation) is kept on the data set: :func:`train_epoch` draws with the
current epoch and then advances it; pass ``r`` of :func:`evaluate` and
:func:`predict` uses ``epoch + r`` and the counter is restored afterwards,
so evaluating a seeded data set twice gives the same result.  Without a
seed the augmentation follows torch's random generator.

Progress bars (tqdm) are shown when stderr is a terminal or ``progress=True``.
"""

from graphnn.sparse3d.training.evaluation import evaluate, predict
from graphnn.sparse3d.training.fitting import EpochRecord, TrainingLog, fit
from graphnn.sparse3d.training.reports import EpochReport, EvaluationReport
from graphnn.sparse3d.training.train import sgd, train_epoch

__all__ = [
    "EpochRecord",
    "EpochReport",
    "EvaluationReport",
    "TrainingLog",
    "evaluate",
    "fit",
    "predict",
    "sgd",
    "train_epoch",
]
