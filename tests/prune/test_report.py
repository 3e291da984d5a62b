import importlib

import pytest
import torch

import graphnn
from graphnn.nn import MaskedFFN, MaskedLinear
from graphnn.prune import live_parameters, magnitude, random
from graphnn.prune.loop import PruningHistory, RoundRecord
from graphnn.prune.report import LayerReport, PruningReport, plot_history, report

report_module = importlib.import_module("graphnn.prune.report")  # graphnn.prune.report: a function


def ffn(seed=0):
    torch.manual_seed(seed)
    return MaskedFFN(6, 3, [10, 8])


def history(*accuracies, train=None):
    return PruningHistory(
        [
            RoundRecord(k, s, s, (1 - s,), 10, train=train or {}, test={"accuracy": a})
            for k, (s, a) in enumerate(zip([0.0, 0.5, 0.9], accuracies, strict=False))
        ]
    )


# --- report ---------------------------------------------------------------------------------


def test_report_table():
    model = ffn()
    random(model, 0.5, seed=0, protect=False)
    result = report(model)
    assert isinstance(result, PruningReport)
    assert [layer.total for layer in result.layers] == [60, 80, 24]
    assert sum(layer.live for layer in result.layers) == 82
    assert result.sparsity == pytest.approx(82 / 164)
    assert result.parameters == 164 + 21 and result.live_parameters == 82 + 21
    lines = str(result).splitlines()
    assert lines[0].split() == ["layer", "shape", "layout", "live", "total", "density"]
    assert lines[1].split()[:5] == ["0", "10", "x", "6", "dense"]
    assert lines[-1].startswith("total sparsity 0.5000")


def test_report_prints_the_exact_table():
    model = magnitude(MaskedFFN(6, 3, [5, 4], density=0.6, seed=2), 0.5, scope="layer")
    assert str(report(model)) == (
        "layer  shape  layout  live  total  density\n"
        "    0  5 x 6  dense      9     17   0.5294\n"
        "    1  4 x 5  dense      6     12   0.5000\n"
        "    2  3 x 4  dense      5     11   0.4545\n"
        "total sparsity 0.5000, live parameters 32 of 52"
    )


def test_report_aligns_layouts_left_and_numbers_right():
    sparse = MaskedLinear(11, 12, layout="sparse", mask=torch.eye(12, 11, dtype=torch.bool))
    dense = MaskedLinear(12, 2, bias=False)
    dense.mask = torch.tensor([[True] * 12, [False] * 12])  # half of it pruned
    assert str(report(torch.nn.Sequential(sparse, dense))) == (
        "layer    shape  layout  live  total  density\n"
        "    0  12 x 11  sparse    11     11   1.0000\n"
        "    1   2 x 12  dense     12     24   0.5000\n"
        "total sparsity 0.3429, live parameters 35 of 47"
    )


def test_report_of_a_sparse_compiled_dag():
    G = graphnn.generators.layered([5, 7, 3], density=0.5, seed=2)
    model = graphnn.compile(G)
    result = report(model)
    assert sum(layer.total for layer in result.layers) == G.number_of_edges()
    assert result.sparsity == 0.0
    with pytest.raises(ValueError, match="no masked layers"):
        report(torch.nn.Linear(2, 2))


@pytest.mark.parametrize("layout", ["dense", "sparse", "block"])
def test_report_counts_what_pruning_left(layout):
    G = graphnn.generators.layered([4, 6, 3], density=0.7, seed=1)
    model = magnitude(graphnn.compile(G, layout=layout, seed=0), 0.4)
    result = report(model)
    layers = model.masked_layers()
    live = sum(layer.weight_count for layer in layers)
    biases = sum(layer.bias.numel() for layer in layers)
    assert [layer.live for layer in result.layers] == [layer.weight_count for layer in layers]
    assert sum(layer.total for layer in result.layers) == G.number_of_edges()
    assert live == model.to_graph().number_of_edges()
    assert result.live_parameters == live_parameters(model) == live + biases
    assert result.parameters == G.number_of_edges() + biases
    assert result.sparsity == pytest.approx(graphnn.prune.sparsity(model))
    assert all(layer.layout == layout for layer in result.layers)


