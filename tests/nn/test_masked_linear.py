import io

import numpy as np
import pytest
import torch

from graphnn.nn.masked_linear import MaskedLinear

LAYOUTS = ["dense", "sparse", "block"]


def random_mask(out_f=5, in_f=7, p=0.5, seed=0):
    return torch.rand(out_f, in_f, generator=torch.Generator().manual_seed(seed)) < p


@pytest.mark.parametrize("layout", LAYOUTS)
def test_matches_a_dense_linear_with_masked_weights(layout):
    torch.manual_seed(0)
    mask = random_mask()
    layer = MaskedLinear(7, 5, layout=layout, mask=mask)
    x = torch.randn(4, 7)
    expected = x @ layer.dense_weight().detach().T + layer.bias.detach()
    torch.testing.assert_close(layer(x), expected)
    assert layer.weight_count == int(mask.sum())
    assert layer.density == pytest.approx(mask.float().mean().item())
    assert torch.equal(layer.dense_weight() != 0, mask)


def test_layouts_compute_the_same():
    mask = random_mask(seed=3)
    dense = MaskedLinear(7, 5, layout="dense", mask=mask)
    sparse = MaskedLinear(7, 5, layout="sparse", mask=mask)
    rows, cols, _, _ = sparse.entries()
    with torch.no_grad():
        sparse.weight.copy_(dense.weight[rows, cols])
        sparse.bias.copy_(dense.bias)
    x = torch.randn(3, 7)
    torch.testing.assert_close(sparse(x), dense(x))


def test_shapes_of_weight_and_mask():
    mask = random_mask()
    dense = MaskedLinear(7, 5, mask=mask)
    sparse = MaskedLinear(7, 5, layout="sparse", mask=mask)
    assert dense.weight.shape == dense.mask.shape == (5, 7)
    assert sparse.weight.shape == sparse.mask.shape == (int(mask.sum()),)
    assert sparse.sparse_pattern.nnz == int(mask.sum()) and dense.sparse_pattern is None


def test_auto_layout_follows_density_and_size():
    assert (
        MaskedLinear(2000, 2000, layout="auto", mask=random_mask(2000, 2000, 0.01)).layout
        == "sparse"
    )
    assert (
        MaskedLinear(2000, 2000, layout="auto", mask=random_mask(2000, 2000, 0.5)).layout == "dense"
    )
    assert MaskedLinear(20, 20, layout="auto", mask=random_mask(20, 20, 0.01)).layout == "dense"


def test_repr():
    layer = MaskedLinear(4, 3, bias=False, mask=torch.eye(3, 4, dtype=torch.bool))
    assert (
        repr(layer)
        == "MaskedLinear(in_features=4, out_features=3, bias=False, layout=dense, density=0.25)"
    )


