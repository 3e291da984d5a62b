import numpy as np
import pytest
import torch

from graphnn.exceptions import DatasetError, GraphnnError
from graphnn.sparse3d.data.batch import Sample, SparseBatch
from graphnn.sparse3d.data.dataset import KINDS, SparseDataset
from graphnn.sparse3d.data.picture import Off3DPicture, VoxelPicture
from graphnn.sparse3d.mesh.off import write_off
from graphnn.sparse3d.mesh.shapes import SHAPES, shapes


def voxels(label, n=3):
    return VoxelPicture(np.arange(3 * n).reshape(n, 3), render_size=9, label=label)


def test_add_repeat_and_summary():
    data = SparseDataset("toy", "test", ["a", "b", "c"])
    for label in (0, 1, 1):
        data.add_picture(voxels(label))
    assert len(data) == 3
    assert data.repeat_samples(2) is data and len(data) == 6
    summary = data.summary()
    assert summary.class_counts == {"a": 2, "b": 4, "c": 0} and summary.samples == 6
    assert str(summary).splitlines()[0] == "toy (test): 6 samples"
    assert "SparseDataset(name='toy'" in repr(data)


def test_items_are_samples():
    data = SparseDataset(kind="test", pictures=[voxels(0), voxels(2, n=5)])
    sample = data[1]
    assert isinstance(sample, Sample)
    assert sample.coords.dtype == torch.int32 and sample.coords.shape == (5, 3)
    assert sample.features.dtype == torch.float32 and sample.label == 2 and sample.index == 1
    assert sample.spatial_size == (13, 14, 15)  # the smallest grid holding the voxels
    assert data[-1].index == 1
    with pytest.raises(IndexError, match="index 2 is out of range for 2 samples"):
        data[2]
    with pytest.raises(TypeError, match="index is an int"):
        data["0"]


def test_unlabeled_samples_have_label_minus_one():
    data = SparseDataset(kind="unlabeled", pictures=[voxels(-1), voxels(3)])
    assert [data[i].label for i in range(2)] == [-1, -1]
    assert data.summary().class_counts == {"3": 1, "-": 1}


def test_training_augmentation_with_a_seed_depends_on_epoch_and_index():
    data = SparseDataset.shapes(1, render_size=12, classes=["box", "torus"], seed=0, augment_seed=7)
    assert data.seed == 7
    first = data[0].coords
    assert torch.equal(first, data[0].coords)
    data.set_epoch(1)
    assert not torch.equal(first, data[0].coords)
    data.set_epoch(0)
    assert torch.equal(first, data[0].coords)


def test_training_augmentation_follows_torch_without_a_seed():
    data = SparseDataset.shapes(1, render_size=12, classes=["cone"], seed=0)
    torch.manual_seed(3)
    a = data[0].coords
    b = data[0].coords
    torch.manual_seed(3)
    assert torch.equal(a, data[0].coords) and not torch.equal(a, b)


def test_fixed_spatial_size_and_features():
    data = SparseDataset.shapes(
        2, render_size=10, classes=["sphere"], seed=1, spatial_size=16, features=("ones", "normal")
    )
    sample = data[1]
    assert sample.spatial_size == (16, 16, 16)
    assert sample.coords.max() < 16 and sample.features.shape[1] == 4


def test_split_is_stratified_and_shares_pictures():
    data = SparseDataset("d", "train", ["a", "b"], [voxels(k % 2) for k in range(20)])
    data.add_picture(voxels(1))
    rest, part = data.split(0.3, seed=0)
    assert len(rest) + len(part) == 21 and len(data) == 21
    assert part.summary().class_counts == {"a": 3, "b": 3}
    assert {id(p) for p in rest.pictures} | {id(p) for p in part.pictures} == {
        id(p) for p in data.pictures
    }
    assert part.name == "d-split" and part.kind == "train"
    again = data.split(0.3, seed=0)[1]
    assert [id(p) for p in again.pictures] == [id(p) for p in part.pictures]
    with pytest.raises(ValueError, match=r"fraction must be a number in \[0, 1\]"):
        data.split(1.5)


def write_modelnet(root, files):
    for name, split, count in files:
        folder = root / name / split
        folder.mkdir(parents=True)
        for k, (mesh, _) in enumerate(shapes(count, classes=[name], seed=len(split))):
            write_off(mesh, folder / f"{name}_{k:04d}.off")


