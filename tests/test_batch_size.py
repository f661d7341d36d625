"""solutions.batch_size: mini-batch gradients against torch autograd, the gradient-noise
formulas against exhaustive enumeration and against sampling, the log-log slope, the time
model's optimum, and the linear scaling rule with warm-up against torch.optim.lr_scheduler."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim import lr_scheduler as tls

from labkit.data import digits, linear_regression
from labkit.models import least_squares, softmax_regression
from solutions import batch_size as bs


def _problem(n: int = 200, d: int = 4, seed: int = 0):
    X, y, w_star = linear_regression(n=n, d=d, noise=0.5, seed=seed)
    return X, y, w_star + 1.0  # away from the minimum, so the full gradient is not 0


# -- per-example and mini-batch gradients ----------------------------------------------------
def _torch_per_example_ls(w, X, y):
    def loss(w_, x_, y_):
        return 0.5 * (x_ @ w_ - y_) ** 2
    return torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))(
        torch.tensor(w), torch.tensor(X), torch.tensor(y)).numpy()


def _torch_per_example_softmax(W, X, y):
    Xb = torch.tensor(np.hstack([X, np.ones((len(X), 1))]))

    def loss(W_, x_, y_):
        return torch.nn.functional.cross_entropy((x_ @ W_)[None], y_[None])
    return torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))(
        torch.tensor(W), Xb, torch.tensor(y)).numpy()


@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_least_squares_per_example_gradients_match_torch(n, d, seed):
    rng = np.random.default_rng(seed)
    X, y, w = rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal(d)
    ours = bs.per_example_gradients_least_squares(w, X, y)
    assert ours.shape == (n, d)
    np.testing.assert_allclose(ours, _torch_per_example_ls(w, X, y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.mean(axis=0), least_squares(w, X, y)[1], rtol=1e-12,
                               atol=1e-12)


@given(st.integers(1, 30), st.integers(1, 5), st.integers(2, 6), st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_softmax_per_example_gradients_match_torch(n, d, classes, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.integers(0, classes, n)
    W = 3 * rng.standard_normal((d + 1, classes))  # large logits: the shift must be right
    ours = bs.per_example_gradients_softmax(W, X, y)
    assert ours.shape == (n, d + 1, classes)
    np.testing.assert_allclose(ours, _torch_per_example_softmax(W, X, y), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(ours.mean(axis=0), softmax_regression(W, X, y)[1], rtol=1e-10,
                               atol=1e-12)


@given(st.integers(2, 50), st.integers(1, 5), st.integers(0, 10_000), st.booleans())
@settings(max_examples=40, deadline=None)
def test_minibatch_gradient_is_torch_gradient_of_the_batch_mean(n, d, seed, replace):
    """The mean over the batch, repeated indices counted twice: what autograd gives for the
    mean loss over X[indices]."""
    rng = np.random.default_rng(seed)
    X, y, w = rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal(d)
    idx = bs.sample_indices(rng, n, int(rng.integers(1, n + 1)), replace)
    wt = torch.tensor(w, requires_grad=True)
    (0.5 * ((torch.tensor(X[idx]) @ wt - torch.tensor(y[idx])) ** 2).mean()).backward()
    per_example = bs.per_example_gradients_least_squares(w, X, y)
    np.testing.assert_allclose(bs.minibatch_gradient(per_example, idx), wt.grad.numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bs.least_squares_minibatch_gradient(w, X, y, idx),
                               wt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_minibatch_gradient_does_not_grow_with_the_batch():
    """A sum would scale with B; the mean of B copies of one example is that example's."""
    X, y, w = _problem()
    per_example = bs.per_example_gradients_least_squares(w, X, y)
    for batch in (1, 10, 100):
        np.testing.assert_allclose(bs.minibatch_gradient(per_example, [3] * batch),
                                   per_example[3], rtol=1e-14)


def test_sample_indices():
    rng = np.random.default_rng(0)
    assert sorted(bs.sample_indices(rng, 10, 10)) == list(range(10))
    drawn = bs.sample_indices(np.random.default_rng(1), 5, 50, replace=True)
    assert len(drawn) == 50 and len(set(drawn)) <= 5
    np.testing.assert_array_equal(bs.sample_indices(np.random.default_rng(2), 30, 7),
                                  np.random.default_rng(2).choice(30, size=7, replace=False))
    with pytest.raises(ValueError, match="distinct"):
        bs.sample_indices(rng, 5, 6)
    with pytest.raises(ValueError, match="at least 1"):
        bs.sample_indices(rng, 5, 0)


