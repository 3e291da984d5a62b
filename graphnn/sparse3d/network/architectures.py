"""Ready-made :class:`~graphnn.sparse3d.network.model.SparseNetwork` architectures.

SparseConvNet's networks for 3D objects, built with graphnn's builder, so
that the examples, the ``graphnn train3d`` command and a researcher's script
start from one definition.
"""

from __future__ import annotations

from graphnn._random import SeedLike
from graphnn._validation import check_int
from graphnn.sparse3d.network.model import SparseNetwork

__all__ = ["deep_c2"]


def deep_c2(
    n_classes: int,
    width: int = 8,
    *,
    batch_norm: bool = True,
    in_features: int = 1,
    seed: SeedLike = None,
) -> SparseNetwork:
    """SparseConvNet's DeepC2 for 3D objects: six blocks of ``width * (i + 1)`` features.

    Each block is a 2x2x2 convolution followed, in the first five blocks, by a
    3x3x3 max pool of stride 2; then a classifier (global max pool, linear).
    The input size that leaves one site after the last block, computed
    backwards, is 126 (:meth:`SparseNetwork.input_spatial_size`).

    Parameters
    ----------
    n_classes : int
        Outputs of the classifier.
    width : int, default 8
        Features of the first block; block ``i`` has ``width * (i + 1)``.
    batch_norm : bool, default True
        Each block is convolution, batch norm, very leaky ReLU (1/3), max pool.
        ``False``: exactly SparseConvNet's ``addLeNetLayerMP`` blocks
        (convolution with a very leaky ReLU, max pool), as in its DeepC2.
    in_features : int, default 1
        Features per input site.
    seed : None, int or numpy.random.Generator, optional
        Draws the parameters (``SparseNetwork(seed=...)``).

    Returns
    -------
    SparseNetwork

    Raises
    ------
    ValueError, TypeError
        For ``n_classes``, ``width`` or ``in_features`` that are not ints >= 1.

    Examples
    --------
    >>> net = deep_c2(10, width=4)
    >>> net.input_spatial_size(), net.n_classes
    (126, 10)
    >>> deep_c2(10, width=0)
    Traceback (most recent call last):
    ...
    ValueError: width must be at least 1, got 0
    """
    for name, value in (("n_classes", n_classes), ("width", width), ("in_features", in_features)):
        check_int(name, value, low=1)
    network = SparseNetwork(dimension=3, in_features=in_features, n_classes=n_classes, seed=seed)
    for i in range(6):
        pool_size, pool_stride = (3, 2) if i < 5 else (1, 1)
        if not batch_norm:
            network.add_lenet_mp(width * (i + 1), 2, 1, pool_size, pool_stride)
            continue
        network.add_conv(width * (i + 1), 2, 1, activation=None).add_batch_norm()
        network.add_activation("vleakyrelu")
        if pool_size > 1:
            network.add_max_pool(pool_size, pool_stride)
    return network.add_classifier()
