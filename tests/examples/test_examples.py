import importlib.util
from pathlib import Path

import graphnn

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_random_wirings(tmp_path, capsys):
    table = load("compare_random_wirings").main(
        ["--n", "12", "--seeds", "2", "--out", str(tmp_path)]
    )
    assert set(table) == {"er", "ba", "ws"}
    assert all(row["depth"] >= 2 for row in table.values())
    assert "RandWire, n=12" in capsys.readouterr().out
    files = sorted(tmp_path.glob("*.graphml"))
    assert len(files) == 6
    G = graphnn.read_graphml(files[0])
    assert graphnn.inputs(G) == [-1] and graphnn.outputs(G) == [12]
