"""graphnn's Triton kernels, one concept per module.

Each module holds its ``@triton.jit`` kernel(s), autotune configurations and
a thin launcher that validates torch tensors, allocates outputs and builds
the grid.  This package imports neither graphnn nor networkx; graphnn calls
it through one dispatch point per operation, only for tensors on a CUDA
device and only when triton imports.  Every kernel is tested against
graphnn's plain torch reference, on the CPU in Triton's interpreter
(``TRITON_INTERPRET=1``) and compiled on a GPU.
"""

__all__: list[str] = []
