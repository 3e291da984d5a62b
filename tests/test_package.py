"""Package-level rules: declared dependencies, the version, a runnable README.

The layers of the house are checked in test_architecture.py.
"""

import ast
import os
import re
import shlex
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import graphnn

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names)


def imports(path: Path) -> set[str]:
    """Every module name that ``path`` imports (absolute imports)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_every_third_party_import_is_declared():
    distribution_of = {
        module: {d.lower() for d in dists}
        for module, dists in metadata.packages_distributions().items()
    }
    declared = declared_distributions()
    local = {path.stem for path in sources("tests")}  # helper modules of the tests themselves
    files = sources("graphnn") + sources("triton_kernels") + sources("tests")
    files += sources("examples") if (ROOT / "examples").exists() else []
    for path in files:
        for name in imports(path):
            top = name.split(".")[0]
            if top in STDLIB or top in {"graphnn", "triton_kernels", "benchmarks", "tests"} | local:
                continue
            dists = distribution_of.get(top, {top})
            assert dists & declared, f"{path.relative_to(ROOT)} imports {top}, not declared"


def test_version_matches_the_distribution():
    assert graphnn.__version__ == metadata.version("graphnn")


def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first = re.search(r"```bash\n(.*?)```", text, flags=re.DOTALL).group(1)
    commands = [line.split("#")[0].strip() for line in first.strip().splitlines()]
    assert commands == ["make demo", "make test"]


@pytest.mark.parametrize("block", readme_blocks(), ids=lambda b: b.splitlines()[0][:40])
def test_readme_code_runs(block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})


def readme_commands() -> list[str]:
    """The ``graphnn`` command lines of the README's bash blocks after the first."""
    text = (ROOT / "README.md").read_text()
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)[1:]:
        lines += [line.split("  #")[0].strip() for line in block.splitlines()]
    return [line for line in lines if line]


@pytest.mark.slow
def test_readme_commands_run(tmp_path, monkeypatch, capsys):
    """Every command line shown in the README runs, in order, in one folder, and succeeds."""
    from graphnn.cli import main

    monkeypatch.chdir(tmp_path)
    commands = readme_commands()
    assert commands, "the README shows no graphnn command"
    for line in commands:
        argv = shlex.split(line)
        assert argv[0] == "graphnn", f"README shows {line!r}, which is no graphnn command"
        assert main(argv[1:]) == 0, f"{line!r} failed: {capsys.readouterr().err}"


def test_python_dash_m_graphnn_help():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "graphnn", "--help"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0
    assert "demo" in done.stdout and "info" in done.stdout
