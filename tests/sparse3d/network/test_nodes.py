"""The ops of a layer graph: the module each builds, activation names, ChannelMaskedLinear."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from graphnn.sparse3d.layers import (
    SparseAvgPool3d,
    SparseBatchNorm,
    SparseConv3d,
    SparseDropout,
    SparseGlobalAvgPool,
    SparseGlobalMaxPool,
    SparseLeakyReLU,
    SparseMaxPool3d,
    SparsePReLU,
    SparseReLU,
    SparseSigmoid,
    SparseTanh,
    SparseVeryLeakyReLU,
    SubmanifoldConv3d,
)
from graphnn.sparse3d.network.nodes import (
    ACTIVATIONS,
    OPS,
    PARAMS,
    ChannelMaskedLinear,
    activation_name,
    build_module,
)

# op -> (the node's attributes, the module it builds from 3 input channels, or None)
NODES = {
    "input": ({"channels": 3}, None),
    "submanifold_conv": ({"channels": 5, "kernel_size": 3}, SubmanifoldConv3d(3, 5, 3)),
    "conv": (
        {"channels": 5, "kernel_size": 2, "stride": 2, "min_active_inputs": 2},
        SparseConv3d(3, 5, 2, 2, padding=0, min_active_inputs=2),
    ),
    "linear": ({"channels": 4}, ChannelMaskedLinear(3, 4)),
    "max_pool": ({"channels": 3, "kernel_size": 3, "stride": 2}, SparseMaxPool3d(3, 2)),
    "avg_pool": ({"channels": 3, "kernel_size": 2, "stride": 1}, SparseAvgPool3d(2, 1)),
    "batch_norm": ({"channels": 3}, SparseBatchNorm(3)),
    "activation": ({"channels": 3, "function": "prelu"}, SparsePReLU(3)),
    "dropout": ({"channels": 3, "p": 0.25}, SparseDropout(0.25)),
    "global_max_pool": ({"channels": 3}, SparseGlobalMaxPool()),
    "global_avg_pool": ({"channels": 3}, SparseGlobalAvgPool()),
    "add": ({"channels": 3}, None),
    "concat": ({"channels": 6}, None),
}


def test_every_op_is_listed_here_with_its_parameters():
    assert set(NODES) == set(OPS)
    for op, params in PARAMS.items():
        assert set(params) <= set(NODES[op][0])


@pytest.mark.parametrize("op", list(NODES))
def test_build_module_builds_the_module_of_every_op(op):
    attrs, expected = NODES[op]
    module = build_module(op, attrs, 3)
    if expected is None:
        assert module is None
        return
    assert type(module) is type(expected)
    assert repr(module) == repr(expected)
    assert {k: v.shape for k, v in module.state_dict().items()} == {
        k: v.shape for k, v in expected.state_dict().items()
    }
    assert build_module(op, attrs, 3) is not module  # a new module each time


def test_the_convolutions_of_the_graph_are_valid_ones():
    conv = build_module("conv", NODES["conv"][0], 3)
    assert conv.padding == (0, 0, 0) and conv.stride == (2, 2, 2) and conv.min_active_inputs == 2
    assert conv.weight.shape == (8, 3, 5)
    sub = build_module("submanifold_conv", NODES["submanifold_conv"][0], 3)
    assert sub.weight.shape == (27, 3, 5)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("relu", SparseReLU), ("leakyrelu", SparseLeakyReLU), ("vleakyrelu", SparseVeryLeakyReLU),
     ("prelu", SparsePReLU), ("tanh", SparseTanh), ("sigmoid", SparseSigmoid)],
)  # fmt: skip
def test_each_activation_name_builds_its_layer(name, kind):
    assert name in ACTIVATIONS
    for spelled in (name, name.upper()):
        module = build_module("activation", {"channels": 4, "function": spelled}, 4)
        assert type(module) is kind
    if kind is SparsePReLU:
        assert module.num_parameters == 4  # one slope per channel


def test_activation_name():
    assert activation_name("VLEAKYRELU") == "vleakyrelu" and activation_name("Tanh") == "tanh"
    for nothing in (None, "none", "NoSigmoid", "identity", ""):
        assert activation_name(nothing) is None
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; use one of relu, leakyrelu, "
                       r"vleakyrelu, prelu, tanh, sigmoid or None"):  # fmt: skip
        activation_name("swish")
    with pytest.raises(ValueError, match="unknown activation 1"):
        activation_name(1)


def test_channel_masked_linear_is_linear_with_masked_weights():
    torch.manual_seed(0)
    layer = ChannelMaskedLinear(3, 2)
    assert layer.channel_mask.dtype == torch.bool and layer.channel_mask.shape == (3, 2)
    assert bool(layer.channel_mask.all()) and "channel_mask" in layer.state_dict()
    x = torch.randn(5, 3)
    torch.testing.assert_close(layer(x), F.linear(x, layer.weight, layer.bias))
    layer.channel_mask[0, 1] = False
    layer.channel_mask[2, 0] = False
    masked = layer.weight * layer.channel_mask.T
    assert masked[1, 0] == 0 and masked[0, 2] == 0
    torch.testing.assert_close(layer(x), F.linear(x, masked, layer.bias))
    layer(x).sum().backward()
    assert layer.weight.grad[1, 0] == 0 and layer.weight.grad[0, 2] == 0  # masked: no gradient
    assert bool((layer.weight.grad[layer.channel_mask.T] != 0).all())
    assert isinstance(layer, nn.Linear)
