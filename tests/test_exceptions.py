"""graphnn.exceptions: one hierarchy for every error a user's input, a file or set-up causes."""

import pickle

import pytest

import graphnn
import graphnn.sparse3d
from graphnn import exceptions
from graphnn.exceptions import (
    CommandError,
    DatasetError,
    GraphMLError,
    GraphnnError,
    MeshError,
    NativeBuildError,
    NetworkGraphError,
    OFFError,
    SparseDataError,
    StructureError,
)

ALL = [getattr(exceptions, name) for name in exceptions.__all__]
VALUE_ERRORS = {
    StructureError,
    NetworkGraphError,
    GraphMLError,
    OFFError,
    MeshError,
    SparseDataError,
    DatasetError,
}
RUNTIME_ERRORS = {NativeBuildError}


def test_all_names_every_exception_class():
    assert sorted(exceptions.__all__) == exceptions.__all__
    assert set(ALL) == VALUE_ERRORS | RUNTIME_ERRORS | {CommandError, GraphnnError}


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_class_is_a_graphnn_error(cls):
    assert issubclass(cls, GraphnnError) and issubclass(cls, Exception)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_which_are_value_errors_and_which_runtime_errors(cls):
    assert issubclass(cls, ValueError) == (cls in VALUE_ERRORS)
    assert issubclass(cls, RuntimeError) == (cls in RUNTIME_ERRORS)


def test_network_graph_errors_are_structure_errors():
    assert issubclass(NetworkGraphError, StructureError)
    error = NetworkGraphError("layer 'L0' has no op", nodes=["L0"])
    assert error.nodes == ["L0"] and error.edges == []
    with pytest.raises(StructureError):
        raise error


def test_command_error_and_graphnn_error_are_neither_value_nor_type_errors():
    for cls in (CommandError, GraphnnError):
        assert not issubclass(cls, ValueError | TypeError | RuntimeError)
    assert str(CommandError("no such file")) == "no such file"


def test_structure_error_holds_its_nodes_and_edges_as_lists():
    error = StructureError("bad", nodes=(v for v in (1, 2)), edges={(1, 2): None})
    assert str(error) == "bad"
    assert error.nodes == [1, 2]
    assert error.edges == [(1, 2)]


def test_structure_error_nodes_and_edges_default_to_empty_lists():
    a, b = StructureError("x"), StructureError("y")
    assert a.nodes == [] and a.edges == []
    a.nodes.append(1)
    assert b.nodes == []  # not shared


def test_structure_error_nodes_and_edges_are_keyword_only():
    with pytest.raises(TypeError):
        StructureError("x", [1])  # type: ignore[misc]


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("net.graphml", 12, "net.graphml:12: unknown key 'd9'"),
        ("net.graphml", None, "net.graphml: unknown key 'd9'"),
        (None, 12, "line 12: unknown key 'd9'"),
        (None, None, "unknown key 'd9'"),
    ],
)
def test_graphml_error_names_the_file_and_line(source, line, message):
    error = GraphMLError("unknown key 'd9'", source=source, line=line)
    assert str(error) == message
    assert error.source == source and error.line == line


@pytest.mark.parametrize(
    ("path", "line", "message"),
    [
        ("chair.off", 3, "chair.off:3: expected 3 vertex coordinates"),
        ("chair.off", None, "chair.off: expected 3 vertex coordinates"),
        (None, 3, "<stream>:3: expected 3 vertex coordinates"),
        (None, None, "<stream>: expected 3 vertex coordinates"),
    ],
)
def test_off_error_names_the_file_and_line(path, line, message):
    error = OFFError("expected 3 vertex coordinates", path=path, line=line)
    assert str(error) == message
    assert error.path == path and error.line == line


@pytest.mark.parametrize(
    "error",
    [
        StructureError("cycle", nodes=[0, 1], edges=[(0, 1), (1, 0)]),
        NetworkGraphError("bad layer", nodes=["L0"]),
        GraphMLError("bad key", source="g.graphml", line=4),
        OFFError("bad header", path="m.off", line=1),
        OFFError("bad header"),
        MeshError("faces[3] indexes no vertex"),
        NativeBuildError("no compiler"),
        CommandError("cannot go on"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_survive_pickling(error):
    """An error raised in a worker process reaches the parent as it was raised."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


def test_graphnn_exports_every_exception_class():
    for cls in ALL:
        assert getattr(graphnn, cls.__name__) is cls
        assert cls.__name__ in graphnn.__all__
    namespace: dict = {}
    exec("from graphnn import StructureError, NativeBuildError, CommandError", namespace)
    assert namespace["StructureError"] is StructureError


@pytest.mark.parametrize("cls", [MeshError, NetworkGraphError, OFFError, SparseDataError])
def test_sparse3d_exports_its_exception_classes(cls):
    assert getattr(graphnn.sparse3d, cls.__name__) is cls
    assert cls.__name__ in graphnn.sparse3d.__all__
    namespace: dict = {}
    exec(f"from graphnn.sparse3d import {cls.__name__}", namespace)
    assert namespace[cls.__name__] is cls


def test_the_native_module_raises_the_same_native_build_error():
    from graphnn import _native

    assert _native.NativeBuildError is NativeBuildError
