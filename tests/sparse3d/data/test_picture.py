import numpy as np
import pytest

from graphnn.exceptions import OFFError, SparseDataError
from graphnn.sparse3d.data.picture import Off3DPicture, Picture, VoxelPicture
from graphnn.sparse3d.mesh.mesh import Mesh
from graphnn.sparse3d.mesh.off import write_off
from graphnn.sparse3d.mesh.voxelization import voxelize

# a closed, outward-oriented box 2 x 1 x 0.5 (12 triangles)
CORNERS = np.array([[x, y, z] for x in (0, 2.0) for y in (0, 1.0) for z in (0, 0.5)])
BOX = Mesh(
    CORNERS,
    [
        [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
        [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],
    ],
)  # fmt: skip


def test_a_picture_from_a_file_is_read_lazily_and_cached(tmp_path):
    path = tmp_path / "box.off"
    write_off(BOX, path)
    picture = Off3DPicture(path, 16, label=3)
    assert isinstance(picture, Picture) and not picture.loaded
    coords, _ = picture.voxelize(rng=0)
    assert picture.loaded and picture.mesh == BOX
    again = Off3DPicture(str(path), 16, label=3, cache=False)
    assert np.array_equal(again.voxelize(rng=0)[0], coords)
    assert not again.loaded
    assert "box.off" in repr(picture) and "label=3" in repr(picture)


def test_without_augmentation_it_is_the_voxelizer():
    coords, features = Off3DPicture(BOX, 12).voxelize(rotate=False)
    expected = voxelize(BOX, 12)
    assert np.array_equal(coords, expected[0]) and np.array_equal(features, expected[1])
    extent = coords.max(axis=0) - coords.min(axis=0) + 1
    assert extent.max() in (12, 13)  # the longest side spans render_size voxels


def test_rotation_comes_before_the_bounding_box():
    # the rotated box is rescaled: its longest side still spans about render_size voxels
    for seed in range(5):
        coords, _ = Off3DPicture(BOX, 20).voxelize(rng=seed)
        extent = coords.max(axis=0) - coords.min(axis=0) + 1
        assert 20 <= extent.max() <= 21


def test_augmentation_is_seeded_and_training_adds_jitter():
    picture = Off3DPicture(BOX, 16)
    first = picture.voxelize(train=True, rng=5)
    assert np.array_equal(first[0], picture.voxelize(train=True, rng=5)[0])
    test = picture.voxelize(train=False, rng=5)
    assert not np.array_equal(first[0], test[0])
    rng = np.random.default_rng(1)
    assert not np.array_equal(picture.voxelize(rng=rng)[0], picture.voxelize(rng=rng)[0])


def test_training_voxels_fit_a_fixed_grid_or_are_dropped():
    picture = Off3DPicture(BOX, 16)
    coords, features = picture.voxelize(train=True, rng=0, spatial_size=24, features="normal")
    assert coords.min() >= 0 and coords.max() < 24
    assert features.shape == (len(coords), 3)


def test_missing_file_fails_when_read(tmp_path):
    picture = Off3DPicture(tmp_path / "missing.off", 8)
    with pytest.raises(FileNotFoundError):
        picture.voxelize()
    broken = tmp_path / "broken.off"
    broken.write_text("OFF\n3 1 0\n0 0 0\n1 0 0\n")
    with pytest.raises(OFFError, match=r"broken\.off"):
        Off3DPicture(broken, 8).voxelize()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"source": 3, "render_size": 8}, TypeError, "path to an OFF file or a Mesh"),
        ({"source": BOX, "render_size": 0}, ValueError, "render_size must be a positive int"),
        ({"source": BOX, "render_size": 8.0}, TypeError, "render_size must be a positive int"),
        ({"source": BOX, "render_size": 8, "label": -2}, ValueError, "label must be"),
    ],
)
def test_off3dpicture_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        Off3DPicture(**kwargs)


def test_bad_augmentation_amounts():
    with pytest.raises(ValueError, match="affine must be a finite non-negative number"):
        Off3DPicture(BOX, 8).voxelize(train=True, affine=-0.1)
    with pytest.raises(ValueError, match="jitter must be a finite non-negative number"):
        Off3DPicture(BOX, 8).voxelize(train=True, jitter=float("inf"))


def test_voxel_picture():
    picture = VoxelPicture([[0, 0, 0], [1, 2, 3]], [[0.5], [2.0]], label=1)
    assert isinstance(picture, Picture) and picture.render_size == 4
    coords, features = picture.voxelize(train=True, rng=0)
    assert coords.tolist() == [[0, 0, 0], [1, 2, 3]] and features.tolist() == [[0.5], [2.0]]
    coords, _ = picture.voxelize(spatial_size=(4, 5, 6))
    assert coords.tolist() == [[1, 1, 1], [2, 3, 4]]
    with pytest.raises(ValueError, match=r"span \[2, 3, 4\] but spatial_size is \[4, 2, 4\]"):
        picture.voxelize(spatial_size=(4, 2, 4))
    empty = VoxelPicture(np.zeros((0, 3), dtype=np.int64))
    assert empty.voxelize(spatial_size=4)[0].shape == (0, 3)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (([[0, 0]],), ValueError, r"shape \[N, 3\]"),
        (([[0.5, 0, 0]],), TypeError, "integers"),
        (([[0, 0, 0], [0, -1, 0]],), ValueError, r"coords\[1\] = \[0, -1, 0\] is negative"),
        (([[0, 0, 0], [1, 1, 1], [0, 0, 0]],), ValueError, r"coords\[2\] .* is a duplicate"),
        (([[0, 0, 0]], [[1.0], [2.0]]), ValueError, r"features must have shape \[1, C\]"),
        (([[0, 0, 0]], [[np.nan]]), ValueError, r"features\[0\] is not finite"),
    ],
)
def test_voxel_picture_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        VoxelPicture(*args)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([[0, 0, 0], [1, 1, 1], [0, -1, 0]],), r"^coords\[2\] = \[0, -1, 0\] is negative"),
        (([[0, 0, 0], [1, 1, 1], [1, 1, 1]],), r"^coords\[2\] = \[1, 1, 1\] is a duplicate"),
        (([[0, 0, 0], [1, 1, 1]], [[1.0], [np.inf]]), r"^features\[1\] is not finite"),
        (([[0, 0]],), r"^coords must have shape \[N, 3\]"),
    ],
)
def test_bad_voxels_raise_a_sparse_data_error_naming_the_row(args, match):
    with pytest.raises(SparseDataError, match=match) as info:
        VoxelPicture(*args)
    assert isinstance(info.value, ValueError)
