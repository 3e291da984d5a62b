"""graphnn._lazy: package namespaces whose names load from their modules when first used."""

import importlib
import subprocess
import sys
import textwrap

import pytest

from graphnn._lazy import attach

PACKAGE = "lazy_fixture_pkg"


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throwaway package made lazy with attach: a submodule, two modules of names."""
    root = tmp_path / PACKAGE
    root.mkdir()
    (root / "__init__.py").write_text(
        textwrap.dedent(
            """
            from graphnn._lazy import attach

            plain = "defined in the package"
            __getattr__, __dir__, __all__ = attach(
                __name__,
                ["sub"],
                {"thing": f"{__name__}.impl", "other": f"{__name__}.impl",
                 "helper": f"{__name__}.more", "ghost": f"{__name__}.impl"},
            )
            """
        )
    )
    (root / "sub.py").write_text("VALUE = 1\n")
    (root / "impl.py").write_text("LOADS = [1]\nthing = object()\nother = 'other'\n")
    (root / "more.py").write_text("def helper():\n    return 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module(PACKAGE)
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def test_all_lists_the_submodules_and_names_sorted():
    _, _, exported = attach("pkg", ["b_sub", "a_sub"], {"z": "pkg.m", "c": "pkg.m"})
    assert exported == ["a_sub", "b_sub", "c", "z"]


def test_nothing_is_imported_until_a_name_is_used(package):
    assert f"{PACKAGE}.impl" not in sys.modules
    assert f"{PACKAGE}.sub" not in sys.modules
    assert "thing" not in vars(package)


def test_a_name_loads_on_first_use_and_is_cached_in_the_package(package):
    thing = package.thing
    impl = sys.modules[f"{PACKAGE}.impl"]
    assert thing is impl.thing
    assert vars(package)["thing"] is thing  # stored: later look-ups skip __getattr__
    assert f"{PACKAGE}.more" not in sys.modules  # only the module of the name used
    # a cached name is what the package now holds, even if the module changes afterwards
    impl.thing = "replaced"
    assert package.thing is thing


def test_a_cached_name_does_not_reach_getattr_again(package, monkeypatch):
    package.other  # noqa: B018
    calls = []
    original = package.__getattr__
    monkeypatch.setattr(package, "__getattr__", lambda name: calls.append(name) or original(name))
    assert package.other == "other"
    assert package.helper() == 42
    assert calls == ["helper"]


def test_a_submodule_loads_on_first_use(package):
    sub = package.sub
    assert sub is sys.modules[f"{PACKAGE}.sub"]
    assert sub.VALUE == 1
    assert vars(package)["sub"] is sub


def test_from_import_goes_through_the_lazy_names(package):
    namespace: dict = {}
    exec(f"from {PACKAGE} import helper, sub", namespace)
    assert namespace["helper"]() == 42
    assert namespace["sub"] is sys.modules[f"{PACKAGE}.sub"]


def test_an_unknown_name_is_an_attribute_error_naming_the_package(package):
    with pytest.raises(AttributeError) as info:
        package.nope  # noqa: B018
    assert str(info.value) == f"module {PACKAGE!r} has no attribute 'nope'"
    assert not hasattr(package, "nope")
    with pytest.raises(ImportError, match="cannot import name 'nope'"):
        exec(f"from {PACKAGE} import nope", {})


def test_a_name_its_module_lacks_is_an_attribute_error_naming_that_module(package):
    with pytest.raises(AttributeError, match=rf"module '{PACKAGE}\.impl' has no attribute 'ghost'"):
        package.ghost  # noqa: B018


def test_dir_lists_every_exported_and_defined_name(package):
    listed = dir(package)
    assert listed == sorted(listed)
    assert {"sub", "thing", "other", "helper", "ghost", "plain", "__all__"} <= set(listed)
    assert package.__all__ == ["ghost", "helper", "other", "sub", "thing"]
    package.late = 1
    assert "late" in dir(package)
    # listing loads nothing
    assert f"{PACKAGE}.impl" not in sys.modules


@pytest.mark.parametrize("name", ["graphnn", "graphnn.sparse3d"])
def test_the_real_namespaces_list_every_name_in_dir(name):
    package = importlib.import_module(name)
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match=rf"^module {name!r} has no attribute 'nope'$"):
        package.nope  # noqa: B018


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True
    )


def test_sparse3d_imports_torch_only_when_a_torch_backed_name_is_used():
    done = run_python(
        """
        import sys
        import graphnn.sparse3d as s3d
        assert "torch" not in sys.modules, "import graphnn.sparse3d imported torch"
        dir(s3d)
        s3d.read_off, s3d.Mesh, s3d.OFFError, s3d.mesh
        assert "torch" not in sys.modules, "a numpy-only name imported torch"
        s3d.SubmanifoldConv3d
        assert "torch" in sys.modules, "a torch-backed name did not import torch"
        assert "SubmanifoldConv3d" in vars(s3d)
        """
    )
    assert done.returncode == 0, done.stderr


def test_graphnn_imports_torch_only_when_a_torch_backed_name_is_used():
    done = run_python(
        """
        import sys
        import graphnn
        graphnn.layers, graphnn.StructureError, graphnn.structure
        assert "torch" not in sys.modules, "a structure name imported torch"
        graphnn.MaskedLinear
        assert "torch" in sys.modules
        """
    )
    assert done.returncode == 0, done.stderr
