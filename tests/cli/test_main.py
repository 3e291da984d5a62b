import json

import networkx as nx
import pytest

from graphnn.cli import main
from graphnn.structure.generators import layered
from graphnn.structure.graphml import write_graphml


def test_info_prints_the_summary(tmp_path, capsys):
    path = tmp_path / "net.graphml"
    write_graphml(layered([3, 4, 2], seed=0), path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "widths [3, 4, 2]" in out
    assert main(["info", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layer_widths"] == [3, 4, 2]


def test_info_reports_a_missing_file_in_one_line(tmp_path, capsys):
    assert main(["info", str(tmp_path / "none.graphml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("graphnn info: error:") and "none.graphml" in err
    assert len(err.strip().splitlines()) == 1


def test_info_reports_a_broken_file_with_its_line(tmp_path, capsys):
    path = tmp_path / "broken.graphml"
    write_graphml(layered([2, 2], seed=0), path)
    path.write_text(path.read_text()[:-40])
    assert main(["info", str(path)]) == 1
    err = capsys.readouterr().err
    assert "broken.graphml:" in err and "Traceback" not in err


def test_info_reports_a_cyclic_structure(tmp_path, capsys):
    path = tmp_path / "cycle.graphml"
    write_graphml(nx.DiGraph([(0, 1), (1, 0)]), path)
    assert main(["info", str(path)]) == 1
    assert "cycle: 0 -> 1 -> 0" in capsys.readouterr().err


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(OSError):
        main(["--debug", "info", str(tmp_path / "none.graphml")])


@pytest.mark.parametrize("argv", [[], ["nope"], ["info"], ["demo", "--seed", "x"]])
def test_usage_errors_exit_with_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2


@pytest.mark.parametrize(
    "argv",
    [["--quiet", "info"], ["info", "--quiet"], ["-q", "info", "--debug"]],
)
def test_common_flags_before_or_after_the_command(argv, tmp_path, capsys):
    path = tmp_path / "net.graphml"
    write_graphml(layered([3, 4, 2], seed=0), path)
    assert main([*argv, str(path)]) == 0
    assert capsys.readouterr().out == ""


def test_a_closed_pipe_ends_the_command_quietly(monkeypatch, tmp_path, capsys):
    import graphnn.cli.info

    def closed(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(graphnn.cli.info, "_run", closed)
    path = tmp_path / "net.graphml"
    write_graphml(layered([2, 2], seed=0), path)
    assert main(["info", str(path)]) == 1
    assert capsys.readouterr().err == ""