def test_from_folder_reads_the_modelnet_layout(tmp_path):
    write_modelnet(tmp_path, [("box", "train", 2), ("box", "test", 1), ("cone", "train", 3)])
    (tmp_path / "README.txt").write_text("not a class")
    train = SparseDataset.from_folder(tmp_path, "train", render_size=8)
    assert train.class_names == ["box", "cone"] and train.kind == "train"
    assert [p.label for p in train.pictures] == [0, 0, 1, 1, 1]
    assert [p.path.name for p in train.pictures][:2] == ["box_0000.off", "box_0001.off"]
    assert not any(p.loaded for p in train.pictures)
    assert train[4].coords.shape[1] == 3
    test = SparseDataset.from_folder(tmp_path, "test", render_size=8)
    assert test.class_names == ["box"] and test.kind == "test" and len(test) == 1
    only = SparseDataset.from_folder(tmp_path, classes=["cone"], render_size=8)
    assert len(only) == 3 and {p.label for p in only.pictures} == {0}


def test_from_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        SparseDataset.from_folder(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match=r"no <class>/train/\*.off files"):
        SparseDataset.from_folder(tmp_path)
    write_modelnet(tmp_path, [("box", "train", 1)])
    with pytest.raises(FileNotFoundError, match="class 'chair'"):
        SparseDataset.from_folder(tmp_path, classes=["box", "chair"])


def test_shapes_data_set():
    data = SparseDataset.shapes(3, render_size=8, seed=2)
    assert data.class_names == list(SHAPES) and len(data) == 3 * len(SHAPES)
    assert set(data.summary().class_counts.values()) == {3}
    again = SparseDataset.shapes(3, render_size=8, seed=2)
    assert all(a.mesh == b.mesh for a, b in zip(data.pictures, again.pictures, strict=True))


@pytest.mark.parametrize("workers", [0, 2])
def test_loader(workers):
    data = SparseDataset.shapes(3, render_size=8, classes=["box", "pyramid"], seed=0)
    batches = list(data.loader(batch_size=4, shuffle=False, num_workers=workers))
    assert [len(b) for b in batches] == [4, 2]
    assert all(isinstance(b, SparseBatch) for b in batches)
    first = batches[0]
    assert torch.unique(first.coords[:, 0]).tolist() == [0, 1, 2, 3]
    assert first.labels.tolist() == [0, 0, 0, 1] and first.indices.tolist() == [0, 1, 2, 3]


def test_kinds_and_bad_input():
    assert KINDS == ("train", "test", "unlabeled")
    with pytest.raises(ValueError, match="kind must be one of train, test, unlabeled"):
        SparseDataset(kind="validation")
    with pytest.raises(ValueError, match="class names must be distinct"):
        SparseDataset(class_names=["a", "a"])
    with pytest.raises(ValueError, match="spatial_size must be"):
        SparseDataset(spatial_size=(4, 4))
    data = SparseDataset(class_names=["a"])
    with pytest.raises(TypeError, match="a picture needs voxelize"):
        data.add_picture("chair.off")
    with pytest.raises(ValueError, match="has label 1 but the data set has 1 classes"):
        data.add_picture(voxels(1))
    with pytest.raises(ValueError, match="unlabeled but this is a train data set"):
        data.add_picture(voxels(-1))
    with pytest.raises(ValueError, match="times must be a positive int"):
        data.repeat_samples(0)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        SparseDataset(seed=-1)
    picture = Off3DPicture(shapes(1, classes=["box"], seed=0)[0][0], 8, 0)
    data.add_picture(picture)
    assert len(data) == 1


def test_add_picture_raises_a_dataset_error_naming_the_picture():
    data = SparseDataset(class_names=["a", "b"])
    picture = voxels(2)
    with pytest.raises(DatasetError, match="has label 2 but the data set has 2 classes") as info:
        data.add_picture(picture)
    assert repr(picture) in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, GraphnnError)
    test = SparseDataset(kind="test", class_names=["a"])
    with pytest.raises(DatasetError, match="is unlabeled but this is a test data set") as info:
        test.add_picture(voxels(-1))
    assert str(info.value).startswith(repr(voxels(-1)))
    assert len(data) == len(test) == 0  # nothing was added
    unlabeled = SparseDataset(kind="unlabeled", class_names=["a"])
    unlabeled.add_picture(voxels(-1))
    assert len(unlabeled) == 1
