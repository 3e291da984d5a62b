"""Fixtures of the network tests."""

import pytest

from tests.sparse3d.network.networks import shape_batch


@pytest.fixture(scope="module")
def batch():
    return shape_batch()
