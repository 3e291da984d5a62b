"""The layers of the house (docs/architecture.md): which package may import which, and how much.

Every import of every library module is read (``ast``, function-level
imports included; imports under ``if TYPE_CHECKING:`` carry no run-time
dependency and are left out) and checked against the layer table below; a
module may not import another package's private names; the torch-free parts
import without torch (checked in a fresh interpreter); modules stay small and
functions simple.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "graphnn").rglob("*.py"))

#: The shared helpers at graphnn's root: every package may use them; they use none of the packages.
HELPERS = (
    "graphnn._figures",
    "graphnn._lazy",
    "graphnn._native",
    "graphnn._random",
    "graphnn._table",
    "graphnn._validation",
    "graphnn.backends",
    "graphnn.exceptions",
)

#: package (longest prefix wins) -> the graphnn packages it may import besides itself and HELPERS.
MAY_IMPORT = {
    **dict.fromkeys(HELPERS, ()),  # the helpers themselves: only each other
    "graphnn.__main__": ("graphnn.cli",),
    "graphnn.structure": (),
    "graphnn.generators": ("graphnn.structure",),
    "graphnn.strategies": ("graphnn.structure",),
    "graphnn.datasets": (),
    "graphnn.nn": ("graphnn.structure",),
    "graphnn.prune": ("graphnn.nn", "graphnn.structure"),
    "graphnn.sparse3d.mesh": (),
    "graphnn.sparse3d.data": ("graphnn.sparse3d.mesh",),
    "graphnn.sparse3d.kernel_map": (),
    "graphnn.sparse3d.tensor": ("graphnn.sparse3d.data", "graphnn.sparse3d.kernel_map"),
    "graphnn.sparse3d.ops": ("graphnn.sparse3d.kernel_map",),
    "graphnn.sparse3d.layers": (
        "graphnn.nn.functional",  # the masked product's masked_weight: one masked-layer rule
        "graphnn.sparse3d.kernel_map",
        "graphnn.sparse3d.ops",
        "graphnn.sparse3d.tensor",
    ),
    "graphnn.sparse3d.training": ("graphnn.sparse3d.data", "graphnn.sparse3d.tensor"),
    "graphnn.sparse3d.retrieval": ("graphnn.sparse3d.tensor", "graphnn.sparse3d.training"),
    "graphnn.sparse3d.network": (
        "graphnn.sparse3d.data",
        "graphnn.sparse3d.layers",
        "graphnn.sparse3d.tensor",
        "graphnn.sparse3d.training",
    ),
    "graphnn.sparse3d": ("graphnn.sparse3d",),  # the package's own namespace (lazy)
    "graphnn.compat": ("graphnn.nn", "graphnn.structure", "graphnn.sparse3d"),
    "graphnn.cli": ("graphnn",),  # the top: anything
    "graphnn": ("graphnn",),  # graphnn/__init__.py and __main__.py: the lazy namespace, the CLI
}

#: Imports that go against the layers on purpose, each with its reason.
EXCEPTIONS = {
    # the deprecated camelCase methods run the compat class's, until they go (graphnn 0.3)
    ("graphnn.sparse3d.network.deprecated", "graphnn.compat.pysparseconvnet"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def is_graphnn(module: str | None) -> bool:
    return module is not None and module.split(".")[0] == "graphnn"


def graphnn_imports(path: Path) -> list[tuple[str, list[str], int]]:
    """``(module, names, line)`` of every run-time import of graphnn in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    skipped = {
        id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and is_type_checking(node)
        for child in node.body for n in ast.walk(child)
    }  # fmt: skip
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.startswith("graphnn")]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "")[:7] == "graphnn"
        ):
            found.append((node.module, [a.name for a in node.names], node.lineno))
    return found


