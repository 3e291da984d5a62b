"""How ``layout="auto"`` chooses between the dense and the sparse layout of a masked weight.

The thresholds come from ``python -m benchmarks.bench_layout`` (forward plus
backward of one masked layer, batch 256, float32, on the project's 2-core CPU
machine; see ``benchmarks/README.md``), over two runs: the sparse layout was
faster than the dense one at density 0.2 for 4096x4096 (1.2x, 1.5x) but not
reliably for 1024x1024 (1.1x, 0.8x), at density <= 0.1 from 300x784 on
(1.0x to 3.0x), at 0.01 from 100k entries (1.16x at 200x500), and never
below 100k entries (0.56x to 0.83x).
"""

from __future__ import annotations

__all__ = ["LAYOUTS", "SPARSE_THRESHOLDS", "check_layout", "choose_layout"]

#: The layouts a masked weight can have.  ``auto`` chooses between the first two only: when
#: the block layout pays off depends on the GPU and has not been measured yet.
LAYOUTS = ("dense", "sparse", "block")
#: ``(least size, greatest density)``: a weight of at least that many entries
#: (``out * in``) is sparse when its density is at most that; first match wins.
SPARSE_THRESHOLDS = ((4_000_000, 0.2), (200_000, 0.1), (100_000, 0.01))


def check_layout(layout: str, *, allow_auto: bool = True) -> str:
    """Return ``layout`` if it is accepted, else raise ``ValueError`` naming the choices."""
    accepted = (*LAYOUTS, "auto") if allow_auto else LAYOUTS
    if layout not in accepted:
        raise ValueError(f"layout must be one of {', '.join(accepted)}; got {layout!r}")
    return layout


def choose_layout(out_features: int, in_features: int, nnz: int) -> str:
    """Return ``"sparse"`` or ``"dense"`` for a weight of this shape with ``nnz`` entries.

    Examples
    --------
    >>> choose_layout(4096, 4096, 167_000), choose_layout(300, 784, 47_000)
    ('sparse', 'dense')
    >>> choose_layout(100, 300, 30)  # too small to gain from sparsity
    'dense'
    """
    size = out_features * in_features
    for least_size, greatest_density in SPARSE_THRESHOLDS:
        if size >= least_size:
            return "sparse" if nnz <= greatest_density * size else "dense"
    return "dense"
