"""What the launchers share: interpreter detection, config choice, argument checks."""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

__all__ = [
    "accumulator",
    "check_compressed",
    "check_index",
    "check_matrix",
    "check_same_device",
    "dot_precision",
    "interpreting",
    "pick",
    "precision",
    "upcast_dot",
]


def interpreting() -> bool:
    """Whether kernels run in Triton's interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def pick(tuned, plain, default: triton.Config) -> tuple[object, dict]:
    """Return the kernel to launch and the meta-parameters to pass it.

    Compiled, the autotuned kernel picks its own configuration; in the
    interpreter (no device to time on) the plain kernel runs ``default``.
    """
    if interpreting():
        return plain, dict(default.kwargs)
    return tuned, {}


def accumulator(dtype: torch.dtype) -> tl.dtype:
    """Return the accumulation dtype for inputs of ``dtype``: float64 or float32."""
    return tl.float64 if dtype == torch.float64 else tl.float32


def precision(dtype: torch.dtype) -> str:
    """Return ``tl.dot``'s input precision for ``dtype``.

    Exact ``"ieee"`` for float32 (as torch's default matmul, which does not
    use TF32), the native one for the half types.
    """
    return "ieee" if dtype == torch.float32 else "tf32"


def upcast_dot(dtype: torch.dtype) -> bool:
    """Whether ``tl.dot`` operands must be upcast to float32 before the product.

    Only in the interpreter, for bfloat16: it computes ``tl.dot`` with numpy,
    which has no bfloat16 (the result is garbage).  Compiled kernels keep the
    native bfloat16 product.
    """
    return interpreting() and dtype == torch.bfloat16


def dot_precision(dtype: torch.dtype) -> str:
    """``tl.dot``'s input precision: exact for float64 and for operands upcast to float32."""
    return "ieee" if dtype == torch.float64 or upcast_dot(dtype) else precision(dtype)


def check_same_device(**tensors: torch.Tensor) -> torch.device:
    """Return the device all ``tensors`` are on; raise ``ValueError`` naming them otherwise."""
    devices = {name: t.device for name, t in tensors.items()}
    if len(set(devices.values())) > 1:
        listed = ", ".join(f"{name} on {device}" for name, device in devices.items())
        raise ValueError(f"all tensors must be on one device, got {listed}")
    return next(iter(devices.values()))


def check_index(name: str, t: torch.Tensor, length: int | None = None) -> torch.Tensor:
    """Return an int32/int64 1-D contiguous index tensor, or raise naming what is wrong."""
    if t.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"{name} must be an int32 or int64 tensor, got {t.dtype}")
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
    if length is not None and t.numel() != length:
        raise ValueError(f"{name} must have {length} entries, got {t.numel()}")
    return t.contiguous()


def check_compressed(
    offsets: torch.Tensor, indices: torch.Tensor, n_indexed: int, what: str = "col_indices"
) -> None:
    """Check a CSR (or block-CSR) index before a kernel trusts it with memory addresses.

    ``offsets`` must start at 0, never decrease and end at ``indices.numel()``;
    every index must lie in ``[0, n_indexed)``.  This reads the values, so on a
    GPU it waits for the device; callers whose indices are known to be valid
    pass ``validate=False`` to the launchers.

    Raises
    ------
    ValueError
        Naming the first problem found.
    """
    if offsets.numel() == 0 or int(offsets[0]) != 0:
        raise ValueError("crow_indices must start at 0")
    if bool((offsets[1:] < offsets[:-1]).any()):
        raise ValueError("crow_indices must never decrease")
    if int(offsets[-1]) != indices.numel():
        raise ValueError(
            f"crow_indices ends at {int(offsets[-1])} but there are {indices.numel()} {what}"
        )
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= n_indexed):
        raise ValueError(f"{what} must lie in [0, {n_indexed})")


def check_matrix(name: str, t: torch.Tensor, rows: int | None = None) -> torch.Tensor:
    """Return a 2-D floating tensor (any strides), or raise naming what is wrong."""
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor, got {t.dtype}")
    if t.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {tuple(t.shape)}")
    if rows is not None and t.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows, got shape {tuple(t.shape)}")
    return t
