import numpy as np
import pytest

from graphnn.cli import main
from graphnn.sparse3d import Off3DPicture, VoxelPicture, write_off
from graphnn.sparse3d.mesh.primitives import torus


@pytest.fixture
def mesh_file(tmp_path):
    path = tmp_path / "torus.off"
    write_off(torus(sections=12, rings=6), path)
    return path


def test_reports_and_writes_the_sites(mesh_file, tmp_path, capsys):
    out, png = tmp_path / "torus.npz", tmp_path / "torus.png"
    argv = ["voxelize", str(mesh_file), "--size", "10", "--out", str(out), "--png", str(png)]
    assert main([*argv, "--features", "ones,area"]) == 0
    printed = capsys.readouterr().out
    coords, features = Off3DPicture(mesh_file, 10).voxelize(rotate=False, features=("ones", "area"))
    assert f"{len(coords)} sites, 2 feature channels (ones, area)" in printed
    assert f"site bounds {coords.min(0).tolist()} .. {coords.max(0).tolist()}" in printed
    assert "72 vertices, 144 triangles" in printed
    with np.load(out) as data:
        np.testing.assert_array_equal(data["coords"], coords)
        np.testing.assert_array_equal(data["features"], features)
        assert data["feature_names"].tolist() == ["ones", "area"]
        again = VoxelPicture(data["coords"], data["features"], int(data["render_size"]))
    assert again.render_size == 10
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_random_pose_follows_the_seed(mesh_file, tmp_path):
    def sites(seed):
        out = tmp_path / f"{seed}.npz"
        argv = ["voxelize", str(mesh_file), "--size", "8", "--rotate", "--augment", "-q"]
        assert main([*argv, "--seed", str(seed), "--out", str(out)]) == 0
        with np.load(out) as data:
            return data["coords"]

    np.testing.assert_array_equal(sites(3), sites(3))
    assert not np.array_equal(sites(3), sites(4))


def test_a_small_grid_drops_sites(mesh_file, capsys):
    assert main(["voxelize", str(mesh_file), "--size", "8", "--spatial-size", "4"]) == 0
    assert "of that box" in capsys.readouterr().out


def _broken(tmp_path):
    path = tmp_path / "broken.off"
    path.write_text("OFF\n3 1 0\n0 0 0\n1 0\n0 1 0\n3 0 1 2\n")
    return path


@pytest.mark.parametrize(
    ("make", "argv", "message"),
    [
        (lambda tmp: tmp / "none.off", [], "none.off"),
        (_broken, [], "broken.off:4: vertex line has 2 values; OFF needs 3 (x y z)"),
        (_broken, ["--size", "0"], "--size must be a positive number of voxels, got 0"),
        (_broken, ["--spatial-size", "0"], "--spatial-size must be a positive int, got 0"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, make, argv, message, capsys):
    assert main(["voxelize", str(make(tmp_path)), *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("graphnn voxelize: error:") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_unknown_feature_is_named(mesh_file, capsys):
    assert main(["voxelize", str(mesh_file), "--features", "ones,colour"]) == 1
    assert "unknown feature 'colour'" in capsys.readouterr().err


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["voxelize", "--help"])
    assert e.value.code == 0
    assert "--png FILE" in capsys.readouterr().out


def test_voxelize_a_built_in_shape(tmp_path, capsys):
    assert main(["voxelize", "torus", "--size", "16", "--out", str(tmp_path / "t.npz")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("torus: ") and " sites, 1 feature channel" in out
    assert len(np.load(tmp_path / "t.npz")["coords"]) > 0


def test_voxelize_names_a_missing_file(tmp_path, capsys):
    assert main(["voxelize", str(tmp_path / "nothere.off")]) == 1
    err = capsys.readouterr().err
    assert "nothere.off" in err and len(err.strip().splitlines()) == 1
