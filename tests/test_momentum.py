"""Chapter 2 references: momentum, both Nesterov forms, and how they map onto PyTorch.

The book's convention (CS231n) keeps a velocity ``v`` in units of a *step*:
``v ← mu·v − lr·dx; x ← x + v``. PyTorch keeps a buffer of *gradients*: ``b ← mu·b + g;
x ← x − lr·b``. With a constant ``lr`` they are the same method with ``v = −lr·b``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from labkit.functions import ROSENBROCK, quadratic
from solutions.momentum import (
    momentum_step,
    nesterov_lookahead_step,
    nesterov_step,
    optimal_momentum,
    run_momentum,
    steps_to_tolerance,
)
from solutions.sgd import gradient_descent, optimal_learning_rate, sgd_step

FLOATS = dict(min_value=-100, max_value=100, allow_nan=False, allow_infinity=False)
DTYPES = st.sampled_from([np.float32, np.float64])
HYPOTHESIS = settings(max_examples=30, deadline=None)


def _arrays(data, dtype, shape, count):
    return [data.draw(arrays(dtype, shape, elements=st.floats(**FLOATS, width=32)))
            for _ in range(count)]


def _close(actual, expected, dtype, *terms):
    """``actual == expected`` up to a few rounding errors of ``dtype`` on the summed terms."""
    eps = np.finfo(dtype).eps
    scale = sum(np.abs(np.asarray(t, dtype=np.float64)) for t in terms)
    bound = 8 * eps * scale + np.finfo(dtype).tiny
    assert np.all(np.abs(actual.astype(np.float64) - expected) <= bound)


@HYPOTHESIS
@given(data=st.data(), dtype=DTYPES, shape=array_shapes(min_dims=0, max_dims=3, max_side=4),
       lr=st.floats(0, 1), mu=st.floats(0, 0.999))
def test_momentum_step_follows_the_cs231n_convention_without_mutation(data, dtype, shape, lr,
                                                                      mu):
    x, v, dx = _arrays(data, dtype, shape, 3)
    copies = [a.copy() for a in (x, v, dx)]
    x_new, v_new = momentum_step(x, v, dx, lr, mu)
    x64, v64, dx64 = (a.astype(np.float64) for a in copies)
    expected_v = mu * v64 - lr * dx64  # v ← mu·v − lr·dx  (not v ← mu·v + dx, not lr·v)
    _close(v_new, expected_v, dtype, mu * v64, lr * dx64)
    _close(x_new, x64 + v_new.astype(np.float64), dtype, x64, v_new)  # x ← x + v (the new v)
    assert x_new.dtype == dtype and v_new.dtype == dtype and x_new.shape == np.shape(x)
    for original, copy in zip((x, v, dx), copies, strict=True):
        np.testing.assert_array_equal(original, copy)  # nothing mutated in place
    assert not np.shares_memory(x_new, x) and not np.shares_memory(v_new, v)


@HYPOTHESIS
@given(data=st.data(), dtype=DTYPES, shape=array_shapes(max_dims=3, max_side=4),
       lr=st.floats(0, 1))
def test_zero_momentum_is_plain_gradient_descent(data, dtype, shape, lr):
    x, v, dx = _arrays(data, dtype, shape, 3)
    x_new, v_new = momentum_step(x, v, dx, lr, 0.0)  # any old velocity is forgotten
    np.testing.assert_array_equal(x_new, sgd_step(x, dx, lr))
    np.testing.assert_array_equal(v_new, -lr * dx)


@HYPOTHESIS
@given(data=st.data(), shape=array_shapes(max_dims=2, max_side=4), lr=st.floats(1e-3, 1),
       mu=st.floats(0, 0.95))
def test_velocity_under_a_constant_gradient_is_a_geometric_series(data, shape, lr, mu):
    """``v_t = −lr·g·(1 − mu^t)/(1 − mu)`` → ``−lr·g/(1 − mu)``: a 1/(1 − mu)-fold step."""
    (g,) = _arrays(data, np.float64, shape, 1)
    x, v = np.zeros(shape), np.zeros(shape)
    total = np.zeros(shape)
    for t in range(1, 401):
        x, v = momentum_step(x, v, g, lr, mu)
        total += v
        if t in (1, 2, 10):
            np.testing.assert_allclose(v, -lr * g * (1 - mu**t) / (1 - mu), rtol=1e-12,
                                       atol=1e-12)
    np.testing.assert_allclose(v, -lr * g / (1 - mu), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(x, total, rtol=1e-10, atol=1e-9)  # x moves by the velocity


@HYPOTHESIS
@given(data=st.data(), dtype=DTYPES, shape=array_shapes(max_dims=2, max_side=4),
       lr=st.floats(0, 1), mu=st.floats(0, 0.99))
def test_nesterov_forms_are_pure_and_look_ahead_at_x_plus_mu_v(data, dtype, shape, lr, mu):
    x, v, dx = _arrays(data, dtype, shape, 3)
    copies = [a.copy() for a in (x, v, dx)]
    seen = []

    def grad_fn(point):
        seen.append(point.copy())
        return dx

    x1, v1 = nesterov_lookahead_step(x, v, grad_fn, lr, mu)
    assert len(seen) == 1  # one gradient, at the look-ahead point
    _close(seen[0], x.astype(np.float64) + mu * v.astype(np.float64), dtype, x, mu * v)
    _close(v1, mu * v.astype(np.float64) - lr * dx.astype(np.float64), dtype, mu * v, lr * dx)
    x2, v2 = nesterov_step(x, v, dx, lr, mu)
    np.testing.assert_array_equal(v2, v1)  # same velocity update, different position update
    expected = x.astype(np.float64) - mu * v.astype(np.float64) + (1 + mu) * v2
    _close(x2, expected, dtype, x, mu * v, (1 + mu) * v2)
    for original, copy in zip((x, v, dx), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


def _random_quadratic(seed, d):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    A = Q @ np.diag(rng.uniform(0.5, 5, d)) @ Q.T
    return quadratic((A + A.T) / 2, rng.standard_normal(d)), rng


def _assert_nesterov_forms_agree(surface, x0, lr, mu, steps):
    x, v = x0.copy(), np.zeros_like(x0)      # look-ahead form: parameters x
    xt, vt = x0.copy(), np.zeros_like(x0)    # change of variable: parameters x̃ = x + mu·v
    for _ in range(steps):
        x, v = nesterov_lookahead_step(x, v, surface.grad, lr, mu)
        xt, vt = nesterov_step(xt, vt, surface.grad(xt), lr, mu)
        np.testing.assert_allclose(xt, x + mu * v, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(vt, v, rtol=1e-10, atol=1e-10)
    return x


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("mu", [0.5, 0.9, 0.99])
def test_lookahead_and_change_of_variable_forms_agree_on_random_quadratics(seed, mu):
    surface, rng = _random_quadratic(seed, d=2 + seed)
    x0 = rng.standard_normal(2 + seed)
    x = _assert_nesterov_forms_agree(surface, x0, 0.05, mu, 150)
    assert np.linalg.norm(x - surface.minimum) < np.linalg.norm(x0 - surface.minimum)


@pytest.mark.parametrize("mu", [0.5, 0.9])
def test_lookahead_and_change_of_variable_forms_agree_on_rosenbrock(mu):
    x0 = ROSENBROCK.start.copy()
    x = _assert_nesterov_forms_agree(ROSENBROCK, x0, 2e-4, mu, 300)
    assert ROSENBROCK.value(x) < ROSENBROCK.value(x0)


def _torch_run(loss_fn, x0, lr_at, mu, nesterov, steps):
    """Iterates of ``torch.optim.SGD`` and its momentum buffers, with ``lr`` set per step."""
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([x], lr=lr_at(0), momentum=mu, nesterov=nesterov)
    path, buffers = [x.detach().numpy().copy()], [np.zeros_like(x0)]
    for t in range(steps):
        opt.param_groups[0]["lr"] = lr_at(t)
        opt.zero_grad()
        loss_fn(x).backward()
        opt.step()
        path.append(x.detach().numpy().copy())
        buffers.append(opt.state[x]["momentum_buffer"].numpy().copy())
    return np.array(path), np.array(buffers)


def _torch_quadratic(surface):
    A = torch.tensor(surface.hessian(None))
    b = A @ torch.tensor(surface.minimum)  # the linear term: ∇f = A x − b
    return lambda x: 0.5 * x @ A @ x - b @ x


def _torch_rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _book_run(grad_fn, x0, lr_at, mu, nesterov, steps, rescale=False):
    """The book's iterates and velocities; with ``rescale`` the velocity is multiplied by
    ``lr_new / lr_old`` whenever the rate changes (which turns it into PyTorch's method)."""
    step = nesterov_step if nesterov else momentum_step
    x, v = np.array(x0, dtype=float), np.zeros(len(x0))
    path, velocities = [x], [v]
    for t in range(steps):
        if rescale and t > 0:
            v = v * lr_at(t) / lr_at(t - 1)
        x, v = step(x, v, grad_fn(x), lr_at(t), mu)
        path.append(x)
        velocities.append(v)
    return np.array(path), np.array(velocities)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("mu", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("seed", range(2))
def test_run_momentum_equals_torch_sgd_with_a_constant_learning_rate(nesterov, mu, seed):
    surface, rng = _random_quadratic(seed, d=3 + seed)
    x0 = rng.standard_normal(3 + seed)
    lr = float(rng.uniform(0.01, 0.1))
    book = run_momentum(surface.grad, x0, lr, mu, 150, nesterov=nesterov)
    path, buffers = _torch_run(_torch_quadratic(surface), x0, lambda t: lr, mu, nesterov, 150)
    assert book.shape == (151, len(x0))
    np.testing.assert_allclose(book, path, rtol=1e-6, atol=1e-10)
    _, velocities = _book_run(surface.grad, x0, lambda t: lr, mu, nesterov, 150)
    np.testing.assert_allclose(velocities, -lr * buffers, rtol=1e-6, atol=1e-10)  # v = −lr·b


@pytest.mark.parametrize("nesterov", [False, True])
def test_run_momentum_equals_torch_sgd_on_rosenbrock(nesterov):
    x0 = ROSENBROCK.start.copy()
    book = run_momentum(ROSENBROCK.grad, x0, 2e-4, 0.9, 200, nesterov=nesterov)
    path, _ = _torch_run(_torch_rosenbrock, x0, lambda t: 2e-4, 0.9, nesterov, 200)
    np.testing.assert_allclose(book, path, rtol=1e-6, atol=1e-10)
    np.testing.assert_array_equal(x0, ROSENBROCK.start)  # x0 is not mutated


@pytest.mark.parametrize("nesterov", [False, True])
def test_book_convention_and_pytorch_differ_under_a_schedule(nesterov):
    """With a schedule the two conventions are *different methods*, not a change of units.

    PyTorch's buffer ``b`` sums past *gradients*, and every step multiplies the whole of it by
    the *current* rate (``x ← x − lr_t·b_t``): when ``lr`` halves, the momentum carried from
    before the change is halved at once. The book's velocity ``v`` sums past *steps*, each
    already scaled by the rate of its own time; halving ``lr`` only shrinks the new gradient's
    contribution and the old velocity decays at ``mu`` as before. The iterates agree until
    the first change of rate and differ after it; rescaling the book's velocity by
    ``lr_new/lr_old`` at each change recovers PyTorch exactly.
    """
    surface, rng = _random_quadratic(7, d=4)
    x0 = rng.standard_normal(4)
    scheduled = []  # the rates StepLR produces, applied to both conventions
    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.05)
    scheduler = torch.optim.lr_scheduler.StepLR(probe, step_size=20, gamma=0.5)
    for _ in range(120):
        scheduled.append(probe.param_groups[0]["lr"])
        probe.step()
        scheduler.step()

    def lr_at(t):
        return scheduled[t]

    book, _ = _book_run(surface.grad, x0, lr_at, 0.9, nesterov, 120)
    path, _ = _torch_run(_torch_quadratic(surface), x0, lr_at, 0.9, nesterov, 120)
    np.testing.assert_allclose(book[:21], path[:21], rtol=1e-6, atol=1e-10)  # before change
    assert np.abs(book[21] - path[21]).max() > 1e-4  # the first step at the new rate differs
    assert np.abs(book[22:] - path[22:]).max() > 1e-3
    rescaled, _ = _book_run(surface.grad, x0, lr_at, 0.9, nesterov, 120, rescale=True)
    np.testing.assert_allclose(rescaled, path, rtol=1e-6, atol=1e-10)


def test_run_momentum_carries_the_velocity_and_returns_floats():
    surface, rng = _random_quadratic(1, d=4)
    x0 = rng.standard_normal(4)
    with_momentum = run_momentum(surface.grad, x0, 0.05, 0.9, 30)
    plain = gradient_descent(surface.grad, x0, 0.05, 30)
    assert with_momentum.shape == (31, 4)
    np.testing.assert_array_equal(with_momentum[0], x0)
    np.testing.assert_allclose(with_momentum[1], plain[1])  # v0 = 0: the first step agrees
    assert np.abs(with_momentum[5] - plain[5]).max() > 1e-3  # then the velocity builds up
    integer_start = run_momentum(lambda x: x - 0.25, np.array([1, 2]), 0.5, 0.5, 3)
    assert integer_start.dtype == np.float64 and integer_start[1, 0] == pytest.approx(0.625)


@pytest.mark.parametrize("seed", range(3))
def test_optimal_momentum_matches_polyaks_formula(seed):
    rng = np.random.default_rng(seed)
    d = 3 + seed
    eigenvalues = np.sort(rng.uniform(0.1, 50.0, d))
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    A = Q @ np.diag(eigenvalues) @ Q.T
    lo, hi = eigenvalues[0], eigenvalues[-1]
    kappa = hi / lo
    lr, mu = optimal_momentum((A + A.T) / 2)
    assert mu == pytest.approx(((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2, rel=1e-9)
    assert lr == pytest.approx(4 / (np.sqrt(hi) + np.sqrt(lo)) ** 2, rel=1e-9)
    # at these values both extreme eigen-directions contract at the same rate sqrt(mu)
    for lam in (lo, hi):
        companion = np.array([[1 + mu - lr * lam, -mu], [1.0, 0.0]])
        rate = np.abs(np.linalg.eigvals(companion)).max()
        assert rate == pytest.approx(np.sqrt(mu), rel=1e-6)


def test_tuned_heavy_ball_beats_tuned_gradient_descent_on_an_ill_conditioned_quadratic():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    A = Q @ np.diag([1.0, 3.0, 10.0, 40.0, 100.0]) @ Q.T
    A = (A + A.T) / 2
    surface = quadratic(A, rng.standard_normal(5))
    x0 = surface.minimum + rng.standard_normal(5)
    lr, mu = optimal_momentum(A)
    heavy_ball = steps_to_tolerance(surface.grad, x0, surface.minimum, lr, mu, 1e-8, 5000)
    gd = steps_to_tolerance(surface.grad, x0, surface.minimum, optimal_learning_rate(A), 0.0,
                            1e-8, 5000)
    assert heavy_ball < 200 < 700 < gd < 5000  # rates 0.82 vs 0.98 per step (κ = 100)
    path = run_momentum(surface.grad, x0, lr, mu, 150)
    gd_path = gradient_descent(surface.grad, x0, optimal_learning_rate(A), 150)
    assert np.linalg.norm(path[-1] - surface.minimum) < 1e-6 < \
        np.linalg.norm(gd_path[-1] - surface.minimum)


def test_steps_to_tolerance_counts_from_zero_and_caps_at_max_steps():
    surface, rng = _random_quadratic(2, d=3)
    x_star = surface.minimum
    assert steps_to_tolerance(surface.grad, x_star + 1e-9, x_star, 0.05, 0.9, 1e-6, 100) == 0
    assert steps_to_tolerance(surface.grad, x_star + 1.0, x_star, 1e-6, 0.0, 1e-3, 50) == 50
    x0 = x_star + rng.standard_normal(3)
    t = steps_to_tolerance(surface.grad, x0, x_star, 0.05, 0.9, 1e-4, 1000)
    errors = np.linalg.norm(run_momentum(surface.grad, x0, 0.05, 0.9, t) - x_star, axis=1)
    assert errors[-1] < 1e-4 and np.all(errors[:-1] >= 1e-4)  # the *first* time below tol
