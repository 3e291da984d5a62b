"""The shared strategies of the sparse 3D tests draw what they promise."""

import torch
from hypothesis import given

from tests.sparse3d.sparse_strategies import at_sites, occupancy, small, sparse_inputs


@small()
@given(sparse_inputs())
def test_drawn_inputs_are_valid_and_match_their_dense_grid(x):
    assert x.coords.dtype == torch.int32 and 1 <= x.batch_size <= 3
    dense = x.dense()
    torch.testing.assert_close(at_sites(dense, x.coords), x.features)
    assert int(occupancy(x).sum()) == x.num_sites
