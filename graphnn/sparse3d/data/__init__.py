r"""3D objects as data: pictures, data sets of them, and the batches a loader makes.

A picture (:mod:`~graphnn.sparse3d.data.picture`: :class:`Off3DPicture`, a
mesh or an OFF file voxelized on demand with SparseConvNet's augmentation,
or :class:`VoxelPicture`, voxels made elsewhere) becomes a :class:`Sample`;
a :class:`SparseDataset` (:mod:`~graphnn.sparse3d.data.dataset`) holds
pictures and yields samples, and :func:`collate`
(:mod:`~graphnn.sparse3d.data.batch`) makes a :class:`SparseBatch` of them.
Every name is also exported by :mod:`graphnn.sparse3d`; they load when first
used, so the pictures (numpy only) come without torch.

Examples
--------
>>> from graphnn.sparse3d.data import SparseDataset
>>> data = SparseDataset.shapes(2, render_size=16, classes=["box", "torus"], seed=0)
>>> batch = next(iter(data.loader(batch_size=4, shuffle=False)))
>>> batch.batch_size, batch.labels.tolist()
(4, [0, 0, 1, 1])
"""

from graphnn._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    ("batch", "dataset", "picture"),
    {
        **dict.fromkeys(("Sample", "SparseBatch", "collate"), "graphnn.sparse3d.data.batch"),
        **dict.fromkeys(
            ("KINDS", "DatasetSummary", "SparseDataset"), "graphnn.sparse3d.data.dataset"
        ),
        **dict.fromkeys(
            ("Off3DPicture", "Picture", "VoxelPicture"), "graphnn.sparse3d.data.picture"
        ),
    },
)
