"""labkit: exact derivatives of the test surfaces, datasets, models; and it holds no answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labkit import data, functions, models

SURFACES = {**functions.SURFACES, "random quadratic": functions.quadratic(
    np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -1.0]))}


def _numeric_grad(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])


@pytest.mark.parametrize("name", SURFACES)
def test_gradients_and_hessians_match_finite_differences(name):
    surface = SURFACES[name]
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.uniform(-1.5, 1.5, 2)
        np.testing.assert_allclose(surface.grad(x), _numeric_grad(surface.value, x),
                                   rtol=1e-5, atol=1e-5)
        numeric_hessian = np.array([_numeric_grad(lambda z, i=i: surface.grad(z)[i], x)
                                    for i in range(2)])
        np.testing.assert_allclose(surface.hessian(x), numeric_hessian, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", SURFACES)
def test_minimisers_are_critical_points(name):
    surface = SURFACES[name]
    if surface.minimum is not None:
        np.testing.assert_allclose(surface.grad(surface.minimum), 0, atol=1e-12)


def test_quadratic_validates_its_matrix():
    with pytest.raises(ValueError, match="square"):
        functions.quadratic(np.ones((2, 3)))
    with pytest.raises(ValueError, match="symmetric"):
        functions.quadratic(np.array([[1.0, 2.0], [0.0, 1.0]]))


def test_digits_split_is_deterministic_and_standardised_on_train():
    a, b = data.digits(seed=0), data.digits(seed=0)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert a.X_train.shape[1] == 64 and len(a.y_train) + len(a.y_test) == 1797
    assert a.num_classes == 10 and set(np.unique(a.y_train)) == set(range(10))
    varying = a.X_train.std(axis=0) > 0
    np.testing.assert_allclose(a.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(a.X_train.std(axis=0)[varying], 1, rtol=1e-12)
    assert not np.array_equal(data.digits(seed=1).y_train, a.y_train)


def test_softmax_regression_gradient_and_initial_loss():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 5)), rng.integers(0, 3, 20)
    loss0, _ = models.softmax_regression(np.zeros((6, 3)), X, y)
    assert loss0 == pytest.approx(np.log(3))
    W = rng.standard_normal((6, 3))
    _, dW = models.softmax_regression(W, X, y, l2=0.1)
    flat = lambda w: models.softmax_regression(w.reshape(6, 3), X, y, l2=0.1)[0]  # noqa: E731
    np.testing.assert_allclose(dW.ravel(), _numeric_grad(flat, W.ravel()), rtol=1e-5,
                               atol=1e-7)


def test_least_squares_gradient():
    X, y, _ = data.linear_regression(n=30, d=3, seed=1)
    w = np.array([0.3, -1.0, 2.0])
    _, grad = models.least_squares(w, X, y)
    np.testing.assert_allclose(grad, _numeric_grad(lambda z: models.least_squares(z, X, y)[0], w),
                               rtol=1e-6)


def test_mlp_shape_dtype_and_depth():
    import torch

    net = models.mlp(64, 16, 10, depth=3, seed=0)
    assert sum(isinstance(m, torch.nn.Linear) for m in net) == 4
    assert next(net.parameters()).dtype == torch.float64
    assert net(torch.zeros(2, 64, dtype=torch.float64)).shape == (2, 10)


def test_labkit_never_imports_the_solutions():
    root = Path(models.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "import solutions" not in text and "from solutions" not in text, path
