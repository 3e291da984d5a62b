"""graphnn.backends: the backend switch, and what each dispatch point asks it."""

import types
import warnings

import pytest
import torch

from graphnn import backends
from graphnn.backends import (
    BACKENDS,
    backend,
    current,
    triton_available,
    triton_module,
    use_native,
    use_triton,
)
from graphnn.exceptions import GraphnnError, NativeBuildError
from tests.conftest import require_peer

CPU = torch.ones(1)
META = torch.empty(1, device="meta")


class FakeKernel:
    """A NativeKernel: what a kernel module shows use_native, counting the questions."""

    def __init__(self, available: bool, error: str | None = None, kernel: str = "fake kernel"):
        self.KERNEL = kernel
        self._available = available
        self._error = error
        self.asked = 0

    def available(self) -> bool:
        self.asked += 1
        return self._available

    def build_error(self) -> str | None:
        return self._error


@pytest.fixture
def fresh_warnings(monkeypatch):
    """No kernel has warned yet in this process; the native kernels are on."""
    monkeypatch.setattr(backends, "_warned", set())
    monkeypatch.delenv("GRAPHNN_NATIVE", raising=False)


@pytest.fixture
def with_triton(monkeypatch):
    """Pretend triton imports, so backend("triton") can be entered here whatever is installed."""
    monkeypatch.setattr(backends, "triton_available", lambda: True)


def fake_cuda_tensor():
    """What use_triton reads of a tensor on a CUDA device, without one."""
    return types.SimpleNamespace(is_cuda=True, device=torch.device("cuda", 0))


# --- backend / current -----------------------------------------------------------------------


def test_the_backends():
    assert BACKENDS == ("auto", "torch", "triton", "native")


def test_auto_is_the_default():
    assert current() == "auto"


@pytest.mark.parametrize("name", ["auto", "torch", "native", "triton"])
def test_backend_sets_the_backend_inside_the_block_and_restores_it(name, with_triton):
    with backend(name):
        assert current() == name
    assert current() == "auto"


def test_backend_blocks_nest():
    with backend("torch"):
        with backend("native"):
            assert current() == "native"
        assert current() == "torch"
    assert current() == "auto"


def test_backend_restores_the_previous_value_when_the_block_raises():
    with backend("native"):
        with pytest.raises(KeyError), backend("torch"):
            assert current() == "torch"
            raise KeyError("boom")
        assert current() == "native"
    assert current() == "auto"


@pytest.mark.parametrize("name", ["cuda", "Torch", "", "cpu"])
def test_an_unknown_backend_is_a_value_error(name):
    with backend("torch"):
        with pytest.raises(ValueError) as info, backend(name):
            pass  # pragma: no cover - not entered
        assert current() == "torch"  # unchanged
    assert str(info.value) == f"backend must be one of auto, torch, triton, native; got {name!r}"


def test_the_triton_backend_needs_triton(monkeypatch):
    monkeypatch.setattr(backends, "triton_available", lambda: False)
    needs = r"^the triton backend needs the triton package \(Linux x86_64\)$"
    with pytest.raises(ImportError, match=needs), backend("triton"):
        pass  # pragma: no cover - not entered
    assert current() == "auto"


def test_triton_available_is_a_bool():
    assert isinstance(triton_available(), bool)
    assert triton_available() is triton_available()  # looked up once


# --- use_triton / triton_module --------------------------------------------------------------


def test_use_triton_is_false_for_cpu_tensors_under_auto(with_triton):
    assert use_triton(CPU) is False
    assert use_triton(META) is False


def test_use_triton_under_auto_follows_the_device_and_triton(monkeypatch):
    monkeypatch.setattr(backends, "triton_available", lambda: True)
    assert use_triton(fake_cuda_tensor()) is True
    monkeypatch.setattr(backends, "triton_available", lambda: False)
    assert use_triton(fake_cuda_tensor()) is False


@pytest.mark.parametrize("name", ["torch", "native"])
def test_use_triton_is_false_under_the_other_backends(name, with_triton):
    with backend(name):
        assert use_triton(CPU) is False
        assert use_triton(fake_cuda_tensor()) is False


def test_the_triton_backend_off_cuda_needs_the_interpreter(monkeypatch, with_triton):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with backend("triton"), pytest.raises(RuntimeError) as info:
        use_triton(CPU)
    assert str(info.value) == (
        "the Triton kernels need a CUDA device, or Triton's interpreter for tensors on cpu: "
        "set TRITON_INTERPRET=1 before triton is imported"
    )
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with backend("triton"), pytest.raises(RuntimeError, match="set TRITON_INTERPRET=1"):
        use_triton(META)


