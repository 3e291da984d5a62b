"""graphnn._random: the one seed contract (None, a non-negative int or a numpy Generator)."""

import random

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from graphnn import generators
from graphnn._random import as_rng, check_seed, nx_seed, torch_generator, torch_seeded

SEED_TYPE_ERROR = "seed must be None, a non-negative int or a numpy.random.Generator, got {}"

#: Every function that takes a seed, each checking it as check_seed does.
SEED_FUNCTIONS = [check_seed, as_rng, nx_seed, torch_generator]


# --- check_seed ------------------------------------------------------------------------------


@given(st.integers(0, 2**64))
def test_check_seed_passes_non_negative_ints(seed):
    assert check_seed(seed) == seed


def test_check_seed_passes_none_and_generators_as_they_are():
    rng = np.random.default_rng(0)
    assert check_seed(None) is None
    assert check_seed(rng) is rng


def test_check_seed_turns_numpy_ints_into_plain_ints():
    got = check_seed(np.int64(5))
    assert got == 5 and type(got) is int


@pytest.mark.parametrize("function", SEED_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("seed", [-1, -(2**70), np.int32(-3)], ids=repr)
def test_a_negative_seed_is_a_value_error(function, seed):
    with pytest.raises(ValueError) as info:
        function(seed)
    assert str(info.value) == f"seed must be a non-negative int, got {int(seed)}"


@pytest.mark.parametrize("function", SEED_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("seed", "kind"),
    [
        (True, "bool"),
        (False, "bool"),
        (1.0, "float"),
        ("0", "str"),
        (random.Random(0), "Random"),
        (np.random.RandomState(0), "RandomState"),
        (torch.tensor(3), "Tensor"),
    ],
    ids=repr,
)
def test_a_seed_of_another_type_is_a_type_error(function, seed, kind):
    with pytest.raises(TypeError) as info:
        function(seed)
    assert str(info.value) == SEED_TYPE_ERROR.format(kind)


# --- as_rng ----------------------------------------------------------------------------------


@given(st.integers(0, 2**63))
def test_as_rng_of_an_int_is_reproducible(seed):
    a, b = as_rng(seed), as_rng(seed)
    assert isinstance(a, np.random.Generator)
    assert a.integers(2**32, size=4).tolist() == b.integers(2**32, size=4).tolist()


def test_as_rng_of_an_int_is_numpys_default_rng():
    assert as_rng(7).random(3).tolist() == np.random.default_rng(7).random(3).tolist()


def test_as_rng_uses_a_generator_as_is_and_advances_it():
    rng = np.random.default_rng(0)
    assert as_rng(rng) is rng
    first = as_rng(rng).random()
    second = as_rng(rng).random()
    replay = np.random.default_rng(0)
    assert [first, second] == [replay.random(), replay.random()]
    assert first != second


def test_as_rng_of_none_draws_fresh_entropy():
    draws = {as_rng(None).integers(2**62) for _ in range(4)}
    assert len(draws) > 1


# --- nx_seed ---------------------------------------------------------------------------------


@given(st.integers(0, 2**64))
def test_nx_seed_passes_an_int_unchanged(seed):
    assert nx_seed(seed) == seed and type(nx_seed(seed)) is int


def test_nx_seed_of_none_is_none():
    assert nx_seed(None) is None


def test_nx_seed_of_a_generator_is_a_random_seeded_by_one_draw():
    rng = np.random.default_rng(3)
    got = nx_seed(rng)
    assert isinstance(got, random.Random)
    replay = np.random.default_rng(3)
    assert got.random() == random.Random(int(replay.integers(2**63))).random()
    # the generator was advanced by exactly that one draw
    assert rng.random() == replay.random()


def test_nx_seed_of_one_generator_twice_gives_different_streams():
    rng = np.random.default_rng(0)
    assert nx_seed(rng).random() != nx_seed(rng).random()


@given(n=st.integers(1, 30), p=st.floats(0, 1), seed=st.integers(0, 2**32))
def test_erdos_renyi_dag_of_an_int_seed_is_oriented_gnp_random_graph(n, p, seed):
    got = generators.erdos_renyi_dag(n, p, seed=seed)
    expected = generators.orient(nx.gnp_random_graph(n, p, seed=seed))
    assert list(got.nodes) == list(expected.nodes)
    assert list(got.edges) == list(expected.edges)


NX_BACKED = {
    "erdos_renyi_dag": lambda seed: generators.erdos_renyi_dag(40, 0.2, seed=seed),
    "watts_strogatz_dag": lambda seed: generators.watts_strogatz_dag(40, 4, 0.5, seed=seed),
    "barabasi_albert_dag": lambda seed: generators.barabasi_albert_dag(40, 3, seed=seed),
}


@pytest.mark.parametrize("make", NX_BACKED.values(), ids=NX_BACKED.keys())
def test_a_generator_seed_makes_the_networkx_backed_generators_reproducible(make):
    a, b = np.random.default_rng(11), np.random.default_rng(11)
    first, again = make(a), make(b)
    assert list(first.edges) == list(again.edges)
    # the same generator, used again, draws another graph; reproducibly so
    assert list(make(a).edges) == list(make(b).edges)
    assert list(make(a).edges) != list(first.edges)


# --- torch_generator -------------------------------------------------------------------------


def test_torch_generator_of_none_is_none():
    assert torch_generator(None) is None


@given(st.integers(0, 2**63 - 1))
def test_torch_generator_of_an_int_is_seeded_with_it(seed):
    g = torch_generator(seed)
    assert isinstance(g, torch.Generator)
    assert g.initial_seed() == seed
    assert g.device.type == "cpu"


def test_torch_generator_streams_are_reproducible():
    a = torch.rand(5, generator=torch_generator(4))
    b = torch.rand(5, generator=torch_generator(4))
    c = torch.rand(5, generator=torch_generator(5))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_torch_generator_takes_a_device():
    g = torch_generator(1, device=torch.device("cpu"))
    assert g.device == torch.device("cpu") and g.initial_seed() == 1


def test_torch_generator_of_a_generator_draws_one_seed_from_it():
    rng = np.random.default_rng(2)
    g = torch_generator(rng)
    replay = np.random.default_rng(2)
    assert g.initial_seed() == int(replay.integers(2**63))
    assert rng.random() == replay.random()  # advanced by that draw only


def test_torch_generator_of_one_generator_twice_gives_different_reproducible_streams():
    a, b = np.random.default_rng(0), np.random.default_rng(0)
    first = [torch.rand(3, generator=torch_generator(a)) for _ in range(2)]
    again = [torch.rand(3, generator=torch_generator(b)) for _ in range(2)]
    assert not torch.equal(first[0], first[1])
    assert all(torch.equal(x, y) for x, y in zip(first, again, strict=True))


def test_torch_generator_leaves_the_global_generator_alone():
    state = torch.random.get_rng_state()
    torch.rand(2, generator=torch_generator(0))
    assert torch.equal(torch.random.get_rng_state(), state)


# --- torch_seeded ----------------------------------------------------------------------------


def test_torch_seeded_restores_the_global_state():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    with torch_seeded(as_rng(0)):
        torch.rand(10)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_torch_seeded_leaves_the_stream_outside_the_blocks_as_if_they_had_not_run():
    torch.manual_seed(5)
    expected = torch.rand(4)
    torch.manual_seed(5)
    first = torch.rand(2)
    with torch_seeded(as_rng(1)):
        torch.randn(100)
    rest = torch.rand(2)
    assert torch.equal(torch.cat([first, rest]), expected)


def test_torch_seeded_blocks_are_reproducible_and_successive_blocks_differ():
    def draws(seed):
        rng = as_rng(seed)
        out = []
        for _ in range(3):
            with torch_seeded(rng):
                out.append(torch.rand(4))
        return out

    a, b = draws(0), draws(0)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], a[1]) and not torch.equal(a[1], a[2])
    assert not torch.equal(draws(1)[0], a[0])


