import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphnn.sparse3d.mesh.augment import random_affine, random_rotation, random_translation


@given(st.integers(0, 2**32))
def test_rotations_are_proper(seed):
    R = random_rotation(seed)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)


def test_rotations_are_uniform():
    rng = np.random.default_rng(0)
    rotations = np.stack([random_rotation(rng) for _ in range(20000)])
    # the image of a fixed axis is uniform on the sphere: each coordinate uniform in [-1, 1]
    z = rotations[:, :, 2]
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=0.02)
    np.testing.assert_allclose((z**2).mean(axis=0), 1 / 3, atol=0.01)
    counts, _ = np.histogram(z[:, 2], bins=10, range=(-1, 1))
    chi2 = ((counts - 2000) ** 2 / 2000).sum()
    assert chi2 < 27.9  # 9 degrees of freedom, p = 0.001
    # Haar measure: the rotation angle has density (1 - cos t) / pi on [0, pi]
    angle = np.arccos(np.clip((np.trace(rotations, axis1=1, axis2=2) - 1) / 2, -1, 1))
    edges = np.linspace(0, np.pi, 11)
    expected = 20000 * np.diff(edges - np.sin(edges)) / np.pi
    counts, _ = np.histogram(angle, bins=edges)
    assert (((counts - expected) ** 2) / expected).sum() < 27.9


def test_qr_of_uniform_entries_would_fail_these_checks():
    """The test above has the power to see SparseConvNet's biased rotations."""
    rng = np.random.default_rng(0)
    q = np.stack([np.linalg.qr(rng.uniform(size=(3, 3)))[0] for _ in range(20000)])
    assert abs(q[:, :, 2].mean(axis=0)).max() > 0.3  # far from uniform


def test_seeding():
    assert np.array_equal(random_rotation(3), random_rotation(3))
    rng = np.random.default_rng(1)
    assert not np.array_equal(random_rotation(rng), random_rotation(rng))
    assert np.array_equal(random_affine(2, 0.3), random_affine(2, 0.3))
    assert np.array_equal(random_translation(2, 5), random_translation(2, 5))


def test_affine_and_translation_ranges():
    rng = np.random.default_rng(0)
    A = np.stack([random_affine(rng, 0.2) for _ in range(2000)])
    assert np.abs(A - np.eye(3)).max() <= 0.2 and np.abs(A - np.eye(3)).max() > 0.19
    t = np.stack([random_translation(rng, 3.0) for _ in range(2000)])
    assert np.abs(t).max() <= 3.0 and abs(t.mean()) < 0.15


@pytest.mark.parametrize("function", [random_affine, random_translation])
def test_bad_amounts(function):
    with pytest.raises(ValueError, match="finite non-negative"):
        function(0, -1.0)
    with pytest.raises(ValueError, match="finite non-negative"):
        function(0, float("nan"))
    with pytest.raises(TypeError, match="non-negative number"):
        function(0, "0.2")
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        function(-1, 0.2)


def test_random_rotations_look_uniform():
    rng = np.random.default_rng(0)
    Rs = np.stack([random_rotation(rng) for _ in range(3000)])
    assert np.allclose(Rs @ Rs.transpose(0, 2, 1), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(Rs), 1.0)
    # Haar measure: E[R] = 0, and every entry has variance 1/3
    assert np.abs(Rs.mean(axis=0)).max() < 0.05
    assert np.allclose((Rs**2).mean(axis=0), 1 / 3, atol=0.03)
    # the rotation angle has density (1 - cos a) / pi on [0, pi]: mean pi/2 + 2/pi
    angles = np.arccos(np.clip((np.trace(Rs, axis1=1, axis2=2) - 1) / 2, -1, 1))
    assert angles.mean() == pytest.approx(math.pi / 2 + 2 / math.pi, abs=0.03)