def test_the_triton_backend_runs_on_cpu_tensors_with_the_interpreter(monkeypatch, with_triton):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    with backend("triton"):
        assert use_triton(CPU) is True
        assert use_triton(fake_cuda_tensor()) is True


def test_triton_module_is_none_for_cpu_tensors_under_auto(with_triton):
    assert triton_module("max_pool", CPU) is None
    with backend("torch"):
        assert triton_module("max_pool", fake_cuda_tensor()) is None


def test_triton_module_under_auto_falls_back_when_the_kernel_does_not_import(with_triton):
    assert triton_module("no_such_kernel", fake_cuda_tensor()) is None


def test_triton_module_under_the_triton_backend_raises_the_import_error(monkeypatch, with_triton):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    with backend("triton"), pytest.raises(ImportError, match="no_such_kernel"):
        triton_module("no_such_kernel", CPU)


def test_triton_module_under_the_triton_backend_off_cuda_needs_the_interpreter(
    monkeypatch, with_triton
):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with backend("triton"), pytest.raises(RuntimeError, match="TRITON_INTERPRET=1"):
        triton_module("max_pool", CPU)


def test_triton_module_gives_the_kernel_module(monkeypatch):
    require_peer("triton")
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    with backend("triton"):
        module = triton_module("max_pool", CPU)
    assert module is not None and module.__name__ == "triton_kernels.max_pool"
    assert hasattr(module, "gather_max_pool")


# --- use_native ------------------------------------------------------------------------------


def test_use_native_runs_an_available_kernel_on_cpu_tensors(fresh_warnings):
    kernel = FakeKernel(available=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert use_native(CPU, kernel) is True


def test_use_native_is_false_off_the_cpu_under_auto_without_asking_the_kernel(fresh_warnings):
    kernel = FakeKernel(available=True)
    assert use_native(META, kernel) is False
    assert kernel.asked == 0


def test_a_kernel_that_does_not_build_warns_once_then_stays_silent(fresh_warnings):
    kernel = FakeKernel(available=False, error="no C compiler found (test)")
    with pytest.warns(RuntimeWarning) as record:
        assert use_native(CPU, kernel) is False
    assert len(record) == 1
    assert str(record[0].message) == (
        "graphnn's native fake kernel is not used, the torch path runs (slower); set "
        "GRAPHNN_NATIVE=0 to silence this. no C compiler found (test)"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            assert use_native(CPU, kernel) is False
        # another object for the same kernel is the same kernel: still silent
        assert use_native(CPU, FakeKernel(available=False, error="again")) is False


def test_each_kernel_warns_once(fresh_warnings):
    first = FakeKernel(available=False, error="why one", kernel="first kernel")
    second = FakeKernel(available=False, error="why two", kernel="second kernel")
    with pytest.warns(RuntimeWarning, match="native first kernel is not used.*why one"):
        use_native(CPU, first)
    with pytest.warns(RuntimeWarning, match="native second kernel is not used.*why two"):
        use_native(CPU, second)


def test_graphnn_native_0_turns_the_kernels_off_silently(fresh_warnings, monkeypatch):
    monkeypatch.setenv("GRAPHNN_NATIVE", "0")
    broken, built = FakeKernel(available=False, error="x"), FakeKernel(available=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert use_native(CPU, broken) is False
        assert use_native(CPU, built) is False
    assert broken.asked == built.asked == 0
    assert backends._warned == set()  # it did not use up the warning either


@pytest.mark.parametrize("name", ["torch", "triton"])
def test_use_native_is_false_under_the_other_backends(name, fresh_warnings, with_triton):
    kernel = FakeKernel(available=True)
    with backend(name):
        assert use_native(CPU, kernel) is False
    assert kernel.asked == 0


def test_the_native_backend_runs_an_available_kernel(fresh_warnings):
    with backend("native"):
        assert use_native(CPU, FakeKernel(available=True)) is True


def test_the_native_backend_raises_the_kernels_build_error(fresh_warnings):
    kernel = FakeKernel(available=False, error="cc: error: unrecognized option (test)")
    with backend("native"), pytest.raises(NativeBuildError) as info:
        use_native(CPU, kernel)
    assert str(info.value) == "cc: error: unrecognized option (test)"
    assert isinstance(info.value, GraphnnError) and isinstance(info.value, RuntimeError)
    assert backends._warned == set()  # an error, not a warning


def test_the_native_backend_is_for_cpu_tensors_only(fresh_warnings):
    kernel = FakeKernel(available=True)
    with backend("native"), pytest.raises(ValueError) as info:
        use_native(META, kernel)
    assert str(info.value) == "the native backend runs on the CPU; the tensors are on meta"
    assert kernel.asked == 0
