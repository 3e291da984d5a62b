r"""Sparse 3D: OFF meshes, voxelization, sparse voxel samples, data sets and batches.

The path of a 3D object into a network: :func:`read_off` reads a mesh
(:class:`Mesh`), :func:`voxelize` marks every voxel its surface passes
through (with the augmentations of :mod:`~graphnn.sparse3d.augment`),
:class:`Off3DPicture` does both lazily with SparseConvNet's train/test
semantics, :class:`SparseDataset` holds pictures and yields
:class:`Sample`\\ s, and :func:`collate` makes a :class:`SparseBatch` of
them.  :data:`SHAPES` and :meth:`SparseDataset.shapes` make labelled
synthetic meshes, so nothing needs a download.

The layers work on a :class:`SparseVoxelTensor` (``SparseVoxelTensor.from_batch``):
:class:`SubmanifoldConv3d`, :class:`SparseConv3d`, :class:`SparseInverseConv3d`,
:class:`SparseConvTranspose3d` (each equal to ``conv3d`` on the dense grid,
restricted to its output sites, with a channel mask), pooling, batch norm,
activations, dropout and :class:`ToDense`.  Kernel maps
(:mod:`~graphnn.sparse3d.kernel_map`) are built once per geometry and shared
through the tensor's cache.  :func:`triplet_loss` and :func:`retrieval_metrics`
(NN, first/second tier, E-measure, DCG, mAP) serve shape retrieval.
:class:`SparseNetwork` is a network of these layers held as a networkx DAG
(:func:`deep_c2`: SparseConvNet's DeepC2, ready-made),
with PySparseConvNet's builder and workflow (:func:`fit`, :func:`train_epoch`,
:func:`evaluate` with test-time augmentation, :func:`predict`, :func:`embed`).

Examples
--------
>>> from graphnn import sparse3d
>>> data = sparse3d.SparseDataset.shapes(2, render_size=16, classes=["box", "torus"], seed=0)
>>> batch = next(iter(data.loader(batch_size=4, shuffle=False)))
>>> batch.batch_size, batch.coords.shape[1], batch.labels.tolist()
(4, 4, [0, 0, 1, 1])
"""

from graphnn.sparse3d.architectures import deep_c2
from graphnn.sparse3d.augment import random_affine, random_rotation, random_translation
from graphnn.sparse3d.batch import Sample, SparseBatch, collate
from graphnn.sparse3d.conv import (
    SparseConv3d,
    SparseConvTranspose3d,
    SparseInverseConv3d,
    SubmanifoldConv3d,
)
from graphnn.sparse3d.dataset import KINDS, DatasetSummary, SparseDataset
from graphnn.sparse3d.functional import sparse_conv
from graphnn.sparse3d.kernel_map import KernelMap
from graphnn.sparse3d.layers import (
    FromDense,
    SparseBatchNorm,
    SparseDropout,
    SparseFeatureModule,
    SparseLeakyReLU,
    SparsePReLU,
    SparseReLU,
    SparseSigmoid,
    SparseTanh,
    SparseVeryLeakyReLU,
    ToDense,
)
from graphnn.sparse3d.mesh import Mesh
from graphnn.sparse3d.network import LayerActivation, SparseNetwork
from graphnn.sparse3d.off import OFFError, read_off, write_off
from graphnn.sparse3d.picture import Off3DPicture, Picture, VoxelPicture
from graphnn.sparse3d.pool import (
    SparseAvgPool3d,
    SparseGlobalAvgPool,
    SparseGlobalMaxPool,
    SparseMaxPool3d,
)
from graphnn.sparse3d.render import plot_sites
from graphnn.sparse3d.retrieval import (
    RetrievalMetrics,
    TripletLoss,
    retrieval_metrics,
    triplet_loss,
)
from graphnn.sparse3d.shapes import SHAPES, random_shape
from graphnn.sparse3d.tensor import SparseVoxelTensor
from graphnn.sparse3d.training import (
    EpochReport,
    EvaluationReport,
    TrainingLog,
    embed,
    evaluate,
    fit,
    predict,
    train_epoch,
)
from graphnn.sparse3d.voxelization import FEATURES, OUTSIDE, grid_coordinates, voxelize

__all__ = [
    "FEATURES",
    "KINDS",
    "OUTSIDE",
    "SHAPES",
    "DatasetSummary",
    "EpochReport",
    "EvaluationReport",
    "FromDense",
    "KernelMap",
    "LayerActivation",
    "Mesh",
    "OFFError",
    "Off3DPicture",
    "Picture",
    "RetrievalMetrics",
    "Sample",
    "SparseAvgPool3d",
    "SparseBatch",
    "SparseBatchNorm",
    "SparseConv3d",
    "SparseConvTranspose3d",
    "SparseDataset",
    "SparseDropout",
    "SparseFeatureModule",
    "SparseGlobalAvgPool",
    "SparseGlobalMaxPool",
    "SparseInverseConv3d",
    "SparseLeakyReLU",
    "SparseMaxPool3d",
    "SparseNetwork",
    "SparsePReLU",
    "SparseReLU",
    "SparseSigmoid",
    "SparseTanh",
    "SparseVeryLeakyReLU",
    "SparseVoxelTensor",
    "SubmanifoldConv3d",
    "ToDense",
    "TrainingLog",
    "TripletLoss",
    "VoxelPicture",
    "collate",
    "deep_c2",
    "embed",
    "evaluate",
    "fit",
    "grid_coordinates",
    "plot_sites",
    "predict",
    "random_affine",
    "random_rotation",
    "random_shape",
    "random_translation",
    "read_off",
    "retrieval_metrics",
    "sparse_conv",
    "train_epoch",
    "triplet_loss",
    "voxelize",
    "write_off",
]
