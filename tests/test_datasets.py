import pytest
import torch

from graphnn.datasets import digits


def test_digits_split_is_stratified_reproducible_and_scaled_on_training_data():
    a, b = digits(seed=3), digits(seed=3)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert a.x_train.shape == (1347, 64) and a.x_test.shape == (450, 64)
    assert a.x_train.dtype == torch.float32 and a.y_train.dtype == torch.int64
    train_share = torch.bincount(a.y_train, minlength=10) / len(a.y_train)
    test_share = torch.bincount(a.y_test, minlength=10) / len(a.y_test)
    assert (train_share - test_share).abs().max() < 0.01  # stratified by class
    assert a.x_train.mean(0).abs().max() < 1e-5  # standardised on the training split ...
    assert a.x_test.mean(0).abs().max() > 1e-3  # ... not on the test split
    assert not torch.equal(a.y_test, digits(seed=4).y_test)


def test_digits_test_size():
    assert len(digits(test_size=0.5).y_test) in (898, 899)


@pytest.mark.parametrize("test_size", [0, 1, 1.5, -0.1])
def test_digits_rejects_a_test_size_outside_0_1(test_size):
    with pytest.raises(ValueError, match=r"test_size must be a fraction in \(0, 1\)"):
        digits(test_size=test_size)
