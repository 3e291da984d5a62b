"""SparseDropout: entry-wise and channel-wise masks, torch's global generator or its own seed."""

import copy
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from graphnn.sparse3d.layers.dropout import SparseDropout
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.sparse_strategies import same_geometry, small, sparse_inputs


@small()
@given(sparse_inputs(dtype=torch.float32), st.sampled_from([0.0, 0.2, 0.5, 0.9]), st.booleans())
def test_dropout_zeroes_or_scales_and_is_reproducible(x, p, channelwise):
    layer = SparseDropout(p, channelwise=channelwise)
    torch.manual_seed(3)
    y = layer(x)
    torch.manual_seed(3)
    again = layer(x)
    same_geometry(y, x)
    assert torch.equal(y.features, again.features)
    kept = y.features != 0
    torch.testing.assert_close(y.features[kept], x.features[kept] / (1 - p))
    if p == 0:
        assert torch.equal(y.features, x.features)
    if channelwise:
        # One draw per (sample, channel): a channel is zero at all of a sample's sites or none.
        for b in range(x.batch_size):
            rows = kept[x.coords[:, 0] == b]
            assert bool((rows.all(0) | ~rows.any(0)).all())
    layer.eval()
    assert layer(x) is x


def test_dropout_rate_and_gradient():
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(torch.rand(2, 8, 6, 6, 6) + 0.5)
    f = x.features.clone().requires_grad_()
    y = SparseDropout(0.3)(x.replace_features(f))
    rate = float((y.features == 0).float().mean())
    assert 0.25 < rate < 0.35
    y.features.sum().backward()
    torch.testing.assert_close(f.grad, (y.features != 0).float() / 0.7)
    channels = SparseDropout(0.5, channelwise=True)(x).features
    assert {float(v) for v in (channels == 0).float().mean(0).unique()} <= {0.0, 0.5, 1.0}


@pytest.mark.parametrize(
    ("p", "error"),
    [(-0.1, ValueError), (1.0, ValueError), (1.5, ValueError), (float("nan"), ValueError),
     (True, TypeError), ("0.5", TypeError)],
)  # fmt: skip
def test_dropout_rejects_bad_probabilities(p, error):
    with pytest.raises(error, match=r"p must be a probability in \[0, 1\)"):
        SparseDropout(p)


def test_channelwise_dropout_cannot_be_in_place():
    with pytest.raises(ValueError, match="cannot drop whole channels in place"):
        SparseDropout(0.5, channelwise=True, inplace=True)


def test_reprs_and_state_dicts_are_torchs():
    assert repr(SparseDropout(0.25)) == "SparseDropout(p=0.25, inplace=False, channelwise=False)"


# --- seeded layers ----------------------------------------------------------------------


def _input(channels: int = 16) -> SparseVoxelTensor:
    generator = torch.Generator().manual_seed(0)
    dense = torch.rand(3, channels, 4, 4, 4, generator=generator) + 0.5
    return SparseVoxelTensor.from_dense(dense)


def _masks(layer: SparseDropout, x: SparseVoxelTensor, calls: int = 3) -> list[torch.Tensor]:
    return [layer(x).features != 0 for _ in range(calls)]


@pytest.mark.parametrize("channelwise", [False, True])
@small()
@given(seed=st.integers(0, 2**63 - 1), p=st.sampled_from([0.2, 0.5, 0.9]))
def test_a_seed_gives_the_same_masks_in_two_layers(channelwise, seed, p):
    x = _input()
    first = _masks(SparseDropout(p, channelwise=channelwise, seed=seed), x)
    torch.rand(5)  # other draws between the layers change nothing
    second = _masks(SparseDropout(p, channelwise=channelwise, seed=seed), x)
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)
    assert not all(torch.equal(first[0], m) for m in first[1:])  # each call draws afresh
    if channelwise:
        for mask in first:  # one draw per (sample, channel), shared by the sample's sites
            for b in range(x.batch_size):
                rows = mask[x.coords[:, 0] == b]
                assert bool((rows.all(0) | ~rows.any(0)).all())


