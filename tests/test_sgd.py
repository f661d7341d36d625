"""Chapter 1 references: the step, mini-batches, runs, and the closed form on quadratics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from solutions.sgd import (
    gd_quadratic_closed_form,
    gradient_descent,
    max_stable_learning_rate,
    minibatches,
    optimal_learning_rate,
    sgd_step,
    train_softmax_regression,
)

HYPOTHESIS = settings(max_examples=30, deadline=None)
ELEMENTS = st.floats(-1e3, 1e3, allow_nan=False, width=32)


@HYPOTHESIS
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]),
       shape=array_shapes(min_dims=0, max_dims=3, max_side=5), lr=st.floats(0, 10))
def test_sgd_step_is_x_minus_lr_dx_and_leaves_inputs_alone(data, dtype, shape, lr):
    x = data.draw(arrays(dtype, shape, elements=ELEMENTS))
    dx = data.draw(arrays(dtype, shape, elements=ELEMENTS))
    x0, dx0 = x.copy(), dx.copy()
    out = sgd_step(x, dx, lr)
    expected = x0.astype(np.float64) - lr * dx0.astype(np.float64)
    eps = np.finfo(dtype).eps
    bound = 4 * eps * (np.abs(x0) + lr * np.abs(dx0.astype(np.float64))) + np.finfo(dtype).tiny
    assert np.all(np.abs(np.asarray(out, dtype=np.float64) - expected) <= bound)
    assert np.shape(out) == shape and out.dtype == dtype  # no silent float32 -> float64
    assert not np.shares_memory(out, x)
    np.testing.assert_array_equal(x, x0)   # x is not updated in place
    np.testing.assert_array_equal(dx, dx0)


def test_sgd_step_sign_and_scale_on_a_hand_example():
    out = sgd_step(np.array([1.0, -2.0]), np.array([0.5, -4.0]), 0.25)
    np.testing.assert_array_equal(out, [0.875, -1.0])  # downhill: against the gradient


@HYPOTHESIS
@given(n=st.integers(1, 80), batch_size=st.integers(1, 90), seed=st.integers(0, 2**32 - 1),
       drop_last=st.booleans())
def test_minibatches_are_one_permutation_split_into_batches(n, batch_size, seed, drop_last):
    batches = list(minibatches(n, batch_size, np.random.default_rng(seed), drop_last=drop_last))
    order = np.random.default_rng(seed).permutation(n)  # drawn once for the epoch
    kept = n - n % batch_size if drop_last else n
    assert len(batches) == (n // batch_size if drop_last else -(-n // batch_size))
    joined = np.concatenate(batches) if batches else np.array([], dtype=int)
    np.testing.assert_array_equal(joined, order[:kept])  # the rng's permutation, in order
    sizes = [len(b) for b in batches]
    assert sizes[:-1] == [batch_size] * (len(sizes) - 1)
    if drop_last:
        assert all(size == batch_size for size in sizes)
    elif batches:
        assert sizes[-1] == (n % batch_size or batch_size)
    if not drop_last:  # every index exactly once: sampling without replacement
        np.testing.assert_array_equal(np.sort(joined), np.arange(n))
    assert all(np.issubdtype(b.dtype, np.integer) for b in batches)


@HYPOTHESIS
@given(n=st.integers(1, 50), batch_size=st.integers(1, 60), drop_last=st.booleans())
def test_minibatches_without_shuffle_are_in_order(n, batch_size, drop_last):
    batches = list(minibatches(n, batch_size, np.random.default_rng(0), shuffle=False,
                               drop_last=drop_last))
    kept = n - n % batch_size if drop_last else n
    expected = [np.arange(start, min(start + batch_size, kept))
                for start in range(0, kept, batch_size)]
    assert len(batches) == len(expected)
    for got, want in zip(batches, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_minibatches_small_examples():
    rng = np.random.default_rng(0)
    assert [b.tolist() for b in minibatches(5, 2, rng, shuffle=False)] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in minibatches(5, 2, rng, shuffle=False, drop_last=True)] == \
        [[0, 1], [2, 3]]
    assert [b.tolist() for b in minibatches(3, 5, rng, shuffle=False)] == [[0, 1, 2]]
    assert list(minibatches(3, 5, rng, shuffle=False, drop_last=True)) == []
    assert [len(b) for b in minibatches(7, 1, rng)] == [1] * 7  # classic SGD
    assert [len(b) for b in minibatches(7, 7, rng)] == [7]      # full batch


def test_minibatches_are_deterministic_per_seed_and_fresh_each_epoch():
    def epoch(rng):
        return np.concatenate(list(minibatches(40, 8, rng)))

    np.testing.assert_array_equal(epoch(np.random.default_rng(3)),
                                  epoch(np.random.default_rng(3)))
    assert not np.array_equal(epoch(np.random.default_rng(3)), epoch(np.random.default_rng(4)))
    rng = np.random.default_rng(3)
    first, second = epoch(rng), epoch(rng)  # one generator, two epochs: a new permutation
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(np.sort(second), np.arange(40))
    shuffled = epoch(np.random.default_rng(3))
    assert not np.array_equal(shuffled, np.arange(40))  # shuffle=True really shuffles


@pytest.mark.parametrize(("n", "batch_size", "message"), [
    (0, 2, "n must be positive, got 0"), (-3, 2, "n must be positive, got -3"),
    (5, 0, "batch_size must be positive, got 0"), (5, -1, "batch_size must be positive, got -1"),
])
def test_minibatches_refuse_bad_sizes(n, batch_size, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        list(minibatches(n, batch_size, np.random.default_rng(0)))


def _spd(rng, d, low=0.1, high=5.0):
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    A = Q @ np.diag(rng.uniform(low, high, d)) @ Q.T
    return (A + A.T) / 2


@pytest.mark.parametrize("seed", range(8))
def test_gradient_descent_equals_the_closed_form(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 7))
    A, b, x0 = _spd(rng, d), rng.standard_normal(d), rng.standard_normal(d)
    lr = float(rng.uniform(0.01, 0.99)) * max_stable_learning_rate(A)
    x0_copy = x0.copy()
    path = gradient_descent(lambda x: A @ x - b, x0, lr, 200)
    assert path.shape == (201, d)
    np.testing.assert_array_equal(x0, x0_copy)
    for t in range(201):
        np.testing.assert_allclose(path[t], gd_quadratic_closed_form(A, b, x0, lr, t),
                                   rtol=1e-8, atol=1e-10)


def test_closed_form_on_a_hand_example():
    # f = ½·2x² − 2x: x* = 1, error multiplied by (1 − lr·2) = 0.5 per step
    for t in range(5):
        np.testing.assert_allclose(
            gd_quadratic_closed_form(np.array([[2.0]]), np.array([2.0]), np.array([3.0]), 0.25,
                                     t), [1 + 2 * 0.5**t])


def test_gradient_descent_takes_integer_starts_and_calls_the_gradient_at_each_iterate():
    seen = []

    def grad(x):
        seen.append(x.copy())
        return 2 * x

    path = gradient_descent(grad, np.array([1, -2]), 0.25, 3)
    assert path.dtype == np.float64
    np.testing.assert_allclose(path, [[1, -2], [0.5, -1], [0.25, -0.5], [0.125, -0.25]])
    np.testing.assert_allclose(np.array(seen), path[:-1])


@pytest.mark.parametrize("seed", range(3))
def test_stability_limit_separates_convergence_from_divergence(seed):
    A = _spd(np.random.default_rng(seed), 4, 0.5, 5.0)
    limit = max_stable_learning_rate(A)
    np.testing.assert_allclose(limit, 2 / np.linalg.eigvalsh(A).max(), rtol=1e-12)
    x0 = np.ones(4)
    below = gradient_descent(lambda x: A @ x, x0, 0.98 * limit, 2000)
    above = gradient_descent(lambda x: A @ x, x0, 1.02 * limit, 2000)
    assert np.linalg.norm(below[-1]) < 1e-6 * np.linalg.norm(x0)
    assert np.linalg.norm(above[-1]) > 1e6 * np.linalg.norm(x0)


def test_optimal_learning_rate_formula_and_optimality():
    A = np.diag([0.5, 2.0, 8.0])
    assert optimal_learning_rate(A) == pytest.approx(2 / 8.5, rel=1e-12)
    assert max_stable_learning_rate(A) == pytest.approx(0.25, rel=1e-12)
    rng = np.random.default_rng(1)
    B = _spd(rng, 5)
    eigenvalues = np.linalg.eigvalsh(B)
    lr = optimal_learning_rate(B)
    assert lr == pytest.approx(2 / (eigenvalues.min() + eigenvalues.max()), rel=1e-12)

    def worst_contraction(rate):
        return np.abs(1 - rate * eigenvalues).max()

    kappa = eigenvalues.max() / eigenvalues.min()
    assert worst_contraction(lr) == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-9)
    for other in (0.9 * lr, 0.99 * lr, 1.01 * lr, 1.1 * lr):
        assert worst_contraction(other) > worst_contraction(lr)


def test_train_softmax_regression_decreases_and_depends_on_the_seed():
    from labkit.data import digits

    split = digits(seed=0)
    X, y = split.X_train[:200], split.y_train[:200]
    a = train_softmax_regression(X, y, 20, 0.1, 3, seed=0)
    b = train_softmax_regression(X, y, 20, 0.1, 3, seed=1)
    assert a.shape == (3,) and np.all(np.diff(a) < 0) and a[0] < np.log(10)
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, train_softmax_regression(X, y, 20, 0.1, 3, seed=0))
    full_batch = train_softmax_regression(X, y, 200, 0.1, 2, seed=0)
    assert full_batch[0] < np.log(10) and full_batch[0] > a[0]  # 1 step vs 10 steps per epoch