# -- the exact noise formulas ----------------------------------------------------------------
def _enumerated(per_example, batch, replace):
    """E||ĝ_B − G||² and Cov(ĝ_B) over every equally likely batch (exhaustive)."""
    n = per_example.shape[0]
    flat = per_example.reshape(n, -1)
    full = flat.mean(axis=0)
    batches = (itertools.product(range(n), repeat=batch) if replace
               else itertools.combinations(range(n), batch))
    deviations = np.array([flat[list(b)].mean(axis=0) - full for b in batches])
    return np.mean(np.sum(deviations**2, axis=1)), deviations.T @ deviations / len(deviations)


@given(st.integers(1, 7), st.integers(1, 3), st.integers(0, 10_000), st.data())
@settings(max_examples=60, deadline=None)
def test_noise_formulas_equal_exhaustive_enumeration(n, d, seed, data):
    """σ²/B with replacement, σ²/B·(N−B)/(N−1) without: exact over all possible batches."""
    per_example = np.random.default_rng(seed).standard_normal((n, d)) * 3 + 1
    variance = bs.gradient_variance(per_example)
    np.testing.assert_allclose(variance, np.trace(bs.gradient_covariance(per_example)),
                               rtol=1e-12)
    batch = data.draw(st.integers(1, n))
    mse, cov = _enumerated(per_example, batch, replace=False)
    np.testing.assert_allclose(bs.minibatch_noise(variance, n, batch) ** 2, mse, rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(bs.minibatch_covariance(per_example, batch), cov, rtol=1e-10,
                               atol=1e-12)
    batch = data.draw(st.integers(1, 3))
    mse, cov = _enumerated(per_example, batch, replace=True)
    np.testing.assert_allclose(bs.minibatch_noise(variance, n, batch, replace=True) ** 2, mse,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bs.minibatch_covariance(per_example, batch, replace=True), cov,
                               rtol=1e-10, atol=1e-12)


def test_gradient_covariance_matches_numpy_population_covariance():
    per_example = np.random.default_rng(0).standard_normal((50, 2, 3))
    np.testing.assert_allclose(bs.gradient_covariance(per_example),
                               np.cov(per_example.reshape(50, 6), rowvar=False, bias=True),
                               rtol=1e-12)


def test_finite_population_correction():
    assert bs.finite_population_correction(100, 1) == 1.0
    assert bs.finite_population_correction(100, 100) == 0.0
    assert bs.finite_population_correction(101, 51) == 0.5
    assert bs.finite_population_correction(1, 1) == 1.0
    with pytest.raises(ValueError):
        bs.finite_population_correction(10, 11)


# -- sampling against the formulas (statistical, fixed seeds) --------------------------------
@pytest.mark.parametrize("batch", [1, 5, 20, 50, 80])
def test_empirical_noise_without_replacement_matches_the_exact_formula(batch):
    """4,000 draws estimate the noise to about 1.5 %; at B = 50 of N = 100 the correction
    lowers it by 29 %, so forgetting it fails this test."""
    X, y, w = _problem(n=100)
    per_example = bs.per_example_gradients_least_squares(w, X, y)
    variance = bs.gradient_variance(per_example)
    measured = bs.empirical_noise(per_example, batch, draws=4000, rng=batch)
    exact = bs.minibatch_noise(variance, 100, batch, replace=False)
    np.testing.assert_allclose(measured, exact, rtol=0.05)
    if batch >= 50:
        assert abs(measured / bs.minibatch_noise(variance, 100, batch, replace=True) - 1) > 0.25


@pytest.mark.parametrize("batch", [1, 5, 50, 100, 150])
def test_empirical_noise_with_replacement_is_sigma_over_root_b(batch):
    X, y, w = _problem(n=100)
    per_example = bs.per_example_gradients_least_squares(w, X, y)
    sigma = math.sqrt(bs.gradient_variance(per_example))
    measured = bs.empirical_noise(per_example, batch, draws=4000, rng=batch, replace=True)
    np.testing.assert_allclose(measured, sigma / math.sqrt(batch), rtol=0.05)


def test_the_whole_set_without_replacement_has_no_noise():
    X, y, w = _problem(n=64)
    per_example = bs.per_example_gradients_least_squares(w, X, y)
    assert bs.empirical_noise(per_example, 64, draws=20) < 1e-12
    assert bs.minibatch_noise(bs.gradient_variance(per_example), 64, 64) == 0.0


def test_empirical_noise_on_digits_softmax_regression():
    """The same law for a real model: per-example gradients of the digits classifier."""
    split = digits(seed=0)
    W = np.random.default_rng(0).standard_normal((65, 10)) * 0.05
    per_example = bs.per_example_gradients_softmax(W, split.X_train, split.y_train)
    n = len(split.y_train)
    variance = bs.gradient_variance(per_example)
    for batch in (4, 64, 600):
        measured = bs.empirical_noise(per_example, batch, draws=1500, rng=batch)
        np.testing.assert_allclose(measured, bs.minibatch_noise(variance, n, batch), rtol=0.05)


def test_loglog_slope_of_the_noise_is_minus_one_half():
    X, y, w = _problem(n=2000)
    per_example = bs.per_example_gradients_least_squares(w, X, y)
    batches = [1, 2, 4, 8, 16, 32, 64]
    with_replacement = [bs.empirical_noise(per_example, b, 2000, rng=b, replace=True)
                        for b in batches]
    assert abs(bs.loglog_slope(batches, with_replacement) + 0.5) < 0.03
    # Without replacement and B approaching N, the correction steepens the curve.
    n = 2000
    variance = bs.gradient_variance(per_example)
    large = [250, 500, 1000, 1500]
    assert bs.loglog_slope(large, [bs.minibatch_noise(variance, n, b) for b in large]) < -0.8
    # A slope fitted on linear axes is not an exponent at all.
    assert abs(np.polyfit(batches, with_replacement, 1)[0] + 0.5) > 0.3


@given(st.floats(-3, 3), st.floats(0.01, 100), st.lists(st.floats(0.5, 1e4), min_size=2,
                                                        max_size=10, unique=True))
@settings(max_examples=50, deadline=None)
def test_loglog_slope_recovers_any_power_law(p, c, x):
    x = np.array(x)
    if np.ptp(np.log(x)) < 1e-3:
        return
    assert abs(bs.loglog_slope(x, c * x**p) - p) < 1e-6


def test_noise_scale():
    """B_simple is where the with-replacement noise equals the gradient's norm; it does not
    change when every gradient is scaled."""
    X, y, w = _problem(n=300)
    per_example = bs.per_example_gradients_least_squares(w, X, y)
    scale = bs.noise_scale(per_example)
    norm2 = float(np.sum(per_example.mean(axis=0) ** 2))
    np.testing.assert_allclose(
        bs.minibatch_noise(bs.gradient_variance(per_example), 300, 1, replace=True) ** 2 / scale,
        norm2, rtol=1e-12)
    np.testing.assert_allclose(bs.noise_scale(7.0 * per_example), scale, rtol=1e-12)
    # Identical gradients: no noise at all.
    assert bs.noise_scale(np.ones((10, 3))) == 0.0


# -- time to a target ------------------------------------------------------------------------
def test_steps_to_target():
    assert bs.steps_to_target([0.1, 0.5, 0.9, 0.95], 0.9) == 3
    assert bs.steps_to_target([0.1, 0.5, 0.9, 0.95], 0.9, every=10) == 30
    assert bs.steps_to_target([2.0, 1.0, 0.4, 0.6], 0.5, higher_is_better=False) == 3
    assert bs.steps_to_target([0.1, 0.2], 0.9) == math.inf


@given(st.integers(1, 500), st.integers(1, 600), st.floats(0, 1), st.floats(0, 1))
@settings(max_examples=50, deadline=None)
def test_time_per_epoch_is_the_sum_over_its_steps(batch, n, overhead, per_example):
    sizes = [min(batch, n - start) for start in range(0, n, batch)]
    np.testing.assert_allclose(
        bs.time_per_epoch(batch, n, overhead, per_example),
        sum(bs.time_per_step(size, overhead, per_example) for size in sizes), rtol=1e-12)


BATCHES = [2**k for k in range(11)]


def test_time_optimal_batch_on_constructed_cases():
    steps = bs.steps_model(np.array(BATCHES), min_steps=100, noise_scale_=64)
    # B* = sqrt(a·B_noise/b) = sqrt(16·64) = 32, on the grid.
    best, times = bs.time_optimal_batch(BATCHES, steps, overhead=16.0, per_example=1.0)
    assert best == 32 == bs.optimal_batch_of_model(64, 16.0, 1.0)
    np.testing.assert_allclose(times, steps * (16.0 + np.array(BATCHES)), rtol=1e-12)
    # No overhead: the per-example cost of reaching the target, S(B)·B, grows with B.
    assert bs.time_optimal_batch(BATCHES, steps, 0.0, 1.0)[0] == 1
    # Only overhead: time is proportional to steps, which fall with B.
    assert bs.time_optimal_batch(BATCHES, steps, 1.0, 0.0)[0] == 1024
    # A batch that never reaches the target is never optimal; ties go to the smaller batch.
    assert bs.time_optimal_batch([8, 16, 32], [100, math.inf, 25], 0.0, 1.0)[0] == 8
    assert bs.time_optimal_batch([8, 16, 32], [math.inf, 100, 50], 0.0, 1.0)[0] == 16
    with pytest.raises(ValueError):
        bs.time_optimal_batch([8, 16], [math.inf, math.inf], 1.0, 1.0)


@given(st.lists(st.floats(1, 1e5), min_size=1, max_size=12), st.floats(0, 10),
       st.floats(0, 1), st.integers(0, 10_000))
@settings(max_examples=60, deadline=None)
def test_time_optimal_batch_is_the_brute_force_argmin(steps, overhead, per_example, seed):
    batches = sorted(np.random.default_rng(seed).choice(4096, len(steps), replace=False) + 1)
    best, times = bs.time_optimal_batch(batches, steps, overhead, per_example)
    brute = min(zip(batches, steps, strict=True),
                key=lambda bs_: bs_[1] * (overhead + per_example * bs_[0]))
    assert times[batches.index(best)] == pytest.approx(
        brute[1] * (overhead + per_example * brute[0]), rel=1e-12)


@given(st.floats(1, 1e4), st.floats(1e-3, 10), st.floats(1e-3, 10))
@settings(max_examples=50, deadline=None)
def test_closed_form_optimum_minimises_the_model(noise, overhead, per_example):
    b_star = bs.optimal_batch_of_model(noise, overhead, per_example)

    def time(b):
        return bs.steps_model(b, 1.0, noise) * bs.time_per_step(b, overhead, per_example)
    for factor in (0.5, 0.9, 1.1, 2.0):
        assert time(b_star) <= time(b_star * factor) * (1 + 1e-12)


def test_fits_recover_their_models():
    steps = bs.steps_model(np.array(BATCHES, float), 250.0, 37.0)
    np.testing.assert_allclose(bs.fit_steps_model(BATCHES, steps), (250.0, 37.0), rtol=1e-9)
    with_inf = np.append(steps, math.inf)
    np.testing.assert_allclose(bs.fit_steps_model(BATCHES + [2048], with_inf), (250.0, 37.0),
                               rtol=1e-9)
    seconds = 2e-4 + 3e-6 * np.array(BATCHES)
    np.testing.assert_allclose(bs.fit_step_time(BATCHES, seconds), (2e-4, 3e-6), rtol=1e-9)


# -- linear scaling and warm-up --------------------------------------------------------------
def test_linear_scaling_rule():
    assert bs.linear_scaling(0.1, 256, 256) == 0.1
    assert bs.linear_scaling(0.1, 8192, 256) == pytest.approx(3.2)  # Goyal et al.'s setting
    assert bs.linear_scaling(0.1, 64, 256) == pytest.approx(0.025)
    with pytest.raises(ValueError):
        bs.linear_scaling(0.1, 0, 256)


def test_warmup_at_given_steps():
    """Base 0.1 at 256, batch 1024: the rate climbs 0.1 → 0.4 over 5 steps, then decays ×0.1
    every 10 steps counted from the end of the warm-up."""
    def decay(k):
        return 0.1 ** (k // 10)
    rates = [bs.scaled_lr_with_warmup(t, 0.1, 1024, 256, 5, decay) for t in range(30)]
    np.testing.assert_allclose(rates[:6], [0.1, 0.16, 0.22, 0.28, 0.34, 0.4], rtol=1e-12)
    np.testing.assert_allclose(rates[14], 0.4, rtol=1e-12)
    np.testing.assert_allclose(rates[15], 0.04, rtol=1e-12)
    np.testing.assert_allclose(rates[25], 0.004, rtol=1e-12)
    assert bs.scaled_lr_with_warmup(0, 0.1, 1024, 256, 5, start_lr=0.0) == 0.0
    assert bs.scaled_lr_with_warmup(0, 0.1, 1024, 256, 0) == pytest.approx(0.4)  # no warm-up
    # Not the square-root rule: 4x the batch is 4x the rate, not 2x.
    assert bs.scaled_lr_with_warmup(100, 0.1, 1024, 256, 5) == pytest.approx(0.4)


def _torch_warmup_rates(base_lr, batch, base_batch, warmup, decay, steps):
    """Goyal's recipe in PyTorch: LinearLR from base/peak to 1, then LambdaLR(decay)."""
    peak = base_lr * batch / base_batch
    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=peak)
    if warmup:
        scheduler = tls.SequentialLR(optimizer, [
            tls.LinearLR(optimizer, start_factor=base_lr / peak, end_factor=1.0,
                         total_iters=warmup),
            tls.LambdaLR(optimizer, decay)], milestones=[warmup])
    else:
        scheduler = tls.LambdaLR(optimizer, decay)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        parameter.grad = torch.ones(1)
        optimizer.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scheduler.step()
    return rates


@given(st.floats(1e-3, 1.0), st.sampled_from([32, 64, 128, 256]),
       st.sampled_from([256, 512, 1024, 4096, 8192]), st.integers(0, 50),
       st.sampled_from(["constant", "step", "cosine"]))
@settings(max_examples=40, deadline=None)
def test_warmup_matches_torch_sequential_lr(base_lr, base_batch, batch, warmup, kind):
    decays = {"constant": lambda k: 1.0, "step": lambda k: 0.1 ** (k // 40),
              "cosine": lambda k: 0.5 * (1 + math.cos(math.pi * min(k, 150) / 150))}
    decay = decays[kind]
    ours = [bs.scaled_lr_with_warmup(t, base_lr, batch, base_batch, warmup, decay)
            for t in range(200)]
    theirs = _torch_warmup_rates(base_lr, batch, base_batch, warmup, decay, 200)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-15)


@given(st.floats(1e-3, 1.0), st.integers(1, 64), st.integers(1, 64), st.integers(1, 100))
@settings(max_examples=50, deadline=None)
def test_warmup_is_a_continuous_ramp(base_lr, k, base_batch, warmup):
    """The ramp runs from the base rate to k times it and meets the scaled rate at t = W."""
    batch = k * base_batch
    rates = np.array([bs.scaled_lr_with_warmup(t, base_lr, batch, base_batch, warmup)
                      for t in range(warmup + 3)])
    assert rates[0] == pytest.approx(base_lr)
    assert np.all(np.diff(rates) >= -1e-15)
    np.testing.assert_allclose(rates[warmup:], k * base_lr, rtol=1e-12)
    np.testing.assert_allclose(np.diff(rates[:warmup + 1]), (k - 1) * base_lr / warmup,
                               rtol=1e-9, atol=1e-15)


# -- sharpness -------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_top_hessian_eigenvalue_matches_the_full_hessian(seed):
    """A small MLP at a trained point: power iteration against torch's explicit Hessian."""
    from labkit.models import mlp

    torch.manual_seed(seed)
    X = torch.randn(40, 3, dtype=torch.float64)
    y = torch.randint(0, 3, (40,))
    model = mlp(3, 4, 3, seed=seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(100):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(X), y).backward()
        optimizer.step()
    params = list(model.parameters())
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]

    def loss_of(flat):
        chunks = torch.split(flat, sizes)
        out = torch.func.functional_call(model, {
            name: c.reshape(s) for (name, _), c, s in
            zip(model.named_parameters(), chunks, shapes, strict=True)}, (X,))
        return torch.nn.functional.cross_entropy(out, y)

    flat = torch.cat([p.detach().flatten() for p in params])
    eigenvalues = torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss_of, flat))
    largest = float(eigenvalues[eigenvalues.abs().argmax()])
    ours = bs.top_hessian_eigenvalue(
        lambda: torch.nn.functional.cross_entropy(model(X), y), params, iters=100, seed=seed)
    np.testing.assert_allclose(ours, largest, rtol=1e-6)
