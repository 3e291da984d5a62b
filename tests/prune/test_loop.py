import itertools
from functools import partial

import pytest
import torch
from torch.nn import functional as F

import graphnn
from graphnn._table import RecordLog
from graphnn.nn import MaskedFFN
from graphnn.prune import random, sparsity
from graphnn.prune.loop import Pruner, PruningHistory, RoundRecord
from graphnn.prune.report import report
from graphnn.prune.schedules import Gradual, Iterative, OneShot, snapshot

torch.manual_seed(0)
X, Y = torch.randn(64, 6), torch.randint(0, 3, (64,))
SGD = partial(torch.optim.SGD, lr=0.1)


def ffn(seed=0):
    torch.manual_seed(seed)
    return MaskedFFN(6, 3, [10, 8])


def train(model, optimizer, steps=3):
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X), Y)
        loss.backward()
        optimizer.step()
    return {"loss": loss.item()}


@torch.no_grad()
def evaluate(model):
    return {"accuracy": (model(X).argmax(1) == Y).float().mean().item()}


def test_pruner_records_every_round():
    model = ffn()
    schedule = Iterative(0.8, 3)
    history = Pruner(model, SGD, train, evaluate, schedule=schedule, progress=False).run()
    assert [r.round for r in history] == [0, 1, 2, 3]
    assert [r.target for r in history] == [0.0, *schedule]
    total = sum(int(layer.entry_positions().numel()) for layer in model.masked_layers())
    for record in history:
        assert record.sparsity == pytest.approx(record.target, abs=1 / total)
        assert set(record.train) == {"loss"} and set(record.test) == {"accuracy"}
        assert len(record.densities) == 3
    assert history[-1].sparsity == sparsity(model)
    assert history[-1].densities == tuple(model.densities())
    assert history[-1].live_parameters == report(model).live_parameters
    live = [r.live_parameters for r in history]
    assert live == sorted(live, reverse=True) and live[0] == 6 * 10 + 10 * 8 + 8 * 3 + 10 + 8 + 3


def test_pruned_weights_stay_pruned_through_retraining():
    model = ffn()
    masks = []

    def train_and_watch(model, optimizer):
        result = train(model, optimizer)
        masks.append([layer.mask.clone() for layer in model.masked_layers()])
        for layer in model.masked_layers():  # the effective weight is zero where masked
            assert torch.all(layer.dense_weight()[~layer.mask] == 0)
        return result

    history = Pruner(model, SGD, train_and_watch, schedule=[0.5, 0.5, 0.7], progress=False).run()
    assert history[2].sparsity == history[1].sparsity
    for before, after in itertools.pairwise(masks):
        assert all(not torch.any(b & ~a) for a, b in zip(before, after, strict=True))


def test_rewind_to_init_resets_survivors_each_round():
    model = ffn()
    init = snapshot(model)
    calls = []

    def record_then_train(model, optimizer):
        calls.append([layer.weight.detach().clone() for layer in model.masked_layers()])
        return train(model, optimizer)

    Pruner(
        model, SGD, record_then_train, schedule=OneShot(0.5), rewind="init", progress=False
    ).run()
    assert len(calls) == 2  # the dense training and one round
    layers = model.masked_layers()
    for layer, before, at_round in zip(layers, init["weights"], calls[1], strict=True):
        assert torch.equal(at_round[layer.mask], before[layer.mask])


def test_rewind_to_a_snapshot_of_step_k():
    model = ffn()
    train(model, SGD(model.parameters()))
    early = snapshot(model)
    seen = []

    def check(model, optimizer):
        seen.append([layer.weight.detach().clone() for layer in model.masked_layers()])
        return None

    Pruner(model, SGD, check, schedule=[0.3], rewind=early, pretrain=False, progress=False).run()
    for layer, before, now in zip(model.masked_layers(), early["weights"], seen[0], strict=True):
        assert torch.equal(now[layer.mask], before[layer.mask])