def test_layer_density():
    assert LayerReport(0, 2, 3, "dense", 3, 6).density == 0.5
    assert LayerReport(0, 0, 3, "dense", 0, 0).density == 0.0  # no connections at all


def test_an_empty_report_prints_its_header_and_totals():
    assert str(PruningReport((), 0.0, 0, 0)) == (
        "layer  shape  layout  live  total  density\ntotal sparsity 0.0000, live parameters 0 of 0"
    )


# --- plot_history ---------------------------------------------------------------------------


@pytest.fixture
def figures(monkeypatch):
    """The figures plot_history draws, kept to look at after it saved them."""
    drawn, make = [], report_module.agg_figure

    def keep(*args):
        figure = make(*args)
        drawn.append(figure)
        return figure

    monkeypatch.setattr(report_module, "agg_figure", keep)
    return drawn


def test_plot_history(tmp_path):
    path = plot_history({"a": history(0.9, 0.9), "b": history(0.9, 0.8, 0.7)}, tmp_path / "p.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plot_history(history(0.9), tmp_path / "p.svg", title="t")
    assert svg.read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError, match="no round has the metric 'test_loss'"):
        plot_history(history(0.9), tmp_path / "q.png", metric="loss")
    with pytest.raises(ValueError, match="split must be"):
        plot_history(history(0.9), tmp_path / "q.png", split="valid")


def test_plot_history_draws_each_run_in_percent(tmp_path, figures):
    runs = {"magnitude": history(0.9, 0.8, 0.7), "random": history(0.9, 0.5)}
    path = plot_history(runs, str(tmp_path / "runs.pdf"), title="pruning")
    assert path == tmp_path / "runs.pdf" and path.read_bytes()[:5] == b"%PDF-"
    (axes,) = figures[0].axes
    lines = {line.get_label(): line for line in axes.get_lines()}
    assert set(lines) == {"magnitude", "random"}
    assert lines["magnitude"].get_xdata().tolist() == [0.0, 50.0, 90.0]
    assert lines["magnitude"].get_ydata().tolist() == [0.9, 0.8, 0.7]
    assert lines["random"].get_xdata().tolist() == [0.0, 50.0]
    assert axes.get_xlabel() == "sparsity (% of connections pruned)"
    assert axes.get_ylabel() == "test accuracy" and axes.get_title() == "pruning"
    assert axes.get_legend() is not None


def test_plot_history_of_a_training_metric_skips_rounds_without_it(tmp_path, figures):
    run = PruningHistory(
        [
            RoundRecord(0, 0.0, 0.0, (1.0,), 10, train={"loss": 2.0}),
            RoundRecord(1, 0.5, 0.5, (0.5,), 5),  # not trained: no loss
            RoundRecord(2, 0.8, 0.8, (0.2,), 2, train={"loss": 1.0}),
        ]
    )
    plot_history(run, tmp_path / "loss.png", "loss", split="train")
    (axes,) = figures[0].axes
    (line,) = axes.get_lines()
    assert line.get_xdata().tolist() == [0.0, 80.0] and line.get_ydata().tolist() == [2.0, 1.0]
    assert axes.get_ylabel() == "train loss" and axes.get_legend() is None  # one unnamed run


def test_plot_history_leaves_pyplot_alone(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    before = plt.get_fignums()
    plot_history(history(0.9, 0.8), tmp_path / "p.png")
    assert plt.get_fignums() == before


def test_plot_history_names_the_metrics_there_are(tmp_path):
    runs = {"a": history(0.9, train={"loss": 1.0}), "b": history(0.8)}
    with pytest.raises(ValueError, match=r"the histories have \['test_accuracy', 'train_loss'\]"):
        plot_history(runs, tmp_path / "p.png", "f1")
    with pytest.raises(ValueError, match="the histories have no metrics"):
        plot_history(PruningHistory([RoundRecord(0, 0.0, 0.0, (1.0,), 3)]), tmp_path / "p.png")
    assert not (tmp_path / "p.png").exists()


def test_plot_history_without_matplotlib(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install graphnn\[examples\]"):
        plot_history(history(0.9), tmp_path / "p.png")
