"""Chapter 1 references: the step, mini-batches, runs, and the closed form on quadratics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from solutions.gradient_descent import (
    gd_quadratic_closed_form,
    gradient_descent,
    max_stable_learning_rate,
    minibatches,
    optimal_learning_rate,
    sgd_step,
    train_softmax_regression,
)

FLOATS = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(data=st.data(), shape=array_shapes(max_dims=3, max_side=5), lr=st.floats(0, 10))
def test_sgd_step_is_x_minus_lr_dx_and_leaves_inputs_alone(data, shape, lr):
    x = data.draw(arrays(np.float64, shape, elements=FLOATS))
    dx = data.draw(arrays(np.float64, shape, elements=FLOATS))
    x0, dx0 = x.copy(), dx.copy()
    out = sgd_step(x, dx, lr)
    np.testing.assert_allclose(out, x0 - lr * dx0)
    assert out is not x
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dx, dx0)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), seed=st.integers(0, 99),
       drop_last=st.booleans())
def test_minibatches_cover_each_example_once(n, batch_size, seed, drop_last):
    batches = list(minibatches(n, batch_size, np.random.default_rng(seed), drop_last=drop_last))
    order = np.random.default_rng(seed).permutation(n)
    kept = n - n % batch_size if drop_last else n
    joined = np.concatenate(batches) if batches else np.array([], dtype=int)
    np.testing.assert_array_equal(joined, order[:kept])  # the rng's permutation, in order
    assert all(len(b) == batch_size for b in batches[:-1])
    if drop_last:
        assert all(len(b) == batch_size for b in batches)


def test_minibatches_without_shuffle_and_errors():
    assert [b.tolist() for b in minibatches(5, 2, np.random.default_rng(0), shuffle=False)] == \
        [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="batch_size"):
        list(minibatches(5, 0, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="n must be positive"):
        list(minibatches(0, 2, np.random.default_rng(0)))


def _spd(rng, d):
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return Q @ np.diag(rng.uniform(0.1, 5.0, d)) @ Q.T


@pytest.mark.parametrize("seed", range(5))
def test_gradient_descent_equals_the_closed_form(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 6))
    A, b, x0 = _spd(rng, d), rng.standard_normal(d), rng.standard_normal(d)
    lr = float(rng.uniform(0.01, 0.95)) * max_stable_learning_rate(A)
    path = gradient_descent(lambda x: A @ x - b, x0, lr, 200)
    assert path.shape == (201, d)
    for t in (0, 1, 7, 50, 200):
        np.testing.assert_allclose(path[t], gd_quadratic_closed_form(A, b, x0, lr, t),
                                   rtol=1e-8, atol=1e-10)


def test_stability_limit_separates_convergence_from_divergence():
    A = _spd(np.random.default_rng(3), 4)
    limit = max_stable_learning_rate(A)
    x0 = np.ones(4)
    below = gradient_descent(lambda x: A @ x, x0, 0.99 * limit, 3000)
    above = gradient_descent(lambda x: A @ x, x0, 1.01 * limit, 3000)
    assert np.linalg.norm(below[-1]) < 1e-3 * np.linalg.norm(x0)
    assert np.linalg.norm(above[-1]) > 1e3 * np.linalg.norm(x0)


def test_optimal_learning_rate_formula():
    A = np.diag([0.5, 2.0, 8.0])
    assert optimal_learning_rate(A) == pytest.approx(2 / 8.5)
    assert max_stable_learning_rate(A) == pytest.approx(0.25)


def test_train_softmax_regression_decreases_and_depends_on_the_seed():
    from labkit.data import digits

    split = digits(seed=0)
    X, y = split.X_train[:200], split.y_train[:200]
    a = train_softmax_regression(X, y, 20, 0.1, 3, seed=0)
    b = train_softmax_regression(X, y, 20, 0.1, 3, seed=1)
    assert a.shape == (3,) and np.all(np.diff(a) < 0) and a[0] < np.log(10)
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, train_softmax_regression(X, y, 20, 0.1, 3, seed=0))
