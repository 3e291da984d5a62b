import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn.nn import MaskedFFN
from graphnn.prune import magnitude, random, snip, sparsity
from graphnn.prune.schedules import Gradual, Iterative, OneShot, prune_to, rewind, snapshot


def ffn(seed=0, layout="dense"):
    torch.manual_seed(seed)
    return MaskedFFN(10, 3, [12, 9], layout=layout)


def connections(model):
    return sum(int(layer.entry_positions().numel()) for layer in model.masked_layers())


def live(model):
    return sum(layer.weight_count for layer in model.masked_layers())


def test_one_shot_is_the_target():
    assert list(OneShot(0.3)) == [0.3] and len(OneShot(0.3)) == 1


@given(st.floats(0.0, 0.99), st.integers(1, 12))
def test_iterative_prunes_the_same_fraction_of_the_rest_each_round(target, rounds):
    schedule = Iterative(target, rounds)
    targets = list(schedule)
    assert len(targets) == rounds and targets[-1] == target
    remaining = [1.0] + [1.0 - t for t in targets]
    for before, after in itertools.pairwise(remaining):
        assert after == pytest.approx(before * (1.0 - schedule.rate), abs=1e-12)


@given(
    st.floats(0.0, 0.99),
    st.integers(1, 20),
    st.integers(0, 50),
    st.integers(1, 10),
    st.floats(0.0, 1.0),
)
def test_gradual_follows_the_cubic(target, steps, start, frequency, fraction):
    initial = fraction * target
    schedule = Gradual(target, steps, initial=initial, start=start, frequency=frequency)
    targets = list(schedule)
    assert len(targets) == steps and targets[-1] == target
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(targets))
    assert schedule.at(start) == pytest.approx(initial)
    assert schedule.at(start - 1) == pytest.approx(initial)
    assert schedule.at(start + steps * frequency + 7) == target
    for t in schedule.pruning_steps():
        progress = (t - start) / (steps * frequency)
        expected = target + (initial - target) * (1 - progress) ** 3
        assert schedule.at(t) == pytest.approx(expected)


def test_gradual_prunes_fast_first():
    gains = [b - a for a, b in zip([0.0, *Gradual(0.9, 10)], Gradual(0.9, 10), strict=False)]
    assert gains == sorted(gains, reverse=True)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: OneShot(1.0), ValueError, r"\[0, 1\)"),
        (lambda: OneShot(-0.1), ValueError, r"\[0, 1\)"),
        (lambda: OneShot("0.5"), TypeError, "sparsity"),
        (lambda: OneShot(True), TypeError, "sparsity"),
        (lambda: Iterative(0.5, 0), ValueError, "rounds must be at least 1"),
        (lambda: Iterative(0.5, 2.0), TypeError, "rounds must be an int"),
        (lambda: Gradual(0.5, 0), ValueError, "steps must be at least 1"),
        (lambda: Gradual(0.5, 3, initial=0.6), ValueError, "must not exceed"),
        (lambda: Gradual(0.5, 3, start=-1), ValueError, "start must be at least 0"),
        (lambda: Gradual(0.5, 3, frequency=0), ValueError, "frequency must be at least 1"),
    ],
)
def test_schedule_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("layout", ["dense", "sparse", "block"])
@pytest.mark.parametrize("scope", ["global", "layer"])
@given(targets=st.lists(st.floats(0.0, 0.95), min_size=1, max_size=4))
@settings(max_examples=15, deadline=None)
def test_prune_to_reaches_the_nearest_count(layout, scope, targets):
    model = ffn(layout=layout)
    total = connections(model)
    masks = [layer.mask.clone() for layer in model.masked_layers()]
    for target in sorted(targets):
        prune_to(model, target, scope=scope, protect=False)
        assert live(model) == min(round((1 - target) * total), total)
        for layer, old in zip(model.masked_layers(), masks, strict=True):
            assert not torch.any(layer.mask & ~old)  # never revives
        masks = [layer.mask.clone() for layer in model.masked_layers()]


def test_prune_to_with_other_methods_and_below_current_sparsity():
    model = ffn()
    prune_to(model, 0.5, random, seed=3)
    assert sparsity(model) == pytest.approx(0.5, abs=1 / connections(model))
    before = [layer.mask.clone() for layer in model.masked_layers()]
    prune_to(model, 0.2)  # already sparser: nothing changes
    assert all(torch.equal(a.mask, b) for a, b in zip(model.masked_layers(), before, strict=True))
    x, y = torch.randn(16, 10), torch.randint(0, 3, (16,))
    prune_to(model, 0.7, snip, data=(x, y), loss=torch.nn.functional.cross_entropy)
    assert live(model) == round((1 - 0.7) * connections(model))


def test_prune_to_bad_input():
    model = ffn()
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        prune_to(model, 1.0)
    with pytest.raises(ValueError, match="scope must be one of"):
        prune_to(model, 0.5, scope="everywhere")
    with pytest.raises(TypeError, match="do not pass amount"):
        prune_to(model, 0.5, amount=3)

    def lazy(model, amount, **options):
        return model

    with pytest.raises(ValueError, match="method lazy pruned 0 connections"):
        prune_to(model, 0.5, lazy)
    with pytest.raises(ValueError, match="no masked layers"):
        prune_to(torch.nn.Linear(3, 2), 0.5)


def test_rewind_restores_surviving_weights_only():
    model = ffn()
    init = snapshot(model)
    with torch.no_grad():
        for layer in model.masked_layers():
            layer.weight.add_(torch.randn_like(layer.weight))
            layer.bias.add_(1.0)
    magnitude(model, 0.6, protect=False)
    trained = [layer.weight.detach().clone() for layer in model.masked_layers()]
    rewind(model, init)
    for layer, before, after in zip(model.masked_layers(), init["weights"], trained, strict=True):
        mask = layer.mask
        assert torch.equal(layer.weight[mask], before[mask])  # survivors reset to init
        assert torch.equal(layer.weight[~mask], after[~mask])  # pruned ones untouched
        assert not torch.any(layer.weight[mask] == after[mask]) or mask.sum() == 0
    for layer, bias in zip(model.masked_layers(), init["biases"], strict=True):
        assert torch.equal(layer.bias, bias)
    assert sparsity(model) == pytest.approx(0.6, abs=1 / connections(model))


def test_snapshot_is_a_copy():
    model = ffn()
    state = snapshot(model)
    with torch.no_grad():
        model.masked_layers()[0].weight.zero_()
    assert state["weights"][0].abs().sum() > 0


def test_rewind_to_a_later_step_and_bad_snapshots():
    model = ffn()
    rewind(model, snapshot(model))
    with pytest.raises(TypeError, match="snapshot"):
        rewind(model, {"weights": []})
    with pytest.raises(ValueError, match="masked layers"):
        rewind(model, snapshot(MaskedFFN(10, 3, [12])))
    with pytest.raises(ValueError, match="layer 0"):
        rewind(model, snapshot(MaskedFFN(11, 3, [12, 9])))
    assert math.isfinite(sparsity(model))