def test_export_writes_the_structure_of_every_round(tmp_path):
    model = ffn()
    Pruner(
        model,
        SGD,
        train,
        method=random,
        schedule=Gradual(0.6, 2),
        export=tmp_path / "rounds",
        seed=1,
        progress=False,
    ).run()
    files = sorted((tmp_path / "rounds").glob("*.graphml"))
    assert [f.name for f in files] == ["round-00.graphml", "round-01.graphml", "round-02.graphml"]
    last = graphnn.read_graphml(files[-1])
    graphnn.assert_graphs_equal(last, model.to_graph())
    edges = [graphnn.read_graphml(f).number_of_edges() for f in files]
    assert edges == sorted(edges, reverse=True) and edges[0] > edges[-1]
    summary = graphnn.summary(last)
    assert summary.as_dict()["n_edges"] == edges[-1]


def test_history_table_and_dicts():
    history = Pruner(ffn(), SGD, train, evaluate, schedule=[0.5], progress=False).run()
    text = str(history)
    assert text.splitlines()[0].split() == [
        "round",
        "sparsity",
        "live",
        "params",
        "train_loss",
        "test_accuracy",
    ]
    assert len(text.splitlines()) == 3
    rows = history.as_dicts()
    assert rows[1]["round"] == 1 and "test_accuracy" in rows[1] and "train" not in rows[1]
    assert history.metric_names() == ["train_loss", "test_accuracy"]


def test_progress_bar_goes_to_stderr(capsys):
    Pruner(ffn(), SGD, train, schedule=[0.2, 0.4], progress=True).run()
    err = capsys.readouterr().err
    assert "pruning" in err and "2/2" in err


def test_pruner_bad_input():
    model = ffn()
    with pytest.raises(TypeError, match="optimizer_factory must be callable"):
        Pruner(model, None, train)
    with pytest.raises(TypeError, match="train must be callable"):
        Pruner(model, SGD, "train")
    with pytest.raises(TypeError, match="evaluate must be callable"):
        Pruner(model, SGD, train, 3)
    with pytest.raises(ValueError, match="no rounds"):
        Pruner(model, SGD, train, schedule=[])
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Pruner(model, SGD, train, schedule=[0.5, 1.5])
    with pytest.raises(TypeError, match="schedule must be"):
        Pruner(model, SGD, train, schedule="0.5")
    with pytest.raises(ValueError, match="rewind must be"):
        Pruner(model, SGD, train, rewind="start")
    with pytest.raises(ValueError, match="masked layers"):
        Pruner(model, SGD, train, rewind=snapshot(MaskedFFN(6, 3, [10])))
    with pytest.raises(TypeError, match="train must return a dict"):
        Pruner(model, SGD, lambda m, o: 0.5, schedule=[0.1], progress=False).run()


def test_history_prints_one_column_per_metric_in_order_of_appearance():
    first = RoundRecord(0, 0.0, 0.0, (1.0,), 10, train={"loss": 1.2345678}, test={"accuracy": 0.9})
    second = RoundRecord(
        1, 0.5, 0.5123, (0.5,), 123456, train={"loss": 3}, test={"accuracy": None, "f1": 0.5}
    )
    history = PruningHistory([first, second])
    assert str(history) == (
        "round  sparsity  live params  train_loss  test_accuracy  test_f1\n"
        "    0    0.0000           10      1.2346         0.9000        -\n"
        "    1    0.5123       123456           3              -   0.5000"
    )
    assert [c.header for c in history.columns()] == [
        "round",
        "sparsity",
        "live params",
        "train_loss",
        "test_accuracy",
        "test_f1",
    ]


def test_history_is_a_record_log():
    records = [RoundRecord(k, 0.1 * k, 0.1 * k, (1.0,), 10 - k) for k in range(3)]
    history = PruningHistory(records)
    assert isinstance(history, RecordLog)
    assert len(history) == 3 and history[1] is records[1] and list(history) == records
    assert history.as_dicts() == [r.as_dict() for r in records]
    assert history.metric_names() == []
    assert history == PruningHistory(list(records))
    assert str(PruningHistory()) == "round  sparsity  live params"
