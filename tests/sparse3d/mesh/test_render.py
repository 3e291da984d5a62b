import numpy as np
import pytest

from graphnn.sparse3d import plot_sites


def test_plot_sites_writes_a_png_of_many_sites(tmp_path):
    rng = np.random.default_rng(0)
    coords = rng.integers(0, 64, size=(25_000, 3))  # beyond the 3D panel's limit
    path = tmp_path / "sites.png"
    plot_sites(coords, path, title="random")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_sites_draws_no_sites(tmp_path):
    plot_sites(np.zeros((0, 3), np.int32), tmp_path / "empty.png")
    assert (tmp_path / "empty.png").stat().st_size > 0


def test_plot_sites_names_a_wrong_shape(tmp_path):
    with pytest.raises(ValueError, match=r"coords must be \[N, 3\].*\(5, 4\)"):
        plot_sites(np.zeros((5, 4)), tmp_path / "x.png")
