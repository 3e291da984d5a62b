"""The slow references of the kernel-map tests: a dictionary look-up per site and offset."""

import torch
from hypothesis import settings

from graphnn.sparse3d.kernel_map import KernelMap, kernel_offsets


def maps(**kwargs):
    """The hypothesis settings of the kernel-map tests: 40 examples, no deadline."""
    return settings(max_examples=40, deadline=None, **kwargs)


def reference_neighbors(x, out_coords, k, s, p, d, transposed=False) -> torch.Tensor:
    """The obvious table: a dict of the input sites, one look-up per output site and offset."""
    rows = {tuple(c): i for i, c in enumerate(x.coords.tolist())}
    table = torch.full((len(out_coords), len(kernel_offsets(k))), -1, dtype=torch.int32)
    for o, (b, *q) in enumerate(out_coords.tolist()):
        for j, off in enumerate(kernel_offsets(k).tolist()):
            if transposed:  # input i reaches q = i * s - p + off * d
                num = [qa + pa - oa * da for qa, pa, oa, da in zip(q, p, off, d, strict=True)]
                if any(n % sa for n, sa in zip(num, s, strict=True)):
                    continue
                site = (b, *(n // sa for n, sa in zip(num, s, strict=True)))
            else:
                site = (
                    b,
                    *(
                        qa * sa - pa + oa * da
                        for qa, sa, pa, oa, da in zip(q, s, p, off, d, strict=True)
                    ),
                )
            table[o, j] = rows.get(site, -1)
    return table


def assert_pairs_consistent(m: KernelMap) -> None:
    for k in range(m.kernel_volume):
        in_rows, out_rows = m.pairs(k)
        assert in_rows.dtype == out_rows.dtype == torch.int64
        assert bool((out_rows[1:] > out_rows[:-1]).all())
        expected = torch.nonzero(m.neighbors[:, k] >= 0).flatten()
        assert torch.equal(out_rows, expected)
        assert torch.equal(in_rows, m.neighbors[expected, k].long())
    reverse = m.reverse()
    assert reverse.shape == (m.n_in, m.kernel_volume) and reverse.dtype == torch.int32
    o, k = torch.nonzero(m.neighbors >= 0, as_tuple=True)
    assert torch.equal(reverse[m.neighbors[o, k].long(), k], o.int())
    assert int((reverse >= 0).sum()) == m.num_pairs == len(o)
