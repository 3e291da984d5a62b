import sys

import pytest

from graphnn._figures import agg_figure
from graphnn.sparse3d import plot_sites


def test_a_figure_on_the_agg_canvas():
    figure = agg_figure("test", 3.0, 2.0)
    assert type(figure.canvas).__name__ == "FigureCanvasAgg"


def test_without_matplotlib_the_error_names_who_needed_it(monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r"plot_sites needs matplotlib.*graphnn\[examples\]"):
        plot_sites([[0, 0, 0]], tmp_path / "x.png")
