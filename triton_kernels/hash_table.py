"""An open-addressing hash table from int64 keys to row indices, built and probed on the device.

Building a sparse convolution's kernel map means finding, for every output
site and kernel offset, the input row at a given (linearised) coordinate.
:func:`hash_build` puts the ``N`` input keys into a table of ``capacity``
slots (a power of two, at least ``2 N``, so at most half full); one lane per
key hashes it (the splitmix64 finaliser, in uint64 arithmetic) and probes
linearly from there, claiming the first empty slot (``-1``) with
``tl.atomic_cas``; the winner writes its row index next to the key.  A lane
whose CAS finds its own key already there has met a duplicate: the build then
raises ``ValueError`` naming it (keys must be distinct).
:func:`hash_lookup` probes the same way until it meets the key (its row) or
an empty slot (``-1``).  Negative queries find nothing (``-1``), so callers
may encode "outside the grid" as a negative key.

Both kernels work in Triton's interpreter too (its ``atomic_cas`` is a real
element-wise compare-and-swap), so the tests run the build on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import triton
import triton.language as tl

from triton_kernels._launch import check_index, check_same_device, interpreting

__all__ = ["HashTable", "hash_build", "hash_lookup"]

_BLOCK = 128
_INTERPRETER_BLOCK = 32


@dataclass(frozen=True, eq=False)
class HashTable:
    """The table :func:`hash_build` returns.

    Attributes
    ----------
    keys : torch.Tensor
        int64 ``[capacity]``: the key in each slot, ``-1`` for empty slots.
    values : torch.Tensor
        int32 ``[capacity]``: the row index of the key in each slot (``-1``
        for empty slots).
    size : int
        Number of keys stored.
    """

    keys: torch.Tensor
    values: torch.Tensor
    size: int

    @property
    def capacity(self) -> int:
        """Number of slots: a power of two, at least twice :attr:`size`."""
        return self.keys.numel()


@triton.jit
def _mix(key):
    """Splitmix64's finaliser: a well-spread uint64 hash of an int64 key."""
    z = key.to(tl.uint64, bitcast=True)
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    return z ^ (z >> 31)


@triton.jit
def _hash_build_kernel(
    # pointers
    key_ptr,
    table_key_ptr,
    table_value_ptr,
    duplicate_ptr,
    # sizes
    n,
    capacity,
    # meta-parameters
    BLOCK: tl.constexpr,
):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    done = offs >= n
    key = tl.load(key_ptr + offs, mask=~done, other=0)
    last = (capacity - 1).to(tl.uint64)
    slot = (_mix(key) & last).to(tl.int64)
    while tl.max((~done).to(tl.int32), axis=0) > 0:
        # finished lanes compare against -2, which no slot holds: their CAS changes nothing
        expected = tl.where(done, -2, -1).to(tl.int64)
        found = tl.atomic_cas(table_key_ptr + slot, expected, key)
        won = ~done & (found == -1)
        duplicate = ~done & (found == key)
        tl.store(table_value_ptr + slot, offs.to(tl.int32), mask=won)
        tl.atomic_max(duplicate_ptr + tl.zeros_like(slot), key, mask=duplicate)
        done = done | won | duplicate
        slot = tl.where(done, slot, (slot + 1) & (capacity - 1))


@triton.jit
def _hash_lookup_kernel(
    # pointers
    query_ptr,
    table_key_ptr,
    table_value_ptr,
    out_ptr,
    # sizes
    m,
    capacity,
    # meta-parameters
    BLOCK: tl.constexpr,
):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    in_range = offs < m
    query = tl.load(query_ptr + offs, mask=in_range, other=-1)
    done = ~in_range | (query < 0)
    last = (capacity - 1).to(tl.uint64)
    slot = (_mix(query) & last).to(tl.int64)
    row = tl.full((BLOCK,), -1, dtype=tl.int32)
    while tl.max((~done).to(tl.int32), axis=0) > 0:
        stored = tl.load(table_key_ptr + slot, mask=~done, other=-1)
        hit = ~done & (stored == query)
        row = tl.where(hit, tl.load(table_value_ptr + slot, mask=hit, other=-1), row)
        done = done | hit | (stored == -1)
        slot = tl.where(done, slot, (slot + 1) & (capacity - 1))
    tl.store(out_ptr + offs, row, mask=in_range)


def _block() -> int:
    return _INTERPRETER_BLOCK if interpreting() else _BLOCK


def _check_keys(name: str, keys: torch.Tensor) -> torch.Tensor:
    keys = check_index(name, keys)
    if keys.dtype != torch.int64:
        raise TypeError(f"{name} must be an int64 tensor, got {keys.dtype}")
    return keys


def hash_build(
    keys: torch.Tensor, *, capacity: int | None = None, validate: bool = True
) -> HashTable:
    """Return a hash table mapping ``keys[i]`` to ``i``.

    Parameters
    ----------
    keys : torch.Tensor
        int64 ``[N]``, distinct and non-negative.
    capacity : int, optional
        Number of slots, a power of two of at least ``2 N``; default the
        smallest such (at least 2).
    validate : bool, default True
        Check that the keys are non-negative first (it waits for the device).
        Duplicates are always detected, by the build itself.

    Returns
    -------
    HashTable
        On the keys' device.

    Raises
    ------
    TypeError, ValueError
        If ``keys`` is not a 1-D int64 tensor, ``capacity`` does not fit, a
        key is negative (with ``validate``) or appears twice (the largest
        such key is named).
    """
    keys = _check_keys("keys", keys)
    n = keys.numel()
    smallest = max(2, 1 << (2 * n - 1).bit_length())
    if capacity is None:
        capacity = smallest
    elif capacity < 2 * n or capacity < 2 or capacity & (capacity - 1):
        raise ValueError(
            f"capacity must be a power of two of at least 2 * {n} keys (e.g. {smallest}), "
            f"got {capacity}"
        )
    if validate and n and int(keys.min()) < 0:
        first = int((keys < 0).nonzero()[0])
        raise ValueError(f"keys must be non-negative, got keys[{first}] = {int(keys[first])}")
    table = HashTable(
        keys=torch.full((capacity,), -1, dtype=torch.int64, device=keys.device),
        values=torch.full((capacity,), -1, dtype=torch.int32, device=keys.device),
        size=n,
    )
    if n == 0:
        return table
    duplicate = torch.full((1,), -1, dtype=torch.int64, device=keys.device)
    block = _block()
    _hash_build_kernel[(triton.cdiv(n, block),)](
        keys, table.keys, table.values, duplicate, n, capacity, BLOCK=block
    )
    if int(duplicate) >= 0:
        raise ValueError(f"keys must be distinct, but {int(duplicate)} appears more than once")
    return table


def hash_lookup(table: HashTable, queries: torch.Tensor) -> torch.Tensor:
    """Return the row index of each query in ``table``, or -1 where it is absent.

    Parameters
    ----------
    table : HashTable
        From :func:`hash_build`.
    queries : torch.Tensor
        int64 ``[M]``, any values (negative ones are never found).

    Returns
    -------
    torch.Tensor
        int32 ``[M]``.

    Raises
    ------
    TypeError, ValueError
        If ``queries`` is not a 1-D int64 tensor or lies on another device.
    """
    queries = _check_keys("queries", queries)
    check_same_device(table=table.keys, queries=queries)
    m = queries.numel()
    out = torch.empty(m, dtype=torch.int32, device=queries.device)
    if m == 0:
        return out
    block = _block()
    _hash_lookup_kernel[(triton.cdiv(m, block),)](
        queries, table.keys, table.values, out, m, table.capacity, BLOCK=block
    )
    return out
