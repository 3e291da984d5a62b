import importlib.util
import sys
from pathlib import Path

import pytest
import torch

import graphnn
from graphnn import sparse3d

pytestmark = pytest.mark.slow  # whole commands and scripts: make test-fast leaves them out

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as an import does: dataclasses look their module up there
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


def test_pruning_digits_proof():
    """The issue's proof on real data: scikit-learn's digits, 64-100-100-10, 90 % sparsity."""
    results = load("pruning_digits").experiment(seed=0)
    dense = results["dense"]
    by_magnitude, by_random = results["magnitude"][-1], results["random"][-1]
    assert dense >= 0.95
    assert by_magnitude.sparsity == by_random.sparsity == 0.9
    assert by_magnitude.test["accuracy"] >= dense - 0.02
    # measurably worse: at least 1 point (4.5 of the 450 test images) below magnitude pruning
    assert by_random.test["accuracy"] <= by_magnitude.test["accuracy"] - 0.01


def test_pruning_digits_example(tmp_path, capsys):
    results = load("pruning_digits").main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "dense test accuracy" in out and "total sparsity" in out
    assert results["plot"].stat().st_size > 0
    rounds = sorted((tmp_path / "graphml").glob("round-*.graphml"))
    assert len(rounds) == 3  # round 0 and the two quick rounds
    assert graphnn.read_graphml(rounds[-1]).number_of_edges() < 17000


def test_shapes_classification_example(tmp_path, capsys):
    results = load("shapes_classification").main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "input size 126" in out and "test-time augmentation, 3 poses per shape" in out
    assert len(results["log"]) == 1 and results["final"].repeats == 3
    assert results["final"].probabilities.shape[1] == 8
    network = sparse3d.SparseNetwork.load(tmp_path / "network.pt")
    assert network.input_spatial_size() == 126
    graphnn.assert_graphs_equal(
        graphnn.read_graphml(tmp_path / "layers.graphml"), results["network"].to_graph()
    )
    assert (tmp_path / "learning_curves.png").stat().st_size > 0


def test_pruning_digits_saliencies_side_by_side(tmp_path, capsys):
    methods = ["magnitude", "random", "snip", "obd"]
    results = load("pruning_digits").main(
        ["--quick", "--methods", *methods, "--out", str(tmp_path)]
    )
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("round"))
    assert header.split()[-4:] == methods  # one accuracy column per saliency
    final = {name: results[name][-1] for name in methods}
    assert {r.sparsity for r in final.values()} == {0.9}
    # the data-free baseline loses most; the informed saliencies keep more than it
    accuracy = {name: r.test["accuracy"] for name, r in final.items()}
    assert all(accuracy["random"] < accuracy[name] - 0.1 for name in ("magnitude", "snip", "obd"))
    assert results["shared"]["magnitude"] == 1.0 and results["shared"]["random"] < 0.3
    rows = (tmp_path / "saliencies.csv").read_text().splitlines()
    assert len(rows) == 1 + len(methods) * 3  # header, then (method, round) for rounds 0-2


def test_networkx_roundtrip_example(tmp_path, capsys):
    results = load("networkx_roundtrip").main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert len(results["checks"]) == 9 and all(results["checks"].values())
    assert "[ok] recompiled from the file: identical outputs (torch.equal)" in out
    assert results["accuracy"] > 0.8  # three epochs of a locally connected net on digits
    assert results["retrained_accuracy"] > results["pruned_accuracy"]
    G = graphnn.read_graphml(results["graphml"])
    graphnn.assert_graphs_equal(G, results["graph"])
    assert graphnn.inputs(G)[:2] == [("pixel", 0, 0), ("pixel", 0, 1)]  # tuple labels kept
    assert (tmp_path / "pruned.graphml").stat().st_size > 0


def test_hypothesis_research_example(tmp_path, capsys):
    results = load("hypothesis_research").main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    kept, dropped = results["findings"]
    assert kept.held and kept.runs == 50 and kept.tallied > 10  # dead units were exercised
    assert not dropped.held and "FALSIFIED" in out
    G = dropped.counterexample  # a constant unit (no inputs left) that still feeds an output
    assert graphnn.dead_units(G) and G.number_of_nodes() <= 6
    assert any(
        G.in_degree(v) == 0 and G.nodes[v]["role"] == "hidden" and G.out_degree(v) > 0 for v in G
    )
    assert len(results["rows"]) >= 5 and set(results["correlations"]) == {
        "hidden units", "edges", "depth", "skip edges", "mean in-degree"
    }  # fmt: skip
    assert all(0.0 <= row["pruned"] <= 1.0 for row in results["rows"])
    assert len(results["csv"].read_text().splitlines()) == 1 + len(results["rows"])
    assert results["plot"].stat().st_size > 0


def test_shapes_retrieval_example(tmp_path, capsys):
    """Held-out shapes rank better after triplet training (seeds 0-2: mAP up by 0.09 to 0.18)."""
    args = ["--classes", "box", "sphere", "torus", "cone", "--per-class", "12"]
    args += ["--test-per-class", "6", "--render-size", "8", "--epochs", "25"]
    results = load("shapes_retrieval").main([*args, "--out", str(tmp_path)])
    out = capsys.readouterr().out
    before, after = results["before"], results["after"]
    assert before.queries == after.queries == 24  # held-out shapes, each a query
    assert after.mean_average_precision > before.mean_average_precision + 0.05
    assert after.first_tier > before.first_tier
    assert len(results["log"]) == 25 and "held-out, trained" in out
    saved = torch.load(results["embeddings"])
    assert saved["embeddings"].shape == (24, 32) and saved["labels"].tolist()[:6] == [0] * 6
    network = sparse3d.SparseNetwork.load(tmp_path / "embedder.pt")
    graphnn.assert_graphs_equal(network.to_graph(), results["network"].to_graph())


def test_migrate_pypaddle_example(tmp_path, capsys):
    results = load("migrate_pypaddle").main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert len(results["checks"]) == 5 and all(results["checks"].values())
    accuracy = results["accuracy"]
    assert accuracy["MaskedFFN, trained"] == accuracy["MaskedDeepFFN, trained"] > 0.8
    # pyPaddle's MaskedDeepDAN(pruned_structure) starts anew; compile(to_graph()) keeps weights
    assert accuracy["MaskedDeepDAN(64, 10, pruned_structure): new random weights"] < 0.3
    kept = accuracy["graphnn.compile(model.to_graph()): trained weights kept"]
    assert kept == accuracy["compile(G), prune.magnitude(threshold=0.05)"] > 0.3
    assert "model.generate_structure()" in out
    assert graphnn.read_graphml(results["graphml"]).number_of_nodes() == 64 + 50 + 10


def test_migrate_pysparseconvnet_example(tmp_path, capsys):
    results = load("migrate_pysparseconvnet").main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert len(results["checks"]) == 4 and all(results["checks"].values())
    assert results["old"].repeats == results["new"].repeats == 3
    assert torch.equal(results["old"].probabilities, results["new"].probabilities)
    assert len(sorted((tmp_path / "shapes").glob("*/train/*.off"))) == 8 * 2
    assert "addLeNetLayerMP" in out and "processDatasetRepeatTest" in out
    network = sparse3d.SparseNetwork.load(results["network_file"])
    graphnn.assert_graphs_equal(graphnn.read_graphml(results["graphml"]), network.to_graph())