def layer_of(module: str) -> str:
    return max((p for p in MAY_IMPORT if module == p or module.startswith(p)), key=len)


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_packages_import_only_the_layers_below_them(path):
    me = module_name(path)
    mine = layer_of(me)
    for target, names, line in graphnn_imports(path):
        # `from graphnn.x import y` reaches graphnn.x.y when y is a submodule
        namespace = target in ("graphnn", "graphnn.sparse3d")
        reached = [f"{target}.{n}" for n in names] if namespace else []
        for module in reached or [target]:
            if module in HELPERS or (me, module) in EXCEPTIONS:
                continue
            if within(module, mine) and mine not in ("graphnn", "graphnn.sparse3d"):
                continue
            allowed = MAY_IMPORT[mine]
            assert any(within(module, a) for a in allowed) or within(module, me), (
                f"{path.relative_to(ROOT)}:{line} imports {module}, but {mine} may import only "
                f"{', '.join(allowed) or 'nothing of graphnn'} and the shared helpers"
            )


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_another_packages_private_name(path):
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    for target, names, line in graphnn_imports(path):
        source_package = target if target.count(".") < 1 else target.rpartition(".")[0]
        for name in names:
            if not name.startswith("_") or f"{target}.{name}" in HELPERS:
                continue
            same = target == package or source_package == package
            assert same, f"{path.relative_to(ROOT)}:{line} imports the private {target}.{name}"


#: Packages that must stay light: the only third-party packages they may import.
THIRD_PARTY = {
    "graphnn/structure": {"networkx", "numpy", "scipy"},
    "graphnn/sparse3d/mesh": {"numpy", "matplotlib"},  # matplotlib: plot_sites, when called
}


@pytest.mark.parametrize("folder", sorted(THIRD_PARTY))
def test_the_light_packages_import_only_their_third_party_packages(folder):
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.append(node.module)
            for name in names:
                top = name.split(".")[0]
                allowed = top in sys.stdlib_module_names or top in THIRD_PARTY[folder]
                assert allowed or top == "graphnn", f"{path.relative_to(ROOT)} imports {name}"


def test_the_triton_kernels_depend_on_nothing_in_graphnn():
    for path in sorted((ROOT / "triton_kernels").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            for name in names:
                assert name.split(".")[0] not in ("graphnn", "networkx"), f"{path.name}: {name}"


TORCH_FREE = (
    "graphnn",
    "graphnn.structure",
    "graphnn.generators",
    "graphnn.strategies",
    "graphnn.exceptions",
    "graphnn.backends",
    "graphnn.sparse3d",
    "graphnn.sparse3d.mesh",
    "graphnn.sparse3d.data.picture",
    "graphnn.cli",
)


@pytest.mark.parametrize("module", TORCH_FREE)
def test_the_torch_free_parts_import_without_torch(module):
    code = f"import sys, {module}; assert 'torch' not in sys.modules, 'torch was imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("command", ["", "demo", "info", "prune", "voxelize", "train3d", "bench"])
def test_the_command_line_and_every_help_run_without_torch(command):
    code = (
        "import sys\nfrom graphnn.cli import main\n"
        f"try:\n    main({[*([command] if command else []), '--help']!r})\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "usage: graphnn" in done.stdout


def test_the_lazy_namespaces_give_every_name_they_list():
    import graphnn
    import graphnn.sparse3d

    for package in (graphnn, graphnn.sparse3d):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"
        assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        graphnn.nope  # noqa: B018


#: The largest a library module may grow (lines): one concept, read in one sitting.
MODULE_LINES = 650


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_library_modules_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it"


def test_no_function_is_too_complex():
    """No function of cyclomatic complexity 21 or more (radon's grade D and worse)."""
    from radon.complexity import cc_visit

    paths = LIBRARY + sorted((ROOT / "triton_kernels").rglob("*.py"))
    complex_ = [
        f"{path.relative_to(ROOT)}:{block.lineno} {block.name} ({block.complexity})"
        for path in paths
        for block in cc_visit(path.read_text())
        if block.complexity > 20
    ]
    assert not complex_, "split these functions: " + "; ".join(complex_)
