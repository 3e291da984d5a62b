import numpy as np
import pytest
import torch

import graphnn
from graphnn.nn import MaskedFFN
from graphnn.structure.equality import graphs_equal


def test_complete_network():
    model = MaskedFFN(784, 10, [300, 100])
    assert [layer.weight.shape for layer in model.masked_layers()] == [
        (300, 784),
        (100, 300),
        (10, 100),
    ]
    assert model.parameter_count() == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    assert model(torch.randn(5, 784)).shape == (5, 10)
    assert model.input_nodes == list(range(784)) and model.output_nodes == list(range(1184, 1194))


def test_shape_input_is_flattened():
    model = MaskedFFN((3, 8, 8), 4, [16])
    assert model.n_inputs == 192
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 4)
    assert model.input_size == (3, 8, 8)


def test_sparse_network_is_the_layered_structure():
    model = MaskedFFN(50, 5, [40, 30], density=0.05, seed=3)
    G = graphnn.generators.layered([50, 40, 30, 5], density=0.05, seed=3)
    H = model.to_graph()
    bare = H.copy()
    for _, d in bare.nodes(data=True):
        d.clear()
    for *_, d in bare.edges(data=True):
        d.clear()
    assert graphs_equal(bare, G)
    assert model.densities()[0] < 0.2  # 5 % plus the connections that keep every unit live


def test_auto_layout_on_wide_sparse_layers():
    model = MaskedFFN(4096, 4096, [4096], density=0.01, seed=0)
    assert [layer.layout for layer in model.masked_layers()] == ["sparse", "sparse"]
    assert MaskedFFN(784, 10, [300, 100], density=0.5, seed=0).masked_layers()[0].layout == "dense"


def test_numpy_sizes():
    model = MaskedFFN(np.int64(4), np.int64(2), [np.int64(3)])
    assert model.input_size == 4 and type(model.input_size) is int


def test_no_hidden_layers():
    model = MaskedFFN(3, 2)
    assert len(model.masked_layers()) == 1


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((0, 2, [3]), {}, ValueError, "input_size must be a positive int"),
        (((2, -1), 2, [3]), {}, ValueError, "input_size must be a positive int"),
        ((3, 2, 4), {}, TypeError, "hidden_sizes must be a sequence"),
        ((3, 2, [0]), {}, ValueError, r"hidden_sizes\[0\] must be at least 1, got 0"),
        ((3, 0, [4]), {}, ValueError, r"output_size must be at least 1, got 0"),
        ((3, 2, "45"), {}, TypeError, "hidden_sizes must be a sequence"),
        ((3, 2, [4]), {"density": 1.5}, ValueError, "density must be a probability"),
        ((3, 2, [4]), {"activation": "swish"}, ValueError, "unknown activation"),
    ],
)
def test_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        MaskedFFN(*args, **kwargs)
