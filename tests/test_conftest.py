import os

import pytest

from tests.conftest import interpreter_problem


def test_the_interpreter_is_on_without_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        assert os.environ["TRITON_INTERPRET"] == "1"


@pytest.mark.parametrize(
    ("interpreted", "triton", "numpy", "bad"),
    [
        (True, (3, 6), (2, 4), True),
        (True, (3, 6), (2, 2), False),
        (True, (3, 8), (2, 4), False),
        (True, (3, 9), (2, 4), False),
        (False, (3, 6), (2, 4), False),  # compiled on a GPU: numpy does not matter
        (True, None, (2, 4), False),  # no triton: nothing to interpret
    ],
)
def test_interpreter_problem(interpreted, triton, numpy, bad):
    problem = interpreter_problem(interpreted, triton, numpy)
    assert (problem is not None) == bad
    if bad:
        assert "triton>=3.8" in problem
