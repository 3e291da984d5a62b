"""``graphnn demo``: one quick run shared by the tests, and a second one with the same seed."""

import io
from contextlib import redirect_stdout
from pathlib import Path

import networkx as nx
import pytest
import torch

import graphnn
from graphnn.cli import main

pytestmark = pytest.mark.slow  # whole commands and scripts: make test-fast leaves them out

PNG = b"\x89PNG\r\n\x1a\n"
PLOTS = [
    "accuracy_vs_sparsity.png",
    "structure.png",
    "pruned_dag.png",
    "voxels.png",
    "shapes_learning_curves.png",
]


def _demo(*argv: str) -> tuple[int, str]:
    """Run ``graphnn demo ...``; return its exit status and what it printed."""
    printed = io.StringIO()
    with redirect_stdout(printed):
        status = main(["demo", *argv])
    return status, printed.getvalue()


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[int, str, Path]:
    out = tmp_path_factory.mktemp("demo")
    return (*_demo("--quick", "--seed", "3", "--out", str(out)), out)


def _rounds(out: Path) -> list[Path]:
    return sorted((out / "graphml").glob("round-*.graphml"))


def test_demo_prints_the_table_and_the_files_it_wrote(run):
    status, printed, out = run
    assert status == 0
    assert "graphnn demo, seed 3, quick run" in printed
    assert "round  sparsity  live params  test_accuracy" in printed
    assert "dead units removed after round" in printed
    assert "3D shapes: 8 classes" in printed and "test accuracy" in printed
    assert (out / "results.txt").read_text() in printed
    listed = printed.split(f"files written in {out}/:\n")[1].splitlines()
    files = [out / line.strip() for line in listed if line.startswith("  ")]
    assert len(files) == len(_rounds(out)) + 2 + len(PLOTS)
    assert all(path.is_file() for path in files)


def test_every_round_is_graphml_that_loads_back_sparser_each_round(run):
    _, printed, out = run
    rounds = _rounds(out)
    assert [path.name for path in rounds] == [
        "round-00.graphml",
        "round-01.graphml",
        "round-02.graphml",
    ]
    structures = [graphnn.read_graphml(path) for path in rounds]
    for G in structures:
        assert nx.is_directed_acyclic_graph(G)
        assert len(graphnn.inputs(G)) == 64 and len(graphnn.outputs(G)) == 10
    edges = [G.number_of_edges() for G in structures]
    assert edges == sorted(edges, reverse=True) and len(set(edges)) == len(edges)
    assert 1 - edges[-1] / edges[0] == pytest.approx(0.9, abs=0.01)
    assert f"    2    0.{round(10_000 * (1 - edges[-1] / edges[0])):04d}" in printed


def test_the_pruned_structure_has_no_dead_units_and_computes_the_same(run):
    _, _, out = run
    last = graphnn.read_graphml(_rounds(out)[-1])
    pruned = graphnn.read_graphml(out / "graphml" / "pruned.graphml")
    assert graphnn.summary(pruned).n_dead_units == 0
    assert graphnn.inputs(pruned) == graphnn.inputs(last)
    assert graphnn.outputs(pruned) == graphnn.outputs(last)
    assert set(pruned) <= set(last) and pruned.number_of_edges() <= last.number_of_edges()
    x = torch.randn(32, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(graphnn.compile(pruned)(x), graphnn.compile(last)(x))


@pytest.mark.parametrize("name", PLOTS)
def test_plots_are_png_images(run, name):
    data = (run[2] / name).read_bytes()
    assert data.startswith(PNG) and len(data) > 5_000


def test_the_same_seed_gives_the_same_results_and_quiet_prints_nothing(run, tmp_path):
    _, _, first = run
    status, printed = _demo("--quick", "--quiet", "--seed", "3", "--out", str(tmp_path))
    assert status == 0 and printed == ""
    assert (tmp_path / "results.txt").read_text() == (first / "results.txt").read_text()
    written = sorted(path.name for path in (first / "graphml").iterdir())
    assert sorted(path.name for path in (tmp_path / "graphml").iterdir()) == written
    for name in written:  # the same bytes: structure, weights and biases
        assert (tmp_path / "graphml" / name).read_bytes() == (first / "graphml" / name).read_bytes()


def test_an_output_folder_that_is_a_file_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "taken"
    path.write_text("not a folder")
    assert main(["demo", "--quick", "--out", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("graphnn demo: error:") and "taken" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
