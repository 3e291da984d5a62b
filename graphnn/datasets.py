"""Real data that ships with a package: scikit-learn's handwritten digits, split and scaled.

The demo, the examples and research scripts train on the same split of the
same data, so their numbers can be compared.  scikit-learn is optional
(``pip install graphnn[examples]``) and imported only when data is asked for.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["Split", "digits"]


class Split(NamedTuple):
    """Training and test data: float32 features ``[N, D]`` and int64 labels ``[N]``."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def digits(seed: int = 0, test_size: float = 0.25) -> Split:
    """scikit-learn's 1,797 handwritten digits (8x8 pixels, 10 classes), split and standardised.

    The split is stratified by class and drawn with ``seed``; each of the 64
    pixels is standardised with the mean and deviation of the training split
    only (no information from the test images).

    Parameters
    ----------
    seed : int, default 0
        Draws the split.
    test_size : float, default 0.25
        Fraction of the images held out for testing, in ``(0, 1)``.

    Returns
    -------
    Split
        ``(x_train, y_train, x_test, y_test)``; reshape the features to
        ``[N, 1, 8, 8]`` for images.

    Raises
    ------
    ValueError
        If ``test_size`` is not in ``(0, 1)``.
    ImportError
        If scikit-learn is not installed.

    Examples
    --------
    >>> data = digits(seed=0)
    >>> data.x_train.shape, data.x_test.shape, data.y_test.dtype
    (torch.Size([1347, 64]), torch.Size([450, 64]), torch.int64)
    >>> bool(data.x_train.mean(0).abs().max() < 1e-5)
    True
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}")
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler
    except ImportError as error:
        raise ImportError(
            "graphnn.datasets.digits needs scikit-learn; install it with "
            "`pip install graphnn[examples]` (or `pip install scikit-learn`)"
        ) from error
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(x_train)

    def features(a):
        return torch.as_tensor(scaler.transform(a), dtype=torch.float32)

    return Split(
        features(x_train), torch.as_tensor(y_train), features(x_test), torch.as_tensor(y_test)
    )
