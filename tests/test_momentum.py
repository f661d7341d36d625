"""Chapter 2 references: momentum, both Nesterov forms, and how they map onto PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from labkit.functions import ROSENBROCK, quadratic
from solutions.gradient_descent import gradient_descent, optimal_learning_rate, sgd_step
from solutions.momentum import (
    momentum_step,
    nesterov_lookahead_step,
    nesterov_step,
    optimal_momentum,
    run_momentum,
)

FLOATS = st.floats(-100, 100, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(data=st.data(), shape=array_shapes(max_dims=3, max_side=4), lr=st.floats(0, 1),
       mu=st.floats(0, 0.999))
def test_momentum_step_follows_the_cs231n_convention_without_mutation(data, shape, lr, mu):
    x, v, dx = (data.draw(arrays(np.float64, shape, elements=FLOATS)) for _ in range(3))
    copies = [a.copy() for a in (x, v, dx)]
    x_new, v_new = momentum_step(x, v, dx, lr, mu)
    np.testing.assert_allclose(v_new, mu * copies[1] - lr * copies[2])
    np.testing.assert_allclose(x_new, copies[0] + v_new)
    for original, copy in zip((x, v, dx), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), lr=st.floats(1e-3, 1))
def test_zero_momentum_is_gradient_descent(data, lr):
    x, dx = (data.draw(arrays(np.float64, (3,), elements=FLOATS)) for _ in range(2))
    x_new, _ = momentum_step(x, np.zeros(3), dx, lr, 0.0)
    np.testing.assert_allclose(x_new, sgd_step(x, dx, lr))


@pytest.mark.parametrize("mu", [0.5, 0.9, 0.99])
def test_constant_gradient_velocity_tends_to_lr_g_over_one_minus_mu(mu):
    v, g = np.zeros(2), np.array([1.0, -2.0])
    for _ in range(5000):
        _, v = momentum_step(np.zeros(2), v, g, 0.1, mu)
    np.testing.assert_allclose(v, -0.1 * g / (1 - mu), rtol=1e-6)


def _random_quadratic(seed, d=4):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return quadratic(Q @ np.diag(rng.uniform(0.5, 5, d)) @ Q.T, rng.standard_normal(d)), rng


@pytest.mark.parametrize("seed", range(4))
def test_lookahead_and_change_of_variable_forms_give_the_same_iterates(seed):
    surface, rng = _random_quadratic(seed)
    cases = [(surface, rng.standard_normal(4), 0.05, 0.9),
             (ROSENBROCK, ROSENBROCK.start, 1e-3, 0.9)]
    for surf, x0, lr, mu in cases:
        x, v = x0.copy(), np.zeros_like(x0)
        xt, vt = x0.copy(), np.zeros_like(x0)
        for _ in range(150):
            x, v = nesterov_lookahead_step(x, v, surf.grad, lr, mu)
            xt, vt = nesterov_step(xt, vt, surf.grad(xt), lr, mu)
            np.testing.assert_allclose(xt, x + mu * v, rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(vt, v, rtol=1e-10, atol=1e-12)


def _torch_iterates(surface, x0, lr_at, mu, nesterov, steps):
    A = torch.tensor(surface.hessian(None))
    b = A @ torch.tensor(surface.minimum)  # the linear term: ∇f = A x − b
    x = torch.tensor(x0, requires_grad=True)
    opt = torch.optim.SGD([x], lr=lr_at(0), momentum=mu, nesterov=nesterov)
    path = [x.detach().numpy().copy()]
    for t in range(steps):
        opt.param_groups[0]["lr"] = lr_at(t)
        opt.zero_grad()
        (0.5 * x @ A @ x - b @ x).backward()
        opt.step()
        path.append(x.detach().numpy().copy())
    return np.array(path)


def _book_iterates(surface, x0, lr_at, mu, nesterov, steps):
    step = nesterov_step if nesterov else momentum_step
    x, v, path = x0.copy(), np.zeros_like(x0), [x0.copy()]
    for t in range(steps):
        x, v = step(x, v, surface.grad(x), lr_at(t), mu)
        path.append(x)
    return np.array(path)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_book_convention_equals_pytorch_with_a_constant_learning_rate(nesterov, seed):
    surface, rng = _random_quadratic(seed)
    x0 = rng.standard_normal(4)
    book = run_momentum(surface.grad, x0, 0.05, 0.9, 150, nesterov=nesterov)
    torch_path = _torch_iterates(surface, x0, lambda t: 0.05, 0.9, nesterov, 150)
    np.testing.assert_allclose(book, torch_path, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("nesterov", [False, True])
def test_book_convention_and_pytorch_differ_under_a_schedule(nesterov):
    """PyTorch multiplies its buffer of past *gradients* by the current rate; the book's
    velocity holds past *steps* at their own rates. Equal until the rate first changes."""
    surface, rng = _random_quadratic(7)
    x0 = rng.standard_normal(4)

    def halving(t):
        return 0.05 * 0.5 ** (t // 20)

    book = _book_iterates(surface, x0, halving, 0.9, nesterov, 100)
    torch_path = _torch_iterates(surface, x0, halving, 0.9, nesterov, 100)
    np.testing.assert_allclose(book[:21], torch_path[:21], rtol=1e-6, atol=1e-10)
    assert np.abs(book[22:] - torch_path[22:]).max() > 1e-3


def test_run_momentum_carries_the_velocity():
    surface, rng = _random_quadratic(1)
    x0 = rng.standard_normal(4)
    with_momentum = run_momentum(surface.grad, x0, 0.05, 0.9, 30)
    plain = gradient_descent(surface.grad, x0, 0.05, 30)
    assert with_momentum.shape == (31, 4)
    np.testing.assert_allclose(with_momentum[1], plain[1])  # v0 = 0: the first step agrees
    assert np.abs(with_momentum[5] - plain[5]).max() > 1e-3


def test_optimal_momentum_formula_and_speed_up():
    A = np.diag([1.0, 100.0])
    lr, mu = optimal_momentum(A)
    assert mu == pytest.approx(((10 - 1) / (10 + 1)) ** 2)
    assert lr == pytest.approx(4 / (10 + 1) ** 2)
    surface = quadratic(A)
    x0 = np.array([1.0, 1.0])
    heavy_ball = run_momentum(surface.grad, x0, lr, mu, 150)
    gd = gradient_descent(surface.grad, x0, optimal_learning_rate(A), 150)
    assert np.linalg.norm(heavy_ball[-1]) < 1e-6 < np.linalg.norm(gd[-1])
