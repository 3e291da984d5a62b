"""The sparse products of the 3D layers and their gradients: one dispatch point per operation.

:func:`sparse_conv` (:mod:`~graphnn.sparse3d.ops.conv`) is the product of
every sparse convolution, on graphnn's Triton kernels (CUDA), its native C
kernel (:mod:`~graphnn.sparse3d.ops.native`, ``gather_conv.c``, the CPU
default) or the torch path (:mod:`~graphnn.sparse3d.ops.torch_conv`, the
reference); :func:`gather_max` and :func:`gather_mean`
(:mod:`~graphnn.sparse3d.ops.pool`) are the reductions of pooling.  Which one
runs follows :mod:`graphnn.backends`.

Examples
--------
>>> import torch
>>> gather_mean(torch.tensor([[1.0], [3.0]]), torch.tensor([[0, 1]])).item()
2.0
"""

from graphnn.sparse3d.ops.conv import sparse_conv
from graphnn.sparse3d.ops.pool import gather_max, gather_mean

__all__ = ["gather_max", "gather_mean", "sparse_conv"]