@pytest.mark.parametrize("channelwise", [False, True])
def test_different_seeds_give_different_masks(channelwise):
    x = _input()
    a = SparseDropout(0.5, channelwise=channelwise, seed=1)(x).features
    b = SparseDropout(0.5, channelwise=channelwise, seed=2)(x).features
    assert not torch.equal(a, b)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_without_a_seed_the_mask_is_torch_dropouts(p):
    x = _input()
    torch.manual_seed(7)
    y = SparseDropout(p)(x)
    torch.manual_seed(7)
    expected = torch.nn.Dropout(p)(x.features)
    assert torch.equal(y.features, expected)


def test_without_a_seed_channelwise_masks_follow_torch_manual_seed():
    x, layer = _input(), SparseDropout(0.5, channelwise=True)
    torch.manual_seed(7)
    first = layer(x).features
    torch.manual_seed(7)
    assert torch.equal(layer(x).features, first)
    torch.manual_seed(8)
    assert not torch.equal(layer(x).features, first)


@pytest.mark.parametrize("channelwise", [False, True])
def test_a_seeded_layer_leaves_torchs_global_generator_alone(channelwise):
    x = _input()
    layer = SparseDropout(0.5, channelwise=channelwise, seed=3)
    torch.manual_seed(11)
    state = torch.get_rng_state()
    layer(x)
    layer(x)
    assert torch.equal(torch.get_rng_state(), state)
    unseeded = SparseDropout(0.5, channelwise=channelwise)
    unseeded(x)
    assert not torch.equal(torch.get_rng_state(), state)  # the unseeded one draws from it


def test_a_seeded_in_place_layer_draws_the_masks_of_the_seed():
    x = _input()
    expected = SparseDropout(0.5, seed=4)(x).features
    features = x.features.clone()
    y = SparseDropout(0.5, inplace=True, seed=4)(x.replace_features(features))
    assert y.features is features
    assert torch.equal(features, expected)


def test_a_numpy_generator_seeds_the_layer():
    x = _input()
    a = SparseDropout(0.5, seed=np.random.default_rng(5))
    b = SparseDropout(0.5, seed=np.random.default_rng(5))
    assert a.seed == b.seed and isinstance(a.seed, int)
    assert torch.equal(a(x).features, b(x).features)
    rng = np.random.default_rng(5)
    assert SparseDropout(0.5, seed=rng).seed != SparseDropout(0.5, seed=rng).seed  # advanced


@pytest.mark.parametrize(
    ("seed", "error", "match"),
    [(-1, ValueError, "seed must be a non-negative int, got -1"),
     (1.5, TypeError, "seed must be None, a non-negative int or a numpy.random.Generator"),
     (True, TypeError, "got bool"), ("0", TypeError, "got str")],
)  # fmt: skip
def test_a_bad_seed_is_refused(seed, error, match):
    with pytest.raises(error, match=match):
        SparseDropout(0.5, seed=seed)


def test_the_repr_shows_the_seed_only_when_given():
    assert repr(SparseDropout(0.25, seed=3)) == (
        "SparseDropout(p=0.25, inplace=False, channelwise=False, seed=3)"
    )
    assert repr(SparseDropout(0.25, channelwise=True, seed=0)).endswith("channelwise=True, seed=0)")
    assert "seed" not in repr(SparseDropout(0.25))
    assert "seed" not in repr(SparseDropout(0.25, seed=None))


@pytest.mark.parametrize("channelwise", [False, True])
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copy_of_a_seeded_layer_draws_the_same_masks(channelwise, how):
    x = _input()
    layer = SparseDropout(0.3, channelwise=channelwise, seed=9)
    copy_of = copy.deepcopy if how == "deepcopy" else lambda m: pickle.loads(pickle.dumps(m))
    twin = copy_of(layer)
    assert twin.seed == 9 and twin.channelwise == channelwise and twin.p == 0.3
    assert repr(twin) == repr(layer)
    for a, b in zip(_masks(layer, x), _masks(twin, x), strict=True):
        assert torch.equal(a, b)
    fresh = copy_of(SparseDropout(0.3, channelwise=channelwise))  # unseeded: global generator
    assert fresh.seed is None
    torch.manual_seed(2)
    a = fresh(x).features
    torch.manual_seed(2)
    assert torch.equal(SparseDropout(0.3, channelwise=channelwise)(x).features, a)
