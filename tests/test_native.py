"""graphnn._native: C kernels compiled at first use, cached on disk, errors that say why."""

import shutil

import pytest

from graphnn import _native

SOURCE = ("graphnn.sparse3d.ops", "gather_conv.c", ("gather_conv_body.h",))


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty cache folder and no library loaded yet in this process."""
    monkeypatch.setenv("GRAPHNN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_native, "_loaded", {})
    return tmp_path / "native"


def needs_a_compiler():
    if not any(shutil.which(cc) for cc in ("cc", "gcc", "clang")):
        pytest.skip("no C compiler on this machine")


def test_a_library_is_built_once_then_taken_from_the_cache(fresh, monkeypatch):
    needs_a_compiler()
    lib = _native.load(*SOURCE)
    assert lib is _native.load(*SOURCE)  # once per process
    built = list(fresh.iterdir())
    assert len(built) == 1 and built[0].name.startswith("gather_conv-")
    assert built[0].suffix in (".so", ".dylib", ".dll")
    # a new process (here: a cleared table) loads the cached file without compiling
    monkeypatch.setattr(_native, "_loaded", {})
    monkeypatch.setattr(_native, "_compile", lambda *a: pytest.fail("compiled again"))
    assert _native.load(*SOURCE).gather_conv_f32 is not None


def test_the_cache_key_follows_the_compiler_and_the_cpu(fresh, monkeypatch):
    needs_a_compiler()
    _native.load(*SOURCE)
    monkeypatch.setattr(_native, "_loaded", {})
    monkeypatch.setattr(_native, "_cpu_signature", lambda: "another CPU")
    _native.load(*SOURCE)
    assert len(list(fresh.iterdir())) == 2


def test_graphnn_native_0_turns_the_kernels_off(fresh, monkeypatch):
    monkeypatch.setenv("GRAPHNN_NATIVE", "0")
    assert not _native.enabled()
    with pytest.raises(_native.NativeBuildError, match="GRAPHNN_NATIVE=0"):
        _native.load(*SOURCE)
    assert not fresh.exists()


def test_a_missing_compiler_is_named(fresh, monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    with pytest.raises(_native.NativeBuildError, match=r"CC='/nonexistent/cc' was not found"):
        _native.load(*SOURCE)
    monkeypatch.delenv("CC")
    monkeypatch.setattr(_native.shutil, "which", lambda name: None)
    with pytest.raises(_native.NativeBuildError, match="no C compiler found"):
        _native.load(*SOURCE)


def test_a_compiler_error_shows_the_command_and_the_line(fresh, monkeypatch, tmp_path):
    needs_a_compiler()
    package = tmp_path / "pkg_native_broken"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "broken.c").write_text("int ok(void) { return 1; }\nint bad(void) { return x; }\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(_native.NativeBuildError) as caught:
        _native.load("pkg_native_broken", "broken.c")
    message = str(caught.value)
    assert "the C compiler failed on pkg_native_broken/broken.c" in message
    assert "broken.c:2" in message and "-O3" in message
    assert not list(fresh.glob("*.tmp"))  # nothing half-written is left


def test_a_missing_source_is_named(fresh):
    needs_a_compiler()
    missing = r"graphnn\.sparse3d\.ops/nope\.c is missing"
    with pytest.raises(_native.NativeBuildError, match=missing):
        _native.load("graphnn.sparse3d.ops", "nope.c")


def test_an_unwritable_cache_folder_is_named(monkeypatch, tmp_path):
    needs_a_compiler()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GRAPHNN_CACHE_DIR", str(blocker))
    monkeypatch.setattr(_native, "_loaded", {})
    with pytest.raises(_native.NativeBuildError, match="cannot create the cache folder"):
        _native.load(*SOURCE)


def test_an_unwritable_default_cache_falls_back_to_the_temp_dir(monkeypatch, tmp_path):
    needs_a_compiler()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.delenv("GRAPHNN_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the default cannot be created
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(_native.tempfile, "tempdir", None)  # re-read TMPDIR
    monkeypatch.setattr(_native, "_loaded", {})
    (tmp_path / "tmp").mkdir()
    assert _native.load(*SOURCE).gather_conv_f32 is not None
    assert list((tmp_path / "tmp").glob("graphnn-*/native/gather_conv-*"))


def test_the_default_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("GRAPHNN_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _native.cache_dir() == tmp_path / "graphnn" / "native"
