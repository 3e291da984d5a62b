r"""Sparse 3D: OFF meshes, voxelization, sparse voxel samples, data sets and batches.

The path of a 3D object into a network: :func:`read_off` reads a mesh
(:class:`Mesh`), :func:`voxelize` marks every voxel its surface passes
through (with the augmentations of :mod:`~graphnn.sparse3d.mesh.augment`),
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

The names load when first used, so ``import graphnn.sparse3d.mesh`` (numpy
only) does not import torch.
"""

from __future__ import annotations

from graphnn._lazy import attach

#: The subpackages and modules of ``graphnn.sparse3d``, one concept each.
_SUBMODULES = (
    "data",
    "kernel_map",
    "layers",
    "mesh",
    "network",
    "ops",
    "retrieval",
    "tensor",
    "training",
)
#: The names ``graphnn.sparse3d`` exports, and the module each comes from.
_NAMES = {
    **dict.fromkeys(
        (
            "MeshError",
            "NetworkGraphError",
            "OFFError",
            "SparseDataError",
        ),
        "graphnn.exceptions",
    ),
    **dict.fromkeys(
        (
            "DatasetSummary",
            "KINDS",
            "Off3DPicture",
            "Picture",
            "Sample",
            "SparseBatch",
            "SparseDataset",
            "VoxelPicture",
            "collate",
        ),
        "graphnn.sparse3d.data",
    ),
    **dict.fromkeys(("KernelMap",), "graphnn.sparse3d.kernel_map"),
    **dict.fromkeys(
        (
            "FromDense",
            "SparseAvgPool3d",
            "SparseBatchNorm",
            "SparseConv3d",
            "SparseConvTranspose3d",
            "SparseDropout",
            "SparseFeatureModule",
            "SparseGlobalAvgPool",
            "SparseGlobalMaxPool",
            "SparseInverseConv3d",
            "SparseLeakyReLU",
            "SparseMaxPool3d",
            "SparsePReLU",
            "SparseReLU",
            "SparseSigmoid",
            "SparseTanh",
            "SparseVeryLeakyReLU",
            "SubmanifoldConv3d",
            "ToDense",
        ),
        "graphnn.sparse3d.layers",
    ),
    **dict.fromkeys(
        (
            "FEATURES",
            "Mesh",
            "OUTSIDE",
            "SHAPES",
            "grid_coordinates",
            "plot_sites",
            "random_affine",
            "random_rotation",
            "random_shape",
            "random_translation",
            "read_off",
            "voxelize",
            "write_off",
        ),
        "graphnn.sparse3d.mesh",
    ),
    **dict.fromkeys(
        (
            "LayerActivation",
            "SparseNetwork",
            "deep_c2",
        ),
        "graphnn.sparse3d.network",
    ),
    **dict.fromkeys(("sparse_conv",), "graphnn.sparse3d.ops"),
    **dict.fromkeys(
        (
            "RetrievalMetrics",
            "TripletLoss",
            "embed",
            "retrieval_metrics",
            "triplet_loss",
        ),
        "graphnn.sparse3d.retrieval",
    ),
    **dict.fromkeys(("SparseVoxelTensor",), "graphnn.sparse3d.tensor"),
    **dict.fromkeys(
        (
            "EpochReport",
            "EvaluationReport",
            "TrainingLog",
            "evaluate",
            "fit",
            "predict",
            "sgd",
            "train_epoch",
        ),
        "graphnn.sparse3d.training",
    ),
}

__getattr__, __dir__, __all__ = attach(__name__, _SUBMODULES, _NAMES)
