"""Small, offline, deterministic datasets.

Everything here comes from scikit-learn's bundled files or from a seeded generator, so pages and
exercises run without a network and give the same numbers on every machine.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np


class Split(NamedTuple):
    """A train/test split of features ``X`` (float64, standardised) and integer labels ``y``."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max()) + 1)


def digits(test_fraction: float = 0.25, seed: int = 0) -> Split:
    """scikit-learn's 8×8 handwritten digits (1,797 images, 10 classes), standardised.

    The mean and standard deviation are computed on the training part only, so the test set
    stays unseen. Pixel columns that are constant in the training set are left at zero.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    X, y = _raw_digits()
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    mean = X[train].mean(axis=0)
    std = X[train].std(axis=0)
    std[std == 0] = 1.0
    X = (X - mean) / std
    return Split(X[train], y[train].astype(np.int64), X[test], y[test].astype(np.int64))


@cache
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """The bundled file, parsed once per process (callers get standardised copies)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def linear_regression(n: int = 200, d: int = 5, noise: float = 0.1, seed: int = 0
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A synthetic least-squares problem ``y = X w* + noise``; returns ``(X, y, w_star)``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_star = rng.standard_normal(d)
    y = X @ w_star + noise * rng.standard_normal(n)
    return X, y, w_star
