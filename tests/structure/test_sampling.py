import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from graphnn.structure._sampling import bernoulli_pairs


@given(
    st.lists(
        st.tuples(st.integers(0, 20), st.integers(0, 4), st.integers(0, 20), st.integers(0, 4))
    ),
)
def test_bernoulli_pairs_with_p_one_lists_every_pair_in_order(blocks):
    row_start, rows, col_start, cols = np.array(blocks, dtype=np.int64).reshape(-1, 4).T
    expected = [(r0 + r, c0 + c) for r0, nr, c0, nc in blocks for r in range(nr) for c in range(nc)]
    rng = np.random.default_rng(0)
    got = bernoulli_pairs(rng, row_start, rows, col_start, cols, 1.0)
    assert list(zip(*(a.tolist() for a in got), strict=True)) == expected
    empty = bernoulli_pairs(rng, row_start, rows, col_start, cols, 0.0)
    assert empty[0].size == empty[1].size == 0


def test_bernoulli_pairs_frequencies():
    rng = np.random.default_rng(1)
    one = np.ones(1, dtype=np.int64)
    counts = np.zeros((3, 5))
    for _ in range(400):
        r, c = bernoulli_pairs(rng, one * 0, one * 3, one * 0, one * 5, 0.3)
        np.add.at(counts, (r, c), 1)
    # each pair is drawn in about 30% of the 400 trials (sigma ~ 9.2)
    assert np.all(np.abs(counts - 120) < 5 * 9.2)
