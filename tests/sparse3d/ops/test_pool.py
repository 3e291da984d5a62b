"""gather_max and gather_mean, the reductions of sparse pooling: gradients, ties, dtypes, Triton."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn.backends import backend
from graphnn.sparse3d.layers.pool import SparseAvgPool3d, SparseMaxPool3d, max_pool3d
from graphnn.sparse3d.ops.pool import gather_max, gather_mean
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.conftest import require_peer
from tests.sparse3d.sparse_strategies import grad_of, pooled_inputs


@pytest.mark.parametrize("pool", [gather_max, gather_mean])
def test_gradcheck_pooling_over_a_table(pool):
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(5, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    neighbors = torch.tensor(
        [[0, 1, -1, 4], [-1, -1, -1, -1], [2, 3, 4, -1], [-1, -1, 3, -1]], dtype=torch.int32
    )
    assert torch.autograd.gradcheck(lambda f: pool(f, neighbors), (features,))


def test_gather_max_ties_take_the_first_offset_and_nan_propagates():
    features = torch.tensor([[1.0], [1.0], [float("nan")]], requires_grad=True)
    values = gather_max(features, torch.tensor([[1, 0], [0, 2], [-1, -1]], dtype=torch.int32))
    assert values[0].item() == 1.0 and values[1].isnan().item() and values[2].item() == 0.0
    values[0].sum().backward()
    assert features.grad.flatten().tolist() == [0.0, 1.0, 0.0]


def test_pooling_tables_are_checked():
    with pytest.raises(ValueError, match=r"neighbors must be an int32 or int64 \[N_out, K\]"):
        gather_max(torch.ones(2, 1), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"features must be a floating-point \[N_in, C\]"):
        gather_mean(torch.ones(2), torch.zeros(2, 2, dtype=torch.int32))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_pooling_keeps_low_precision_dtypes(dtype):
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(torch.randn(2, 3, 4, 4, 4) * (torch.rand(2, 1, 4, 4, 4) > 0.5))
    low = x.to(dtype=dtype)
    for pool in (SparseMaxPool3d(2), SparseAvgPool3d(3, 2, 1)):
        y = pool(low)
        assert y.dtype == dtype
        reference = pool(low.to(dtype=torch.float32)).features
        torch.testing.assert_close(y.features.float(), reference, rtol=1e-2, atol=1e-2)


def test_max_pool_through_the_triton_kernel_agrees_with_torch():
    require_peer("triton")
    triton_agrees_with_torch()


@settings(max_examples=10, deadline=None)
@given(pooled_inputs(dtype=torch.float32, max_size=4))
def triton_agrees_with_torch(case):
    x, geometry = case
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = x.to(device)
    results = []
    for name in ("torch", "triton"):
        f = x.features.clone().requires_grad_()
        with backend(name):
            y = max_pool3d(x.replace_features(f), *geometry)
            g = torch.linspace(-1, 1, y.features.numel(), device=device).view_as(y.features)
            results.append((y.features.detach(), grad_of(y.features, f, g)))
    (v0, g0), (v1, g1) = results
    torch.testing.assert_close(v1, v0)
    torch.testing.assert_close(g1, g0)


@st.composite
def tables(draw):
    """Distinct features ``[N_in, C]`` and a neighbour table ``[N_out, K]`` (-1: none)."""
    # n_in >= 1: gather_max of an empty feature matrix with a non-empty table raises IndexError
    n_in, C = draw(st.integers(1, 6)), draw(st.integers(1, 3))
    n_out, K = draw(st.integers(0, 5)), draw(st.integers(1, 4))
    entries = st.integers(-1, n_in - 1)
    rows = draw(st.lists(st.lists(entries, min_size=K, max_size=K), min_size=n_out, max_size=n_out))
    neighbors = torch.tensor(rows, dtype=torch.int32).reshape(n_out, K)
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    features = torch.randn(n_in, C, dtype=torch.float64, generator=generator)
    return features, neighbors


@settings(max_examples=50, deadline=None)
@given(tables(), st.booleans())
def test_gather_max_and_mean_equal_the_loop_reference(table, count_inactive):
    features, neighbors = table
    C, K = features.shape[1], neighbors.shape[1]
    maxima, means = [], []
    for row in neighbors.tolist():
        valid = [features[i] for i in row if i >= 0]
        if not valid:
            maxima.append(torch.zeros(C, dtype=torch.float64))
            means.append(torch.zeros(C, dtype=torch.float64))
            continue
        stacked = torch.stack(valid)
        maxima.append(stacked.amax(0))
        means.append(stacked.sum(0) / (K if count_inactive else len(valid)))
    shape = (neighbors.shape[0], C)
    got_max = gather_max(features, neighbors)
    got_mean = gather_mean(features, neighbors, count_inactive)
    assert got_max.shape == got_mean.shape == shape
    if shape[0]:
        torch.testing.assert_close(got_max, torch.stack(maxima))
        torch.testing.assert_close(got_mean, torch.stack(means))
    assert torch.equal(gather_max(features, neighbors.long()), got_max)  # int64 tables too


def test_gather_max_of_no_input_rows_is_zero():
    features = torch.zeros(0, 3, requires_grad=True)
    table = torch.full((2, 4), -1, dtype=torch.int32)
    out = gather_max(features, table)
    assert torch.equal(out, torch.zeros(2, 3))
    out.sum().backward()
    assert features.grad.shape == (0, 3)
    assert torch.equal(gather_mean(features, table), torch.zeros(2, 3))
