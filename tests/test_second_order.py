"""Chapter 3 references: critical points, Newton, saddle-free Newton, L-BFGS vs torch LBFGS."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.functions import BEALE, ROSENBROCK, SADDLE, quadratic
from solutions.second_order import (
    classify_critical_point,
    lbfgs,
    newton_method,
    newton_step,
    saddle_free_newton_step,
    two_loop_direction,
)


def _rotated(eigenvalues, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    return Q @ np.diag(eigenvalues) @ Q.T


# -- classification ------------------------------------------------------------------------
@given(st.lists(st.floats(0.01, 100), min_size=1, max_size=6),
       st.lists(st.booleans(), min_size=6, max_size=6), st.integers(0, 1000))
@settings(max_examples=200, deadline=None)
def test_classification_follows_the_eigenvalue_signs(magnitudes, negative, seed):
    signs = np.where(negative[:len(magnitudes)], -1.0, 1.0)
    H = _rotated(signs * np.array(magnitudes), seed)
    expected = ("saddle" if len(set(signs)) == 2 else
                "minimum" if signs[0] > 0 else "maximum")
    assert classify_critical_point(H) == expected


def test_classification_of_the_book_surfaces():
    assert classify_critical_point(SADDLE.hessian(np.zeros(2))) == "saddle"
    assert classify_critical_point(ROSENBROCK.hessian(np.ones(2))) == "minimum"
    assert classify_critical_point(BEALE.hessian(np.array([3.0, 0.5]))) == "minimum"
    assert classify_critical_point(-np.eye(3)) == "maximum"
    # x⁴ + y²: a minimum the second-order test cannot see; x³ − y²-like: a zero and a negative
    assert classify_critical_point(np.diag([0.0, 2.0])) == "degenerate"
    assert classify_critical_point(np.diag([0.0, -2.0])) == "degenerate"
    assert classify_critical_point(np.diag([1e-12, 5.0])) == "degenerate"  # zero up to tol
    assert classify_critical_point(np.diag([0.0, 2.0, -1.0])) == "saddle"
    assert classify_critical_point(np.array([[1.0, 3.0], [3.0, 1.0]])) == "saddle"  # off-diag


# -- Newton --------------------------------------------------------------------------------
@given(st.integers(1, 6), st.integers(0, 10_000))
@settings(max_examples=100, deadline=None)
def test_one_newton_step_solves_a_quadratic(d, seed):
    rng = np.random.default_rng(seed)
    eigenvalues = rng.uniform(0.1, 10, d) * rng.choice([-1, 1], d)  # any non-singular H
    A, b = _rotated(eigenvalues, seed), rng.standard_normal(d)
    surface, x0 = quadratic(A, b), rng.standard_normal(d)
    x1 = newton_step(x0, surface.grad(x0), surface.hessian(x0))
    np.testing.assert_allclose(A @ x1, b, atol=1e-8 * (1 + np.abs(b).max()))


def test_newton_converges_to_the_saddle_and_saddle_free_newton_escapes():
    x = np.array([0.5, 0.2])
    path = newton_method(SADDLE.grad, SADDLE.hessian, x, 1)
    np.testing.assert_allclose(path[-1], 0.0, atol=1e-15)  # straight onto the saddle
    y = x.copy()
    for _ in range(5):
        y = saddle_free_newton_step(y, SADDLE.grad(y), SADDLE.hessian(y), lr=0.5)
    assert abs(y[1]) > 1.0 and abs(y[0]) < 0.1  # away along the negative-curvature axis


def test_damping_and_step_size():
    A = np.diag([1.0, 10.0])
    g, x = np.array([1.0, 1.0]), np.zeros(2)
    np.testing.assert_allclose(newton_step(x, g, A, lr=0.5), -0.5 * np.linalg.solve(A, g))
    # very strong damping: a gradient step with learning rate 1/λ
    np.testing.assert_allclose(newton_step(x, g, A, damping=1e6), -g / 1e6, rtol=1e-4)
    path = newton_method(ROSENBROCK.grad, ROSENBROCK.hessian, ROSENBROCK.start, 6)
    assert path.shape == (7, 2)
    np.testing.assert_allclose(path[-1], [1.0, 1.0], atol=1e-8)  # quadratic convergence


# -- L-BFGS --------------------------------------------------------------------------------
def _bfgs_inverse(steps, changes, gamma, d) -> np.ndarray:
    """The dense BFGS inverse-Hessian update of γI (Nocedal & Wright, eq. 6.17)."""
    H = gamma * np.eye(d)
    for s, y in zip(steps, changes, strict=True):
        rho = 1.0 / (y @ s)
        V = np.eye(d) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


@given(st.integers(1, 7), st.integers(0, 5), st.integers(0, 10_000))
@settings(max_examples=100, deadline=None)
def test_two_loop_recursion_equals_the_dense_bfgs_update(d, pairs, seed):
    rng = np.random.default_rng(seed)
    A = _rotated(rng.uniform(0.5, 5, d), seed)
    steps = [rng.standard_normal(d) for _ in range(pairs)]
    changes = [A @ s for s in steps]  # curvature pairs of a convex quadratic: yᵀs > 0
    gamma, g = float(rng.uniform(0.1, 2)), rng.standard_normal(d)
    expected = -_bfgs_inverse(steps, changes, gamma, d) @ g
    np.testing.assert_allclose(two_loop_direction(g, steps, changes, gamma), expected,
                               rtol=1e-8, atol=1e-10)


def _torch_lbfgs(loss_and_grad, x0, **options):
    """torch.optim.LBFGS on the same problem, fed the very same gradients (so that only the
    two implementations' arithmetic can differ, even on chaotic runs)."""
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([x], **options)

    def closure():
        loss, grad = loss_and_grad(x.detach().numpy().copy())
        x.grad = torch.tensor(grad)
        return torch.tensor(loss)

    optimizer.step(closure)
    state = optimizer.state[x]
    return x.detach().numpy(), state["n_iter"], state["func_evals"]


def _problems(seed: int):
    rng = np.random.default_rng(seed)
    d = 10
    A = _rotated(rng.uniform(0.5, 50, d), seed)
    b = rng.standard_normal(d)
    X = rng.standard_normal((60, d))
    y = (X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(60) > 0).astype(float)

    def logistic_np(w):
        z = X @ w
        p = 1 / (1 + np.exp(-z))
        loss = np.mean(np.logaddexp(0, z) - y * z) + 0.05 * w @ w
        return loss, X.T @ (p - y) / len(y) + 0.1 * w

    return [
        ("quadratic", lambda x: (0.5 * x @ A @ x - b @ x, A @ x - b), rng.standard_normal(d)),
        ("logistic", logistic_np, rng.standard_normal(d)),
        ("rosenbrock", lambda x: (ROSENBROCK.value(x), ROSENBROCK.grad(x)), ROSENBROCK.start),
        ("beale", lambda x: (BEALE.value(x), BEALE.grad(x)), np.array([1.0, 1.0])),
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("options", [
    dict(lr=1.0, max_iter=120, history_size=100),
    dict(lr=0.5, max_iter=150, history_size=3),
    # no tolerances: runs on where rounding noise rules; 30 iterations keep both runs apart
    # by < 1e-11 (history 1 with lr 1 on Rosenbrock is chaotic: 1e-14 at 10 steps, 1e-2 at 80)
    dict(lr=1.0, max_iter=30, history_size=1, tolerance_change=0.0, tolerance_grad=0.0),
    dict(lr=0.3, max_iter=40, max_eval=25, history_size=10),
    dict(lr=0.05, max_iter=300, history_size=20, tolerance_change=1e-12),
])
def test_lbfgs_matches_torch(seed, options):
    for name, loss_and_grad, x0 in _problems(seed):
        ours = lbfgs(loss_and_grad, x0, **options)
        theirs, n_iter, evals = _torch_lbfgs(loss_and_grad, x0, **options)
        assert (ours.iterations, ours.evaluations) == (n_iter, evals), (name, ours.reason)
        np.testing.assert_allclose(ours.x, theirs, rtol=1e-7, atol=1e-9, err_msg=name)


def test_lbfgs_converges_and_says_why():
    _, loss_and_grad, x0 = _problems(0)[0]
    result = lbfgs(loss_and_grad, x0, max_iter=200, tolerance_grad=1e-9, tolerance_change=0.0)
    assert result.reason == "gradient below tolerance_grad"
    assert np.max(np.abs(loss_and_grad(result.x)[1])) <= 1e-9
    moved = result.iterations - (result.reason == "not a descent direction")
    assert len(result.path) == moved + 1
    np.testing.assert_array_equal(result.path[-1], result.x)
    few = lbfgs(loss_and_grad, x0, max_iter=3, max_eval=10)
    assert (few.iterations, few.reason, len(few.path)) == (3, "max_iter", 4)
    capped = lbfgs(loss_and_grad, x0, max_iter=3)  # max_eval defaults to max_iter·5//4 = 3
    assert (capped.iterations, capped.reason) == (2, "max_eval")
    at_minimum = lbfgs(lambda x: (float(x @ x), 2 * x), np.zeros(3))
    assert at_minimum.iterations == 0 and "tolerance_grad" in at_minimum.reason
