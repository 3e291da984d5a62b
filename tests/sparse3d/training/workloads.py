"""The small data sets and networks the training tests share, and a pooled-embedding reference."""

import torch
from torch import nn

from graphnn.sparse3d.data.dataset import SparseDataset
from graphnn.sparse3d.layers import SparseBatchNorm, SparseReLU
from graphnn.sparse3d.layers.conv import SparseConv3d, SubmanifoldConv3d
from graphnn.sparse3d.layers.pool import SparseGlobalMaxPool
from graphnn.sparse3d.tensor import SparseVoxelTensor

CLASSES = ["box", "sphere"]


def shapes(count=3, kind="train", seed=0, classes=CLASSES, **options):
    return SparseDataset.shapes(
        count, render_size=8, classes=classes, kind=kind, seed=seed, spatial_size=12, **options
    )


def network(n_classes=2, batch_norm=True, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        SubmanifoldConv3d(1, 8, 3),
        SparseReLU(),
        SparseConv3d(8, 16, 2, stride=2),
        *([SparseBatchNorm(16)] if batch_norm else []),
        SparseReLU(),
        SparseGlobalMaxPool(),
        nn.Linear(16, n_classes),
    )


class Counted(nn.Module):
    """A network with multiply_adds: 10 per active input site, each call recorded."""

    def __init__(self, net):
        super().__init__()
        self.net, self.calls = net, []

    def forward(self, x):
        return self.net(x)

    def multiply_adds(self, x):
        assert isinstance(x, SparseVoxelTensor) and not torch.is_grad_enabled()
        self.calls.append(x.num_sites)
        return 10 * x.num_sites


def pooled_embeddings(net, batch, layer):
    """Mean over each sample's sites of ``layer``'s activations, in batch order."""
    [act] = [a for a in net.layer_activations(batch) if a.name == layer]
    sample = act.coords[:, 0].long()
    B = batch.batch_size
    sums = torch.zeros(B, act.features.shape[1]).index_add(0, sample, act.features)
    return sums / torch.bincount(sample, minlength=B).clamp(min=1)[:, None]
