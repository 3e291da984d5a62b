"""PySparseConvNet compatibility: its camelCase ``SparseNetwork`` methods, on graphnn's network.

``from PySparseConvNet import SparseNetwork`` becomes
``from graphnn.compat.pysparseconvnet import SparseNetwork`` (also
``graphnn.compat.SparseNetwork``): graphnn's
:class:`~graphnn.sparse3d.SparseNetwork` with PySparseConvNet's builder and
workflow names, in its argument order.  Each is a thin translation to
graphnn's own name (the table below); the network stays a graphnn network,
so ``to_graph()``, pruning and the rest work on it.

=============================  ===========================================================
PySparseConvNet                graphnn
=============================  ===========================================================
``addLeNetLayerMP``            :meth:`~graphnn.sparse3d.SparseNetwork.add_lenet_mp`
``addConvolutionalLayer``      :meth:`~graphnn.sparse3d.SparseNetwork.add_conv` (valid)
``addSoftmaxLayer``            :meth:`~graphnn.sparse3d.SparseNetwork.add_softmax`
``processDataset``             :func:`graphnn.sparse3d.train_epoch` with the network's SGD
``processDatasetRepeatTest``   :func:`graphnn.sparse3d.evaluate` with ``nReps`` repeats
=============================  ===========================================================

What differs on purpose: ``learningRate`` defaults to 0.01, not to
SparseConvNet's 0 (graphnn trains with a positive rate and evaluates with
``processDatasetRepeatTest``), and the fractional max poolings
(``addLeNetLayerROFMP`` / ``POFMP``) are not implemented yet.

Like PySparseConvNet's, the network owns its optimizer's state: the first
``processDataset`` makes an SGD (:attr:`SparseNetwork.optimizer`), the later
ones keep its momentum (a new one is made when the trainable parameters
changed, e.g. after ``shrink``).  graphnn's own functions keep no optimizer
on the network.

Examples
--------
>>> from graphnn.sparse3d import SparseDataset
>>> net = SparseNetwork(3, 1, 2)
>>> _ = net.addLeNetLayerMP(8, 2, 1, 3, 2).addLeNetLayerMP(16, 2, 1, 1, 1).addSoftmaxLayer()
>>> net.input_spatial_size()
6
>>> data = SparseDataset.shapes(2, 4, classes=["box", "torus"], seed=0, spatial_size=6)
>>> net.processDataset(data, 4, 0.1).samples
4
"""

from __future__ import annotations

import torch

from graphnn.sparse3d.network.model import SparseNetwork as _SparseNetwork
from graphnn.sparse3d.training.reports import EpochReport, EvaluationReport
from graphnn.sparse3d.training.train import sgd

__all__ = ["PySparseConvNetMethods", "SparseNetwork"]


def _holds(optimizer: torch.optim.Optimizer, params: list[torch.nn.Parameter]) -> bool:
    """Whether ``optimizer`` holds exactly ``params``, its state on their devices."""
    held = [p for group in optimizer.param_groups for p in group["params"]]
    return (
        len(held) == len(params)
        and all(a is b for a, b in zip(held, params, strict=True))
        and all(
            value.device == p.device
            for p, state in optimizer.state.items()
            for value in state.values()
            if isinstance(value, torch.Tensor)
        )
    )


