import json

import pytest

from graphnn.cli import main
from graphnn.sparse3d import SparseNetwork, random_shape, write_off
from graphnn.structure.graphml import read_graphml

TINY = ["--quick", "--size", "8", "--width", "2", "--batch-size", "4"]


def _modelnet(root, classes=("box", "cone"), splits=("train", "test")):
    """A ModelNet-style folder: one mesh per class and split."""
    for seed, name in enumerate(classes):
        for split in splits:
            folder = root / name / split
            folder.mkdir(parents=True)
            write_off(random_shape(name, seed), folder / f"{name}_0001.off")
    return root


def test_trains_on_a_folder_and_saves_the_run(tmp_path, capsys):
    data, out = _modelnet(tmp_path / "data"), tmp_path / "run"
    assert main(["train3d", "--data", str(data), *TINY, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "data (train): 2 samples" in printed and "2 test shapes" in printed
    assert "epoch" in printed and "train error" in printed  # the per-epoch table
    assert "epoch 1/1: train error " in printed  # and the line printed as the epoch ended
    assert "test accuracy" in printed and "1 pose per shape" in printed
    network = SparseNetwork.load(out / "network.pt")
    assert network.n_classes == 2
    assert read_graphml(out / "layers.graphml").number_of_nodes() == len(network.graph)
    log = json.loads((out / "log.json").read_text())
    assert [row["epoch"] for row in log] == [1] and "test_accuracy" in log[0]
    assert (out / "confusion.csv").read_text().splitlines()[0] == "true \\ predicted,box,cone"
    assert (out / "learning_curves.png").stat().st_size > 0


def test_trains_on_synthetic_shapes(tmp_path, capsys):
    argv = ["train3d", *TINY, "--classes", "box,sphere", "--per-class", "1", "--seed", "2"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "shapes (train): 2 samples" in printed and "seed 2" in printed
    assert (tmp_path / "network.pt").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--data", "{tmp}/none"], "none: no such folder"),
        (["--data", "{tmp}"], "no <class>/train/*.off files"),
        (["--classes", "box,blob"], "unknown shape class 'blob'"),
        (["--classes", "box"], "--classes needs at least two class names"),
        (["--epochs", "0"], "--epochs must be a positive int, got 0"),
        (["--lr", "-1"], "--lr must be positive"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, argv, message, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["train3d", *TINY, *argv, "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("graphnn train3d: error:") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_folder_needs_two_classes_and_their_test_split(tmp_path, capsys):
    one = _modelnet(tmp_path / "one", classes=("box",))
    assert main(["train3d", "--data", str(one), *TINY]) == 1
    assert "a classifier needs at least two classes" in capsys.readouterr().err
    no_test = _modelnet(tmp_path / "no-test", splits=("train",))
    assert main(["train3d", "--data", str(no_test), *TINY, "--out", str(tmp_path / "r")]) == 1
    assert "box/test: no such folder (class 'box')" in capsys.readouterr().err


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train3d", "--help"])
    assert e.value.code == 0
    assert "ModelNet-style folder" in capsys.readouterr().out
