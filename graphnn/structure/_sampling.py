"""Vectorised sampling of random edges, shared by the generators and the edits."""

from __future__ import annotations

import numpy as np

__all__ = ["bernoulli_pairs"]


def bernoulli_pairs(
    rng: np.random.Generator,
    row_start: np.ndarray,
    rows: np.ndarray,
    col_start: np.ndarray,
    cols: np.ndarray,
    p: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw each pair of some blocks of pairs independently with probability ``p``.

    Block ``b`` holds the pairs ``(row_start[b] + r, col_start[b] + c)`` for
    ``r < rows[b]`` and ``c < cols[b]``.  Returns the drawn pairs as two int64
    arrays (rows, cols), in block order and row-major order inside a block.

    The number of pairs is drawn from the binomial distribution, then that
    many distinct pair indices, so time and memory are O(blocks + pairs drawn)
    whenever ``p`` is small (numpy draws small samples with Floyd's algorithm).
    """
    size = rows * cols
    end = np.cumsum(size)
    total = int(end[-1]) if len(end) else 0
    index = rng.choice(total, size=int(rng.binomial(total, p)), replace=False, shuffle=False)
    index.sort()
    block = np.searchsorted(end, index, side="right")
    r, c = np.divmod(index - (end[block] - size[block]), cols[block])
    return row_start[block] + r, col_start[block] + c