class PySparseConvNetMethods:
    """PySparseConvNet's method names, for a graphnn ``SparseNetwork`` (a mixin)."""

    #: The SGD ``processDataset`` trains with (made by the first call, then kept).
    optimizer: torch.optim.Optimizer | None = None

    def addLeNetLayerMP(
        self,
        nFeatures: int,
        filterSize: int,
        filterStride: int,
        poolSize: int,
        poolStride: int,
        activationFn: str | None = "vleakyrelu",
        dropout: float = 0.0,
        minActiveInputs: int = 1,
    ) -> _SparseNetwork:
        """Add a convolution and its max pooling (``add_lenet_mp``)."""
        return self.add_lenet_mp(
            nFeatures, filterSize, filterStride, poolSize, poolStride, activationFn, dropout,
            minActiveInputs,
        )  # fmt: skip

    def addConvolutionalLayer(
        self,
        nFeatures: int,
        filterSize: int,
        filterStride: int,
        activationFn: str | None = "vleakyrelu",
        dropout: float = 0.0,
        minActiveInputs: int = 1,
    ) -> _SparseNetwork:
        """Add a valid convolution, pointwise for size 1 (``add_conv``)."""
        submanifold = filterSize == 1 and filterStride == 1
        return self.add_conv(
            nFeatures, filterSize, filterStride, activationFn, dropout, minActiveInputs, submanifold
        )

    def addSoftmaxLayer(self) -> _SparseNetwork:
        """Add the classifier (``add_softmax``)."""
        return self.add_softmax()

    def addLeNetLayerROFMP(self, *args, **kwargs) -> _SparseNetwork:
        """Not supported: random overlapping fractional max pooling (ROFMP) is not implemented."""
        raise NotImplementedError("addLeNetLayerROFMP: fractional max pooling is not implemented")

    def addLeNetLayerPOFMP(self, *args, **kwargs) -> _SparseNetwork:
        """Not supported: pseudo-random fractional max pooling (POFMP) is not implemented."""
        raise NotImplementedError("addLeNetLayerPOFMP: fractional max pooling is not implemented")

    def processDataset(
        self,
        dataset,
        batchSize: int = 100,
        learningRate: float = 0.01,
        momentum: float = 0.99,
        **kwargs,
    ) -> EpochReport:
        """PySparseConvNet's ``processDataset(dataset, batchSize, learningRate, momentum)``.

        One training epoch (:func:`~graphnn.sparse3d.train_epoch`) with the
        network's SGD (:attr:`optimizer`), its learning rate and momentum set
        to these; other keywords (``weight_decay``, ``loss``, ``progress``,
        ...) go to :func:`~graphnn.sparse3d.train_epoch`.
        """
        weight_decay = kwargs.pop("weight_decay", 0.0)
        if kwargs.get("optimizer") is not None:  # the caller's own: used as given
            return self.train_epoch(dataset, batchSize, **kwargs)
        kwargs.pop("optimizer", None)
        params = [p for p in self.parameters() if p.requires_grad]
        fresh = sgd(self, learningRate, momentum, weight_decay)  # checks the arguments
        held = getattr(self, "optimizer", None)  # also for a plain SparseNetwork (deprecated)
        if held is None or not _holds(held, params):
            self.optimizer = fresh
        for group in self.optimizer.param_groups:
            group.update(lr=learningRate, momentum=momentum, weight_decay=weight_decay)
        return self.train_epoch(dataset, batchSize, self.optimizer, **kwargs)

    def processDatasetRepeatTest(
        self,
        dataset,
        batchSize: int = 100,
        nReps: int = 12,
        predictionsFilename: str = "",
        confusionMatrixFilename: str = "",
        **kwargs,
    ) -> EvaluationReport:
        """PySparseConvNet's ``processDatasetRepeatTest(dataset, batchSize=100, nReps=12, ...)``.

        :func:`~graphnn.sparse3d.evaluate` with ``nReps`` test-time repeats,
        with PySparseConvNet's arguments in its order (an empty file name
        writes nothing); other keywords go to :func:`~graphnn.sparse3d.evaluate`.
        """
        return self.evaluate(
            dataset,
            nReps,
            batchSize,
            predictions=predictionsFilename or None,
            confusion=confusionMatrixFilename or None,
            **kwargs,
        )


class SparseNetwork(PySparseConvNetMethods, _SparseNetwork):
    """graphnn's :class:`~graphnn.sparse3d.SparseNetwork` with PySparseConvNet's method names.

    Parameters
    ----------
    dimension, in_features, n_classes, seed
        As for :class:`graphnn.sparse3d.SparseNetwork` (PySparseConvNet's
        ``SparseNetwork(dimension, nInputFeatures, nClasses)`` order).

    Examples
    --------
    >>> net = SparseNetwork(3, 1, 10)
    >>> for i in range(6):  # SparseConvNet's DeepC2
    ...     _ = net.addLeNetLayerMP(32 * (i + 1), 2, 1, 3 if i < 5 else 1, 2 if i < 5 else 1)
    >>> net.addSoftmaxLayer().input_spatial_size()
    126
    """
