"""The device hash table against a Python dict, in Triton's interpreter (compiled on a GPU)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import require_peer

require_peer("triton")  # declared on Linux x86_64; elsewhere these tests skip
from triton_kernels.hash_table import HashTable, hash_build, hash_lookup  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
MASK64 = (1 << 64) - 1


def splitmix64(key: int) -> int:
    """The reference hash: splitmix64's finaliser on the key's 64 bits."""
    z = key & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def check_table(table: HashTable, keys: list[int]) -> int:
    """Check every invariant of a built table against the keys; return how many keys collided.

    Each key sits in exactly one slot with its row index as value, and the run of slots from
    its home slot (its hash modulo the capacity) to its own slot holds no empty slot, so a
    linear probe finds it.
    """
    capacity = table.capacity
    assert capacity >= max(2, 2 * len(keys)) and capacity & (capacity - 1) == 0
    assert table.size == len(keys)
    stored, values = table.keys.cpu().tolist(), table.values.cpu().tolist()
    assert sorted(s for s in stored if s != -1) == sorted(keys)
    displaced = 0
    for slot, (key, row) in enumerate(zip(stored, values, strict=True)):
        if key == -1:
            assert row == -1
            continue
        assert keys[row] == key
        home = splitmix64(key) & (capacity - 1)
        run = [(home + step) % capacity for step in range((slot - home) % capacity + 1)]
        assert all(stored[s] != -1 for s in run)
        displaced += slot != home
    return displaced


def one() -> HashTable:
    return hash_build(torch.tensor([1], device=DEVICE))


def lookup_reference(keys: list[int], queries: list[int]) -> list[int]:
    rows = {key: row for row, key in enumerate(keys)}
    return [rows.get(q, -1) for q in queries]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(0, 2**63 - 1), unique=True, max_size=150),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=40),
)
def test_build_and_lookup_match_a_dict(keys, missing):
    table = hash_build(torch.tensor(keys, dtype=torch.int64, device=DEVICE))
    check_table(table, keys)
    queries = keys[::-1] + missing + [-1, -5]
    got = hash_lookup(table, torch.tensor(queries, dtype=torch.int64, device=DEVICE))
    assert got.dtype == torch.int32
    assert got.cpu().tolist() == lookup_reference(keys, queries)


def test_many_keys_collide_and_are_all_found():
    """2000 linearised voxel coordinates of a dense block: many probes run past their home."""
    side = torch.arange(13)
    grid = torch.cartesian_prod(side, side, side)[:2000]
    keys = (grid[:, 0] * 2**40 + grid[:, 1] * 2**20 + grid[:, 2]).tolist()
    table = hash_build(torch.tensor(keys, device=DEVICE), capacity=4096)
    assert check_table(table, keys) > 100  # collisions happened and were resolved
    queries = torch.tensor(keys + [k + 2**19 for k in keys[:100]], device=DEVICE)
    assert hash_lookup(table, queries).cpu().tolist() == lookup_reference(keys, queries.tolist())


def test_large_keys_and_extremes():
    keys = [2**62 - 1, 2**62, 2**62 + 1, 2**63 - 1, 0, 1]
    table = hash_build(torch.tensor(keys, device=DEVICE))
    check_table(table, keys)
    queries = [*keys, 2**62 + 2, 2**63 - 2, -(2**63), -1]
    got = hash_lookup(table, torch.tensor(queries, device=DEVICE))
    assert got.cpu().tolist() == [0, 1, 2, 3, 4, 5, -1, -1, -1, -1]


def test_empty_table_and_empty_queries():
    table = hash_build(torch.zeros(0, dtype=torch.int64, device=DEVICE))
    assert table.capacity == 2 and table.size == 0
    queries = torch.tensor([0, 3], device=DEVICE)
    assert hash_lookup(table, queries).cpu().tolist() == [-1, -1]
    assert hash_lookup(table, queries[:0]).shape == (0,)
    single = hash_build(torch.tensor([7], device=DEVICE))
    assert single.capacity == 2
    assert hash_lookup(single, torch.tensor([7, 8], device=DEVICE)).cpu().tolist() == [0, -1]


def test_full_load_factor_one_half():
    keys = list(range(0, 64 * 97, 97))
    table = hash_build(torch.tensor(keys, device=DEVICE), capacity=128)
    check_table(table, keys)
    queries = torch.tensor([*keys, 1, 2, 3], device=DEVICE)
    assert hash_lookup(table, queries).cpu().tolist() == [*range(64), -1, -1, -1]


@pytest.mark.parametrize(
    ("keys", "named"), [([3, 5, 3], 3), ([9, 9], 9), ([7, 2, 7, 2], 7), ([1, 2, 3, 4] * 10, 4)]
)
def test_duplicate_keys_are_named(keys, named):
    with pytest.raises(ValueError, match=f"keys must be distinct, but {named} appears"):
        hash_build(torch.tensor(keys, device=DEVICE))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: hash_build(torch.tensor([1, 2], dtype=torch.int32)),
            TypeError,
            "keys must be an int64",
        ),
        (lambda: hash_build(torch.tensor([1.0])), TypeError, "keys must be an int32 or int64"),
        (lambda: hash_build(torch.tensor([[1]])), ValueError, "keys must be 1-D"),
        (
            lambda: hash_build(torch.tensor([4, -3])),
            ValueError,
            r"keys must be non-negative, got keys\[1\] = -3",
        ),
        (
            lambda: hash_build(torch.tensor([1, 2, 3]), capacity=4),
            ValueError,
            r"capacity must be a power of two of at least 2 \* 3 keys \(e.g. 8\), got 4",
        ),
        (
            lambda: hash_build(torch.tensor([1, 2]), capacity=12),
            ValueError,
            "capacity must be a power of two",
        ),
        (
            lambda: hash_lookup(one(), torch.tensor([1], dtype=torch.int32, device=DEVICE)),
            TypeError,
            "queries must be an int64",
        ),
        (
            lambda: hash_lookup(one(), torch.tensor([1], device="meta")),
            ValueError,
            "all tensors must be on one device",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
