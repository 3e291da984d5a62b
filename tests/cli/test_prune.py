import networkx as nx
import pytest
import torch

import graphnn
from graphnn import prune
from graphnn.cli import main
from graphnn.structure.generators import layered
from graphnn.structure.graphml import read_graphml, write_graphml
from graphnn.structure.roles import roles


@pytest.fixture
def structure(tmp_path):
    path = tmp_path / "net.graphml"
    write_graphml(layered([8, 6, 6, 3], density=0.6, skip_density=0.1, seed=0), path)
    return path


@pytest.fixture
def model_file(tmp_path):
    torch.manual_seed(1)
    model = graphnn.compile(layered([8, 6, 6, 3], density=0.6, seed=0), dtype=torch.float64)
    path = tmp_path / "model.graphml.gz"
    write_graphml(model.to_graph(), path)
    return path


def test_a_structure_loses_edges_and_nothing_else(structure, tmp_path, capsys):
    out = tmp_path / "pruned.graphml"
    assert main(["prune", str(structure), "--sparsity", "0.5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "a structure (no edge weights" in printed and f"wrote {out}" in printed
    G, H = read_graphml(structure), read_graphml(out)
    assert H.number_of_edges() == round(0.5 * G.number_of_edges())
    assert set(H.edges) <= set(G.edges) and list(H.nodes) == list(G.nodes)
    assert roles(H) == roles(G)  # a hidden unit without outgoing edges stays hidden
    assert not any("weight" in attrs for _, _, attrs in H.edges(data=True))
    for v in H:  # only roles may be added
        added = {k: a for k, a in H.nodes[v].items() if k in G.nodes[v] or k != "role"}
        assert added == G.nodes[v]


def test_a_model_is_pruned_as_the_library_prunes_it(model_file, tmp_path, capsys):
    out = tmp_path / "pruned.graphml"
    argv = ["prune", str(model_file), "--sparsity", "0.7", "--scope", "layer", "--out", str(out)]
    assert main(argv) == 0
    assert "a model (every edge has a weight" in capsys.readouterr().out
    expected = graphnn.compile(read_graphml(model_file), dtype=torch.float64)
    prune.prune_to(expected, 0.7, prune.magnitude, scope="layer")
    H = read_graphml(out)
    assert graphnn.graphs_equal(H, expected.to_graph())  # weights written back exactly
    x = torch.randn(4, 8, dtype=torch.float64)
    assert torch.equal(graphnn.compile(H, dtype=torch.float64)(x), expected(x))


def test_remove_dead_keeps_the_function_of_a_model(model_file, tmp_path, capsys):
    out = tmp_path / "small.graphml"
    argv = ["prune", str(model_file), "--sparsity", "0.8", "--remove-dead", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "after pruning" in printed and "after --remove-dead" in printed
    pruned = graphnn.compile(read_graphml(model_file), dtype=torch.float64)
    prune.prune_to(pruned, 0.8)
    H = read_graphml(out)
    assert graphnn.summary(H).n_dead_units == 0
    assert H.number_of_nodes() < pruned.to_graph().number_of_nodes()
    x = torch.randn(5, 8, dtype=torch.float64)
    torch.testing.assert_close(graphnn.compile(H, dtype=torch.float64)(x), pruned(x))


def test_remove_dead_on_a_structure(structure, tmp_path):
    out = tmp_path / "small.graphml"
    argv = ["prune", str(structure), "--sparsity", "0.8", "--remove-dead", "--out", str(out)]
    assert main([*argv, "-q"]) == 0
    H = read_graphml(out)
    assert graphnn.summary(H).n_dead_units == 0
    assert graphnn.inputs(H) == graphnn.inputs(read_graphml(structure))


def test_default_out_is_beside_the_input(model_file):
    assert main(["prune", str(model_file), "--sparsity", "0.25", "-q"]) == 0
    assert (model_file.parent / "model-pruned.graphml.gz").exists()


def test_random_saliency_follows_the_seed(structure, tmp_path):
    def pruned(seed):
        out = tmp_path / f"s{seed}.graphml"
        argv = ["prune", str(structure), "--sparsity", "0.5", "--saliency", "random"]
        assert main([*argv, "--seed", str(seed), "--out", str(out), "-q"]) == 0
        return set(read_graphml(out).edges)

    assert pruned(0) == pruned(0) != pruned(1)


def _mixed(tmp_path):
    G = nx.DiGraph([("x", "h"), ("h", "y")])
    G.edges["x", "h"]["weight"] = 1.0
    write_graphml(G, tmp_path / "mixed.graphml")
    return tmp_path / "mixed.graphml"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sparsity", "1"], "--sparsity 1.0 must lie in [0, 1)"),
        (["--sparsity", "-0.1"], "--sparsity -0.1 must lie in [0, 1)"),
        (["--sparsity", "0.5", "--saliency", "snip"], "snip needs training data and a loss"),
        (["--sparsity", "0.5", "--saliency", "size"], "'size' is not a saliency; choose one"),
        (["--sparsity", "0.99"], "pass --no-protect to allow it"),
    ],
)
def test_bad_values_are_one_line_errors(structure, argv, message, capsys):
    assert main(["prune", str(structure), *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("graphnn prune: error:") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "none.graphml", "none.graphml"),
        (lambda tmp: tmp / "network.pt", "network.pt: graphnn prune reads models and structures"),
        (_mixed, "edge 'h' -> 'y' has no weight while 1 others have one"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, make, message, capsys):
    assert main(["prune", str(make(tmp_path)), "--sparsity", "0.5"]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_help_and_usage(capsys):
    with pytest.raises(SystemExit) as e:
        main(["prune", "--help"])
    assert e.value.code == 0
    assert "A model is a graph whose every edge has a weight" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["prune", "net.graphml"])  # --sparsity is required
    assert e.value.code == 2
