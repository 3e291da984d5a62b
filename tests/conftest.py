"""Test-wide set-up: Triton's interpreter where there is no CUDA device, hypothesis profiles.

This file is imported before any test module (``tests`` comes first in ``testpaths``), so the
environment variable below is set before anything imports triton.
"""

from __future__ import annotations

import importlib
import os
from importlib import metadata

import pytest
from hypothesis import HealthCheck, settings


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


if not _cuda_available():
    # Kernels then run in Triton's interpreter on CPU tensors; the same tests run compiled on a GPU.
    os.environ.setdefault("TRITON_INTERPRET", "1")


def _version(package: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in metadata.version(package).split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return None


def require_peer(module: str):
    """Import a package some tests need (a peer they compare against, or triton, which only
    installs on some platforms); skip without it, unless GRAPHNN_REQUIRE_PEERS=1.

    ``make test`` installs them and sets the variable, so there a missing one fails.
    """
    if os.environ.get("GRAPHNN_REQUIRE_PEERS") == "1":
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"the peer {module} does not import")


def pytest_report_header(config) -> list[str]:
    return [
        f"TRITON_INTERPRET={os.environ.get('TRITON_INTERPRET', '')!s} "
        f"triton={_version('triton')} numpy={_version('numpy')} "
        f"hypothesis profile={settings.get_current_profile_name()}"
    ]


def interpreter_problem(
    interpreted: bool, triton: tuple[int, ...] | None, numpy: tuple[int, ...] | None
) -> str | None:
    """Say why Triton's interpreter cannot run here, or return None when it can.

    Measured: triton 3.6 fails on kernels that loop over runtime bounds with numpy 2.4, and
    passes with numpy 2.2; triton 3.8 and 3.9 pass with numpy 2.4.
    """
    if interpreted and triton and numpy and triton < (3, 8) and numpy >= (2, 3):
        return (
            f"triton {triton} cannot interpret kernels with numpy {numpy} (it fails with "
            "'only 0-dimensional arrays can be converted to Python scalars'); install "
            "triton>=3.8 (the test extra does) or numpy<2.3"
        )
    return None


def pytest_configure(config) -> None:
    interpreted = os.environ.get("TRITON_INTERPRET") == "1"
    problem = interpreter_problem(interpreted, _version("triton"), _version("numpy"))
    if problem:
        raise pytest.UsageError(problem)


# No deadlines: the machines are shared and noisy, and timing is the benchmarks' business.
settings.register_profile("default", deadline=None, max_examples=50)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=50,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