@pytest.mark.parametrize("layout", LAYOUTS)
def test_masked_weights_get_no_gradient_and_no_update(layout):
    torch.manual_seed(1)
    layer = MaskedLinear(7, 5, layout=layout, mask=random_mask())
    layer.recompute_mask(0.2)  # prune some of the pattern's connections too
    before = layer.weight.detach().clone()
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        optimizer.zero_grad()
        layer(torch.randn(8, 7)).pow(2).sum().backward()
        assert torch.all(layer.weight.grad[~layer.mask] == 0)
        optimizer.step()
    assert torch.equal(layer.weight.detach()[~layer.mask], before[~layer.mask])
    assert not torch.equal(layer.weight.detach()[layer.mask], before[layer.mask])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_apply_mask_zeroes_for_good(layout):
    layer = MaskedLinear(7, 5, layout=layout, mask=random_mask())
    with torch.no_grad():
        layer.weight.fill_(1.0)
    if layout == "dense":
        assert torch.all(layer.weight[~layer.mask] == 1)
    assert layer.apply_mask() is layer
    assert torch.all(layer.weight[~layer.mask] == 0)
    assert torch.all(layer.weight[layer.mask] == 1)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_recompute_mask_only_shrinks_unless_asked(layout):
    layer = MaskedLinear(7, 5, layout=layout, mask=random_mask())
    pattern = layer.mask.clone()
    with torch.no_grad():
        layer.weight.copy_(torch.linspace(-1, 1, layer.weight.numel()).reshape(layer.weight.shape))
    layer.recompute_mask(0.5)
    expected = pattern & (layer.weight.abs() >= 0.5)
    assert torch.equal(layer.mask, expected)
    layer.recompute_mask(0.0)  # everything passes, but nothing comes back
    assert torch.equal(layer.mask, expected)
    layer.recompute_mask(0.0, resurrect=True)  # back, within the pattern only
    assert torch.equal(layer.mask, pattern)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_saliency_hook(layout):
    layer = MaskedLinear(7, 5, layout=layout, mask=random_mask())
    torch.testing.assert_close(layer.saliency, layer.weight.detach().abs())
    scores = torch.arange(layer.weight.numel(), dtype=torch.float32).reshape(layer.weight.shape)
    layer.saliency = scores
    layer.recompute_mask(float(layer.weight.numel() // 2))
    assert not bool(layer.mask.flatten()[: layer.weight.numel() // 2].any())
    with pytest.raises(ValueError, match=r"saliency must have the shape of the weight"):
        layer.saliency = torch.zeros(3)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_mask_assignment_is_checked(layout):
    layer = MaskedLinear(7, 5, layout=layout, mask=random_mask())
    shape = tuple(layer.mask.shape)
    layer.mask = torch.zeros(shape, dtype=torch.bool)
    assert layer.weight_count == 0 and layer.mask.dtype == torch.bool
    layer.mask = torch.ones(shape, dtype=torch.int64) if layout == "sparse" else layer.pattern
    with pytest.raises(ValueError, match=r"mask must have shape"):
        layer.mask = torch.ones(2, 2, dtype=torch.bool)
    with pytest.raises(ValueError, match=r"boolean \(or 0/1\)"):
        layer.mask = torch.full(shape, 2)
    with pytest.raises(TypeError, match=r"mask must be a boolean tensor of shape"):
        layer.mask = None


def test_dense_mask_cannot_add_connections_outside_the_pattern():
    layer = MaskedLinear(4, 3, mask=torch.eye(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask entry \(0, 1\) is True but that connection is not"):
        layer.mask = torch.ones(3, 4, dtype=torch.bool)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_state_dict_round_trip(layout):
    layer = MaskedLinear(7, 5, layout=layout, mask=random_mask())
    layer.recompute_mask(0.1)
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    buffer.seek(0)
    other = MaskedLinear(7, 5, layout=layout, mask=random_mask())
    other.load_state_dict(torch.load(buffer))
    assert torch.equal(other.mask, layer.mask)
    x = torch.randn(2, 7)
    torch.testing.assert_close(other(x), layer(x))
    assert "mask" in layer.state_dict()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_dtypes(layout, dtype):
    layer = MaskedLinear(7, 5, layout=layout, mask=random_mask(), dtype=dtype)
    y = layer(torch.randn(3, 7, dtype=dtype))
    assert y.dtype == dtype
    y.float().sum().backward()
    assert layer.weight.grad.dtype == dtype
    assert layer.to(torch.float32)(torch.randn(3, 7)).dtype == torch.float32


def test_batched_leading_dimensions():
    layer = MaskedLinear(7, 5, layout="sparse", mask=random_mask())
    assert layer(torch.randn(2, 3, 7)).shape == (2, 3, 5)
    assert layer(torch.randn(7)).shape == (5,)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: MaskedLinear(-1, 3), ValueError, "in_features must be a non-negative int"),
        (lambda: MaskedLinear(3, 2.5), ValueError, "out_features must be a non-negative int"),
        (
            lambda: MaskedLinear(3, 2, layout="csr"),
            ValueError,
            "layout must be one of dense, sparse, block, auto",
        ),
        (
            lambda: MaskedLinear(3, 2, mask=torch.ones(3, 2)),
            ValueError,
            r"mask must have shape \(2, 3\)",
        ),
        (
            lambda: MaskedLinear(3, 2, layout="block", block_size=0),
            ValueError,
            "block_size must be a positive int, got 0",
        ),
    ],
)
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_bad_inputs(layout):
    layer = MaskedLinear(7, 5, layout=layout, mask=random_mask())
    with pytest.raises(ValueError, match=r"expected input of shape \[\.\.\., 7\], got \(3, 6\)"):
        layer(torch.randn(3, 6))
    with pytest.raises(
        TypeError, match=r"input dtype torch\.float64 differs from the layer's torch\.float32"
    ):
        layer(torch.randn(3, 7, dtype=torch.float64))


def test_from_entries_reports_the_csr_order():
    rows, cols = np.array([2, 0, 1]), np.array([0, 1, 2])
    layer, order = MaskedLinear.from_entries(3, 3, rows, cols, layout="sparse")
    assert order.tolist() == [1, 2, 0]
    got_rows, got_cols, _, live = layer.entries()
    assert got_rows.tolist() == [0, 1, 2] and got_cols.tolist() == [1, 2, 0] and bool(live.all())


@pytest.mark.parametrize("block_size", [1, 2, 3, 16])
def test_block_layout_matches_dense(block_size):
    torch.manual_seed(2)
    mask = random_mask(9, 11, p=0.4, seed=5)
    block = MaskedLinear(11, 9, layout="block", mask=mask, block_size=block_size)
    dense = MaskedLinear(11, 9, layout="dense", mask=mask)
    rows, cols, values, live = block.entries()
    assert torch.equal(torch.zeros(9, 11, dtype=torch.bool).index_put((rows, cols), live), mask)
    with torch.no_grad():
        dense.weight[rows, cols] = values
        dense.bias.copy_(block.bias)
    x = torch.randn(4, 11, dtype=torch.float32, requires_grad=True)
    torch.testing.assert_close(block(x), dense(x))
    torch.testing.assert_close(block.dense_weight(), dense.dense_weight())
    block(x).sum().backward()
    dense(x).sum().backward()
    torch.testing.assert_close(block.weight.grad[block.pattern], dense.weight.grad[rows, cols])
    assert torch.all(block.weight.grad[~block.pattern] == 0)  # padding and absent entries


def test_block_layout_shapes_and_gradcheck():
    mask = random_mask(20, 37, p=0.2)
    layer = MaskedLinear(37, 20, layout="block", mask=mask, block_size=16, dtype=torch.float64)
    blocks = layer.weight.shape[0]
    assert layer.weight.shape == layer.mask.shape == layer.pattern.shape == (blocks, 16, 16)
    assert blocks <= 2 * 3 and layer.weight_count == int(mask.sum())
    x = torch.randn(3, 37, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (x,))
    assert torch.autograd.gradgradcheck(layer, (x,))  # plain torch ops on the CPU


@pytest.mark.parametrize("layout", LAYOUTS)
def test_set_entries_round_trips(layout):
    layer = MaskedLinear(7, 5, layout=layout, mask=random_mask())
    _, _, values, _ = layer.entries()
    layer.set_entries(torch.arange(values.numel(), dtype=torch.float32))
    assert layer.entries()[2].tolist() == list(range(values.numel()))
    with pytest.raises(ValueError, match="values must have shape"):
        layer.set_entries(torch.zeros(values.numel() + 1))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_entry_positions_point_into_the_weight(layout):
    layer = MaskedLinear(7, 5, layout=layout, mask=random_mask())
    _, _, values, live = layer.entries()
    positions = layer.entry_positions()
    torch.testing.assert_close(layer.weight.detach().flatten()[positions], values)
    assert torch.equal(layer.mask.flatten()[positions], live)
