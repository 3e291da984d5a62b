r"""graphnn's native CPU kernel of the sparse convolution product (``gather_conv.c``).

:func:`gather_conv` computes, for a neighbour table ``table`` (``int32
[n_out, K]``, ``-1`` where no neighbour exists),

.. math:: \mathrm{out}[o] = \sum_{k:\ \mathrm{table}[o, k] \ge 0}
   x[\mathrm{table}[o, k]]\, W[k]

in one pass over the output rows: each input row is read straight from ``x``
and multiplied into the output row's sums, which stay in registers (no
gathered copy, no product buffer), two output rows at a time so that an offset
both rows have loads its weights once.  The output rows are split over
``threads`` threads, each row summed whole by one thread in an order fixed by
the shapes, so the result is bitwise the same at any thread count.  See the
notes at the top of ``gather_conv.c``.

The kernel is C, compiled at first use by :mod:`graphnn._native`.
:func:`gather_conv_weight_grad` is its weight gradient.
:func:`graphnn.sparse3d.ops.conv.sparse_conv` runs both on the CPU (forward,
input gradient, weight gradient) when they build, and the torch path otherwise;
the torch path is their reference in the tests.  On voxelized surfaces (100k
sites, one thread) the forward product ran about 2x faster than the torch path
for a strided ``k=2, s=2`` layer and 1.1x to 1.4x for a 3x3x3 submanifold one,
a training step of the layer 1.9x to 2.1x and 2.8x to 3.1x (``benchmarks/README.md``).
"""

from __future__ import annotations

import ctypes
from functools import cache

import torch

from graphnn import _native
from graphnn.exceptions import NativeBuildError

__all__ = ["DTYPES", "KERNEL", "available", "build_error", "gather_conv", "gather_conv_weight_grad"]

#: What the kernel computes, as :func:`graphnn.backends.use_native`'s messages name it.
KERNEL = "sparse-convolution kernel"

#: The dtypes the kernel computes in (others are converted by the caller).
DTYPES = (torch.float32, torch.float64)

_SOURCE = ("graphnn.sparse3d.ops", "gather_conv.c", ("gather_conv_body.h",))


@cache
def _load() -> tuple[ctypes.CDLL | None, str | None]:
    """``(library, None)``, or ``(None, why)``: built or failed once per process."""
    try:
        lib = _native.load(*_SOURCE)
    except NativeBuildError as error:
        return None, str(error)
    for name in (
        "gather_conv_f32",
        "gather_conv_f64",
        "gather_conv_wgrad_f32",
        "gather_conv_wgrad_f64",
    ):
        fn = getattr(lib, name)
        fn.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_int64] * 5
        fn.restype = ctypes.c_int64
    return lib, None


def available() -> bool:
    """Return True when the kernel is built (or builds now) and loads.

    Examples
    --------
    >>> isinstance(available(), bool)
    True
    """
    return _load()[0] is not None


def build_error() -> str | None:
    """Return why the kernel cannot be used here, or None when it can.

    Examples
    --------
    >>> build_error() is None or isinstance(build_error(), str)
    True
    """
    return _load()[1]


def _call(
    name: str,
    x: torch.Tensor,
    other: torch.Tensor,
    table: torch.Tensor,
    out: torch.Tensor,
    c_in: int,
    c_out: int,
    threads: int | None,
) -> int:
    """Call the kernel ``name`` (``gather_conv`` or ``gather_conv_wgrad``) for ``x``'s dtype."""
    lib, why = _load()
    if lib is None:
        raise NativeBuildError(why)
    fn = getattr(lib, f"{name}_f64" if x.dtype == torch.float64 else f"{name}_f32")
    x, other, table = x.contiguous(), other.contiguous(), table.contiguous()
    n_threads = torch.get_num_threads() if threads is None else int(threads)
    return fn(
        x.data_ptr(), other.data_ptr(), table.data_ptr(), out.data_ptr(),
        table.shape[0], table.shape[1], c_in, c_out, max(1, n_threads),
    )  # fmt: skip


