"""The small networks and the batch the network tests share."""

import torch

from graphnn.sparse3d import SparseDataset
from graphnn.sparse3d.network.model import SparseNetwork

SIZE = 14  # input_spatial_size of small_net


def small_net(n_classes=2, batch_norm=False, seed=0):
    torch.manual_seed(seed)
    net = SparseNetwork(in_features=1, n_classes=n_classes)
    net.add_conv(4, 3)
    if batch_norm:
        net.add_batch_norm()
    net.add_lenet_mp(6, 2, 1, 3, 2)
    if batch_norm:
        net.add_batch_norm()
    net.add_lenet_mp(8, 2, 1, 3, 2).add_lenet_mp(8, 2, 1, 1, 1)
    return net.add_classifier()


def shape_batch():
    """Six labelled shapes (two each of box, torus, sphere) on the grid of :func:`small_net`."""
    data = SparseDataset.shapes(
        2, 10, classes=["box", "torus", "sphere"], seed=0, kind="test", spatial_size=SIZE
    )
    return next(iter(data.loader(batch_size=6, shuffle=False)))