def test_torch_seeded_does_not_depend_on_the_global_seed():
    torch.manual_seed(0)
    with torch_seeded(as_rng(9)):
        a = torch.rand(3)
    torch.manual_seed(1)
    with torch_seeded(as_rng(9)):
        b = torch.rand(3)
    assert torch.equal(a, b)


def test_torch_seeded_seeds_torch_with_one_draw_of_the_generator():
    rng, replay = as_rng(6), as_rng(6)
    with torch_seeded(rng):
        got = torch.rand(3)
    expected = torch.rand(3, generator=torch.Generator().manual_seed(int(replay.integers(2**63))))
    assert torch.equal(got, expected)
    assert rng.random() == replay.random()


def test_torch_seeded_restores_the_state_when_the_block_raises():
    torch.manual_seed(8)
    state = torch.random.get_rng_state()
    with pytest.raises(KeyError), torch_seeded(as_rng(0)):
        torch.rand(3)
        raise KeyError("boom")
    assert torch.equal(torch.random.get_rng_state(), state)


def test_torch_seeded_none_draws_from_the_global_generator_untouched():
    torch.manual_seed(21)
    expected = torch.rand(4)
    torch.manual_seed(21)
    with torch_seeded(None):
        a = torch.rand(2)
    b = torch.rand(2)
    assert torch.equal(torch.cat([a, b]), expected)  # the block advanced the global stream