def gather_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    table: torch.Tensor,
    *,
    threads: int | None = None,
    validate: bool = True,
) -> torch.Tensor:
    """Return ``out[o] = sum_k x[table[o, k]] @ weight[k]`` over the entries ``>= 0``.

    Parameters
    ----------
    x : torch.Tensor
        ``[n_in, C_in]``, float32 or float64, on the CPU.
    weight : torch.Tensor
        ``[K, C_in, C_out]``, the dtype of ``x``.
    table : torch.Tensor
        ``int32 [n_out, K]``: the row of ``x`` feeding output row ``o``
        through offset ``k``, or ``-1``.
    threads : int, optional
        Threads to split the output rows over (default
        ``torch.get_num_threads()``); the result does not depend on it.
    validate : bool
        Check that every entry of ``table`` is ``-1`` or a row of ``x``
        (the kernel itself trusts the table; callers that built it skip this).

    Returns
    -------
    torch.Tensor
        ``[n_out, C_out]``, the dtype of ``x``, contiguous.

    Raises
    ------
    ValueError
        For shapes, dtypes or devices that do not fit (named), or a table
        entry out of range (with its row and offset).
    graphnn.exceptions.NativeBuildError
        If the kernel cannot be built here.
    MemoryError
        If the kernel cannot allocate its padded weight columns.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[1.0], [2.0]])
    >>> w = torch.tensor([[[10.0]], [[100.0]]])          # K = 2, one channel in and out
    >>> table = torch.tensor([[0, 1], [-1, 0], [1, -1]], dtype=torch.int32)
    >>> gather_conv(x, w, table).flatten().tolist()
    [210.0, 100.0, 20.0]
    """
    _check(x, weight, "weight", table, validate)
    if weight.dim() != 3:
        raise ValueError(
            f"x must be [n_in, C_in] and weight [K, C_in, C_out], got {list(x.shape)} and "
            f"{list(weight.shape)}"
        )
    if weight.shape[0] != table.shape[1] or weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight {list(weight.shape)} does not fit table {list(table.shape)} (K) and x "
            f"{list(x.shape)} (C_in)"
        )
    n_out, K = table.shape
    c_in, c_out = weight.shape[1], weight.shape[2]
    out = torch.empty(n_out, c_out, dtype=x.dtype)
    if n_out == 0 or c_out == 0:
        return out
    if c_in == 0 or K == 0:
        return out.zero_()
    if _call("gather_conv", x, weight, table, out, c_in, c_out, threads) < 0:
        raise MemoryError(
            f"gather_conv could not allocate the padded weight columns ({K}x{c_in}x{c_out})"
        )
    return out


def gather_conv_weight_grad(
    x: torch.Tensor,
    grad: torch.Tensor,
    table: torch.Tensor,
    *,
    threads: int | None = None,
    validate: bool = True,
) -> torch.Tensor:
    """Return the weight gradient of :func:`gather_conv`: ``dW[k] = sum x[i]^T grad[o]``.

    The sum runs over the pairs ``(i, o) = (table[o, k], o)`` with ``i >= 0``.
    The offsets are dealt round the threads; each ``dW[k]`` is summed by one
    thread, pair by pair in output-row order, so the result is bitwise the same
    at any thread count.

    Parameters
    ----------
    x : torch.Tensor
        ``[n_in, C_in]``, float32 or float64, the forward's input.
    grad : torch.Tensor
        ``[n_out, C_out]``, the dtype of ``x``: the gradient of the output.
    table : torch.Tensor
        ``int32 [n_out, K]``, as for :func:`gather_conv`.
    threads, validate
        As for :func:`gather_conv`.

    Returns
    -------
    torch.Tensor
        ``[K, C_in, C_out]``, the dtype of ``x``.

    Raises
    ------
    ValueError
        As :func:`gather_conv` (shapes, dtypes, devices, table entries).

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[1.0], [2.0]])
    >>> grad = torch.tensor([[1.0], [10.0], [100.0]])
    >>> table = torch.tensor([[0, 1], [-1, 0], [1, -1]], dtype=torch.int32)
    >>> gather_conv_weight_grad(x, grad, table).flatten().tolist()  # 1 + 200, 2 + 10
    [201.0, 12.0]
    """
    if not isinstance(grad, torch.Tensor) or not isinstance(table, torch.Tensor):
        raise TypeError("grad and table must be tensors")
    _check(x, grad, "grad", table, validate)
    if grad.dim() != 2 or grad.shape[0] != table.shape[0]:
        raise ValueError(
            f"grad must be [n_out, C_out] with n_out = {table.shape[0]} (the table's rows), got "
            f"{list(grad.shape)}"
        )
    shape = (table.shape[1], x.shape[1], grad.shape[1])
    dw = torch.zeros(shape, dtype=x.dtype)
    if table.shape[0] == 0 or dw.numel() == 0:
        return dw
    _call("gather_conv_wgrad", x, grad, table, dw, shape[1], shape[2], threads)
    return dw


def _check(
    x: torch.Tensor, other: torch.Tensor, other_name: str, table: torch.Tensor, validate: bool
) -> None:
    """Check what both kernels take: tensors on the CPU, dtypes, ``x`` and ``table``'s entries."""
    for name, t in (("x", x), (other_name, other), ("table", table)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a tensor, got {type(t).__name__}")
        if t.device.type != "cpu":
            raise ValueError(f"gather_conv runs on the CPU; {name} is on {t.device}")
    if x.dtype not in DTYPES or other.dtype != x.dtype:
        raise ValueError(
            f"x and {other_name} must both be float32 or both float64, got {x.dtype} and "
            f"{other.dtype}"
        )
    if table.dtype != torch.int32 or table.dim() != 2:
        raise ValueError(f"table must be int32 [n_out, K], got {table.dtype} {list(table.shape)}")
    if x.dim() != 2:
        raise ValueError(f"x must be [n_in, C_in], got {list(x.shape)}")
    if validate and table.numel():
        bad = (table < -1) | (table >= x.shape[0])
        if bool(bad.any()):
            o, k = (int(v) for v in torch.nonzero(bad)[0])
            raise ValueError(
                f"table[{o}, {k}] = {int(table[o, k])} is neither -1 nor a row of x "
                f"(n_in = {x.shape[0]})"
            )
