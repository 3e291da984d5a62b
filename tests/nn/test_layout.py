import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphnn.nn.layout import LAYOUTS, SPARSE_THRESHOLDS, check_layout, choose_layout


def reference_layout(out_features, in_features, nnz):
    """The rule of the module docstring, in integers: no float rounding at the thresholds."""
    size = out_features * in_features
    if size >= 4_000_000:
        sparse = 5 * nnz <= size  # density <= 0.2
    elif size >= 200_000:
        sparse = 10 * nnz <= size  # density <= 0.1
    elif size >= 100_000:
        sparse = 100 * nnz <= size  # density <= 0.01
    else:
        sparse = False
    return "sparse" if sparse else "dense"


@st.composite
def weights(draw, max_side=5000):
    out_features = draw(st.integers(0, max_side))
    in_features = draw(st.integers(0, max_side))
    nnz = draw(st.integers(0, out_features * in_features))
    return out_features, in_features, nnz


def test_thresholds_are_the_documented_ones():
    assert SPARSE_THRESHOLDS == ((4_000_000, 0.2), (200_000, 0.1), (100_000, 0.01))


@pytest.mark.parametrize(
    ("shape", "nnz", "layout"),
    [
        ((4096, 4096), 3_000_000, "sparse"),  # 18 % of 16.8M entries
        ((4096, 4096), 5_000_000, "dense"),
        ((300, 784), 23_000, "sparse"),
        ((300, 784), 30_000, "dense"),
        ((200, 500), 1_000, "sparse"),
        ((200, 500), 5_000, "dense"),
        ((50, 50), 1, "dense"),
        ((0, 10), 0, "dense"),
    ],
)
def test_auto_layout_thresholds(shape, nnz, layout):
    assert choose_layout(*shape, nnz) == layout


@pytest.mark.parametrize(
    ("shape", "most_sparse_nnz"),
    [
        ((2000, 2000), 800_000),  # exactly 4M entries: density 0.2 still sparse
        ((3, 1_333_333), 399_999),  # one entry fewer: the 0.1 rule
        ((400, 500), 20_000),  # exactly 200k entries
        ((1, 199_999), 1_999),  # one fewer: the 0.01 rule
        ((100, 1000), 1_000),  # exactly 100k entries
    ],
)
def test_each_threshold_is_inclusive(shape, most_sparse_nnz):
    assert choose_layout(*shape, most_sparse_nnz) == "sparse"
    assert choose_layout(*shape, most_sparse_nnz + 1) == "dense"


def test_below_the_least_size_every_weight_is_dense():
    assert choose_layout(1, 99_999, 0) == "dense"
    assert choose_layout(316, 316, 0) == "dense"


@given(weights())
def test_choice_follows_the_documented_rule(weight):
    assert choose_layout(*weight) == reference_layout(*weight)


@given(weights(), st.data())
def test_choice_is_monotone_in_nnz_and_symmetric_in_shape(weight, data):
    out_features, in_features, nnz = weight
    layout = choose_layout(out_features, in_features, nnz)
    assert choose_layout(in_features, out_features, nnz) == layout
    if layout == "sparse":
        fewer = data.draw(st.integers(0, nnz))
        assert choose_layout(out_features, in_features, fewer) == "sparse"


@pytest.mark.parametrize("layout", [*LAYOUTS, "auto"])
def test_check_layout_returns_an_accepted_layout(layout):
    assert check_layout(layout) == layout


def test_check_layout_names_the_choices():
    with pytest.raises(
        ValueError, match="layout must be one of dense, sparse, block, auto; got 'csr'"
    ):
        check_layout("csr")
    with pytest.raises(ValueError, match="layout must be one of dense, sparse, block; got 'auto'"):
        check_layout("auto", allow_auto=False)
    assert check_layout("block", allow_auto=False) == "block"
