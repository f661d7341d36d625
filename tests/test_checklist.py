"""Chapter 13 references: gradient checks (against torch.autograd.gradcheck and the
finite-difference error formulas), the initial loss, overfitting a small subset, the
update/weight ratio (against hand-computed SGD, momentum and Adam steps) and the loss-curve
diagnosis (on synthetic curves and on real training runs)."""

from __future__ import annotations

import importlib
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.functional import cross_entropy as torch_cross_entropy

from labkit.data import digits
from labkit.models import mlp, softmax_regression
from solutions import checklist as C  # noqa: N812

torch.set_num_threads(1)
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def _wave(x):
    """A smooth, dtype-preserving test function that couples the coordinates."""
    return np.sum(np.sin(3 * x)) * np.sum(x**2) + 0.5 * np.sum(x**4)


def _wave_grad(x):
    s, q = np.sum(np.sin(3 * x)), np.sum(x**2)
    return 3 * np.cos(3 * x) * q + 2 * x * s + 2 * x**3


# -- numerical gradients ---------------------------------------------------------------------
@given(shapes, st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_numerical_gradient_matches_the_analytic_one_for_any_shape(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    original = x.copy()
    numerical = C.numerical_gradient(_wave, x)
    assert numerical.shape == shape and numerical.dtype == np.float64
    np.testing.assert_array_equal(x, original)  # the caller's array is untouched
    # Truncation (h²/6 times the third derivative) and round-off (ε/h times the size of the
    # terms of f, which may cancel) are absolute: tiny entries are judged on that scale.
    np.testing.assert_allclose(numerical, _wave_grad(x), rtol=1e-7,
                               atol=1e-8 * (1 + np.sum(x**2) + np.sum(x**4)))


def test_softmax_regression_gradient_passes_and_a_missing_factor_two_fails():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((15, 8)), rng.integers(0, 4, 15)
    W = rng.standard_normal((9, 4)) * 0.5

    def loss(W):
        return softmax_regression(W, X, y, l2=0.1)[0]

    good = C.gradient_check(loss, lambda W: softmax_regression(W, X, y, l2=0.1)[1], W)
    assert good.verdict == "good" and good.max_error < 1e-7

    def forgot_regulariser_gradient(W):
        dW = softmax_regression(W, X, y, l2=0.1)[1]
        dW[:-1] -= 0.1 * W[:-1]
        return dW
    assert C.gradient_check(loss, forgot_regulariser_gradient, W).verdict == "wrong"

    # f = Σx², the gradient written as x instead of 2x: relative error exactly 1/2 everywhere.
    x = np.random.default_rng(1).standard_normal((3, 4))
    half = C.gradient_check(lambda x: np.sum(x**2), lambda x: x, x)
    assert half.verdict == "wrong"
    np.testing.assert_allclose(half.errors, 0.5, rtol=1e-8)
    assert C.gradient_check(lambda x: np.sum(x**2), lambda x: 2 * x, x).passed


def test_round_off_is_absolute_so_the_smallest_entries_have_the_largest_relative_errors():
    """On the digits, some pixels hardly vary and their gradient entries are tiny. Round-off
    in f(x ± h) is about ε|f|/h in *absolute* terms for every entry, so those entries have the
    largest relative errors although nothing is wrong."""
    split = digits(seed=0)
    X, y = split.X_train[:15], split.y_train[:15]
    W = np.random.default_rng(0).standard_normal((65, 10)) * 0.1
    value, grad = softmax_regression(W, X, y)
    report = C.gradient_check(lambda W: softmax_regression(W, X, y)[0], grad, W)
    assert np.median(report.errors) < 1e-8
    assert abs(grad[report.worst_index]) < 0.1 * np.median(np.abs(grad))
    floor = np.finfo(np.float64).eps * value / 1e-5
    assert np.max(np.abs(report.analytic - report.numerical)) < 20 * floor


@pytest.mark.parametrize("x0", [0.3, 1.1, -2.0])
def test_centred_difference_error_is_h_squared_f3_over_6_and_one_sided_is_h_f2_over_2(x0):
    """Truncation errors from the Taylor expansion (Nocedal & Wright, 2006, §8.1), for sin."""
    for h in (1e-2, 3e-3):
        centred = C.numerical_gradient(lambda x: np.sin(x[0]), np.array([x0]), h)[0]
        np.testing.assert_allclose(centred - math.cos(x0), -h**2 * math.cos(x0) / 6,
                                   rtol=2e-2)
        one_sided = (math.sin(x0 + h) - math.sin(x0)) / h
        np.testing.assert_allclose(one_sided - math.cos(x0), -h * math.sin(x0) / 2, rtol=2e-2)


def test_float32_checks_cannot_tell_a_right_gradient_from_a_wrong_one():
    """The same correct gradient: float64 at h = 1e-5 is good to ~1e-9, while float32 at its
    best step is off by ~1e-3 and at h = 1e-5 by O(1) (round-off ε|f|/h with ε ≈ 1.2e-7)."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((20, 8)), rng.integers(0, 5, 20)
    W = rng.standard_normal((8, 5)) * 0.3

    def loss(W):  # dtype-preserving: everything in W's precision
        Z = X.astype(W.dtype) @ W
        Z = Z - Z.max(axis=1, keepdims=True)
        return np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(len(y)), y])

    def grad(W):
        Z = X @ W
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        P[np.arange(len(y)), y] -= 1
        return X.T @ P / len(y)

    analytic = grad(W)
    f64 = C.gradient_check(loss, analytic, W, h=1e-5)
    assert f64.verdict == "good" and f64.max_error < 1e-8
    best32 = min(C.gradient_check(loss, analytic, W, h=h, dtype=np.float32).max_error
                 for h in (1e-3, 3e-3, 1e-2, 3e-2))
    assert best32 > 1e-4
    assert C.gradient_check(loss, analytic, W, h=1e-5, dtype=np.float32).verdict == "wrong"
    assert C.numerical_gradient(loss, W, dtype=np.float32).dtype == np.float32


# -- relative error and verdicts -------------------------------------------------------------
finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=20))
@settings(max_examples=80, deadline=None)
def test_relative_error_is_symmetric_bounded_and_scale_free(pairs):
    a, b = (np.array(v) for v in zip(*pairs, strict=True))
    e = C.relative_error(a, b)
    np.testing.assert_array_equal(e, C.relative_error(b, a))
    assert np.all((e >= 0) & (e <= 2))
    assert np.all(e[np.sign(a) * np.sign(b) > 0] <= 1)
    np.testing.assert_array_equal(C.relative_error(a, a), 0.0)
    big = (np.maximum(np.abs(a), np.abs(b)) > 1e-6)
    for scale in (8.0, 2.0**-5):  # powers of two scale exactly: the errors must not move
        np.testing.assert_array_equal(C.relative_error(scale * a, scale * b)[big], e[big])


def test_relative_error_by_hand():
    a = np.array([1.0, 0.0, 0.0, -2.0, 1e-14, 3.0])
    b = np.array([1.1, 0.0, 1e-3, 2.0, 3e-14, 1.5])
    expected = [0.1 / 1.1, 0.0, 1.0, 2.0, 2e-14 / 1e-12, 0.5]
    np.testing.assert_allclose(C.relative_error(a, b), expected, rtol=1e-12)


def test_error_verdict_thresholds_and_nan():
    assert C.error_verdict(1e-8) == "good" and C.error_verdict(1e-7) == "good"
    assert C.error_verdict(1e-6) == "suspicious" and C.error_verdict(1e-4) == "suspicious"
    assert C.error_verdict(2e-4) == "wrong" and C.error_verdict(float("nan")) == "wrong"
    assert C.error_verdict(1e-5, kinks=True) == "good"
    assert C.error_verdict(1e-3, kinks=True) == "suspicious"
    assert C.error_verdict(0.1, kinks=True) == "wrong"


def test_a_kink_between_x_minus_h_and_x_plus_h_fools_the_check():
    """ReLU at x = 0.2h: the centred difference is (1.2h − 0)/2h = 0.6, the derivative 1."""
    h = 1e-5
    x = np.array([0.2 * h, 1.0, -1.0])
    report = C.gradient_check(lambda x: np.sum(np.maximum(x, 0)),
                              lambda x: (x > 0).astype(float), x, h=h)
    np.testing.assert_allclose(report.numerical, [0.6, 1.0, 0.0], atol=1e-9)
    assert report.worst_index == (0,) and report.verdict == "wrong"
    np.testing.assert_allclose(report.max_error, 0.4, rtol=1e-6)


# -- PyTorch: parity with torch.autograd.gradcheck ---------------------------------------------
class _Square(torch.autograd.Function):
    """x ↦ x² with a backward that can be broken (missing factor 2)."""

    broken = False

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x * (1.0 if _Square.broken else 2.0)


class _SquareLayer(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.linspace(-1, 1, n, dtype=torch.float64))

    def forward(self, x):
        return x * _Square.apply(self.weight)


@pytest.mark.parametrize("broken", [False, True])
def test_module_check_agrees_with_gradcheck_on_a_custom_backward(broken):
    _Square.broken = broken
    try:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), _SquareLayer(5), nn.Linear(5, 3))
        model.double()
        X = torch.randn(6, 4, dtype=torch.float64)
        y = torch.tensor([0, 1, 2, 0, 1, 2])
        before = {k: v.clone() for k, v in model.state_dict().items()}
        reports = C.check_module_gradients(model, lambda: torch_cross_entropy(model(X), y))
        for key, value in model.state_dict().items():  # restored exactly
            assert torch.equal(value, before[key]), key
        names = [name for name, _ in model.named_parameters()]
        params = tuple(p.detach().clone().requires_grad_() for p in model.parameters())

        def loss_of(*ps):
            out = torch.func.functional_call(model, dict(zip(names, ps, strict=True)), (X,))
            return torch_cross_entropy(out, y)
        passed = torch.autograd.gradcheck(loss_of, params, eps=1e-6, atol=1e-5, rtol=1e-3,
                                          raise_exception=False)
    finally:
        _Square.broken = False
    assert passed == (not broken)
    assert all(r.verdict == "good" for r in reports.values()) == (not broken)
    if broken:  # the check points at the one parameter whose backward is wrong
        assert {name for name, r in reports.items() if r.verdict != "good"} == {"2.weight"}
        assert reports["2.weight"].max_error == pytest.approx(0.5, rel=1e-6)


def test_numerical_gradient_equals_torchs_numerical_jacobian():
    gradcheck_module = importlib.import_module("torch.autograd.gradcheck")
    numerical_jacobian = getattr(gradcheck_module, "get_numerical_jacobian", None)
    if numerical_jacobian is None:
        pytest.skip("this PyTorch has no get_numerical_jacobian")
    rng = np.random.default_rng(4)
    for shape in [(5,), (3, 4), (2, 3, 2)]:
        x = rng.standard_normal(shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (theirs,) = numerical_jacobian(
                lambda xs: torch.tensor(_wave(xs[0].detach().numpy())),
                (torch.tensor(x, requires_grad=True),), eps=1e-6)
        ours = C.numerical_gradient(_wave, x, h=1e-6)
        np.testing.assert_allclose(ours, theirs.numpy().reshape(shape), rtol=1e-14, atol=0)


def test_module_check_matches_autograd_and_float32_modules_fail_it():
    model = mlp(6, 5, 3, seed=1)
    rng = np.random.default_rng(1)
    X, y = torch.tensor(rng.standard_normal((8, 6))), torch.tensor(rng.integers(0, 3, 8))
    reports = C.check_module_gradients(model, lambda: torch_cross_entropy(model(X), y))
    assert set(reports) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(reports[name].analytic, p.grad.numpy())
        assert reports[name].max_error < 1e-7, name
    model.float()
    X32 = X.float()
    reports32 = C.check_module_gradients(model, lambda: torch_cross_entropy(model(X32), y),
                                         h=1e-3)
    assert max(r.max_error for r in reports32.values()) > 1e-4


# -- initial loss ----------------------------------------------------------------------------
@given(st.integers(1, 20), st.integers(2, 12), st.floats(0.01, 1e3), st.integers(0, 10_000))
@settings(max_examples=60, deadline=None)
def test_cross_entropy_matches_torch_even_for_huge_logits(n, classes, scale, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, classes)) * scale + rng.uniform(-1e3, 1e3)
    y = rng.integers(0, classes, n)
    theirs = torch_cross_entropy(torch.tensor(logits), torch.tensor(y)).item()
    assert math.isfinite(C.cross_entropy(logits, y))
    np.testing.assert_allclose(C.cross_entropy(logits, y), theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("classes", [2, 10, 1000])
def test_equal_logits_give_exactly_ln_c(classes):
    y = np.arange(7) % classes
    assert C.cross_entropy(np.full((7, classes), 3.7), y) == pytest.approx(math.log(classes),
                                                                        rel=1e-14)
    assert C.expected_initial_loss(classes) == math.log(classes)
    assert C.expected_initial_loss(10) == pytest.approx(2.302585093)
    with pytest.raises(ValueError):
        C.expected_initial_loss(0)


@pytest.mark.parametrize("std", [0.1, 0.3, 0.5])
def test_initial_loss_excess_matches_a_monte_carlo_estimate(std):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((200_000, 10)) * std
    y = rng.integers(0, 10, 200_000)
    excess = C.cross_entropy(logits, y) - math.log(10)
    np.testing.assert_allclose(excess, C.initial_loss_excess(std, 10), rtol=0.1)


def test_initial_loss_check_verdicts():
    ln10 = math.log(10)
    assert C.initial_loss_check(2.35, 10).verdict == "ok"
    assert C.initial_loss_check(math.log10(10), 10).verdict == "too low"  # log10, not ln
    assert C.initial_loss_check(32 * ln10, 10).verdict == "too high"  # summed over a batch
    report = C.initial_loss_check(4.0, 10)
    assert report.verdict == "too high" and report.ratio == pytest.approx(4.0 / ln10)


def test_default_initialised_mlp_starts_near_ln_10():
    split = digits(seed=0)
    X, y = torch.tensor(split.X_train), torch.tensor(split.y_train)
    losses = []
    for seed in range(10):
        with torch.no_grad():
            losses.append(torch_cross_entropy(mlp(64, 32, 10, seed=seed)(X), y).item())
    assert all(C.initial_loss_check(loss, 10, tolerance=0.05).verdict == "ok"
               for loss in losses)
    model = mlp(64, 32, 10, seed=0)
    with torch.no_grad():
        model[-1].weight.mul_(30.0)  # an output layer far too large: confidently wrong
        assert C.initial_loss_check(torch_cross_entropy(model(X), y).item(),
                                    10).verdict == "too high"


# -- overfitting a small subset --------------------------------------------------------------
def _tiny_digits(n=20):
    split = digits(seed=0)
    return torch.tensor(split.X_train[:n]), torch.tensor(split.y_train[:n])


def test_a_correct_mlp_overfits_twenty_digits():
    X, y = _tiny_digits()
    model = mlp(64, 32, 10, seed=13)
    report = C.overfit_small_subset(model, torch.optim.Adam(model.parameters(), lr=0.01), X,
                                    y, 150)
    assert report.fitted and report.final_loss < 0.01
    assert len(report.losses) == len(report.accuracies) == 151
    assert report.accuracies[report.steps_to_fit] == 1.0
    assert np.all(report.accuracies[:report.steps_to_fit] < 1.0)
    assert report.losses[0] == pytest.approx(torch_cross_entropy(
        mlp(64, 32, 10, seed=13)(X), y).item(), rel=1e-12)


def test_a_double_softmax_cannot_go_below_its_floor():
    """Cross-entropy applied to probabilities: the logits lie in [0, 1], so the loss cannot go
    below ln(1 + (C − 1)/e) ≈ 1.459 for C = 10 — the bug shows although accuracy may not."""
    X, y = _tiny_digits()
    model = nn.Sequential(mlp(64, 32, 10, seed=13), nn.Softmax(dim=1))
    report = C.overfit_small_subset(model, torch.optim.Adam(model.parameters(), lr=0.01), X,
                                    y, 150)
    floor = math.log(1 + 9 / math.e)
    assert report.losses.min() > floor and report.final_loss < floor + 0.05


# -- update/weight ratios --------------------------------------------------------------------
def test_update_ratio_by_hand():
    w = np.array([[3.0, 0.0], [0.0, 4.0]])
    dw = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert C.update_ratio(w, dw, 0.01) == pytest.approx(0.01 * 5.0 / 5.0)
    assert C.update_ratio(w, dw, 1e-3) == pytest.approx(1e-3)


def _model_and_loss(seed=0):
    model = mlp(6, 5, 3, seed=seed)
    rng = np.random.default_rng(seed)
    X, y = torch.tensor(rng.standard_normal((10, 6))), torch.tensor(rng.integers(0, 3, 10))
    return model, lambda: torch_cross_entropy(model(X), y)


@given(st.integers(0, 10_000), st.floats(1e-4, 1.0), st.integers(1, 4))
@settings(max_examples=25, deadline=None)
def test_measured_ratio_equals_lr_grad_over_w_for_plain_sgd(seed, lr, steps):
    model, loss = _model_and_loss(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        weights = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
        ratios = C.step_with_ratios(model, optimizer, loss)
        for name, p in model.named_parameters():
            hand = C.update_ratio(weights[name], p.grad.numpy(), lr)
            assert ratios[name] == pytest.approx(hand, rel=1e-9)


def test_measured_ratio_follows_momentum_and_adam_not_the_gradient():
    model, loss = _model_and_loss(1)
    lr, mu = 0.05, 0.9
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=mu)
    velocity = {n: np.zeros(p.shape) for n, p in model.named_parameters()}
    for _ in range(3):
        weights = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
        ratios = C.step_with_ratios(model, optimizer, loss)
        for name, p in model.named_parameters():
            velocity[name] = mu * velocity[name] + p.grad.numpy()  # PyTorch's buffer
            hand = np.linalg.norm(lr * velocity[name]) / np.linalg.norm(weights[name])
            assert ratios[name] == pytest.approx(hand, rel=1e-9)
    # Adam's first step moves every entry by lr·g/(|g| + eps): about lr, whatever |g| is.
    model, loss = _model_and_loss(2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
    weights = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    ratios = C.step_with_ratios(model, optimizer, loss)
    for name, p in model.named_parameters():
        g = p.grad.numpy()
        step = 1e-3 * g / (np.abs(g) + 1e-8)
        hand = np.linalg.norm(step) / np.linalg.norm(weights[name])
        assert ratios[name] == pytest.approx(hand, rel=1e-6)
        assert ratios[name] != pytest.approx(C.update_ratio(weights[name], g, 1e-3), rel=0.1)


def test_a_detached_snapshot_shares_storage_and_measures_nothing():
    """Why the copies must be clones: optimizers update parameters in place."""
    model, loss = _model_and_loss(3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    loss().backward()
    aliases = {n: p.detach() for n, p in model.named_parameters()}
    optimizer.step()
    assert all(C.change_ratio(aliases[n], p.detach()) == 0.0
               for n, p in model.named_parameters())
    assert all(v > 0 for v in C.step_with_ratios(model, optimizer, loss).values())


def test_change_ratio_edge_cases():
    zero = torch.zeros(3)
    assert C.change_ratio(zero, zero) == 0.0
    assert C.change_ratio(zero, torch.ones(3)) == math.inf
    assert C.change_ratio(torch.tensor([3.0, 4.0]), torch.tensor([3.0, 4.5])) == 0.1


def test_tracker_records_every_step_flags_and_passes_the_closure_through():
    model, loss = _model_and_loss(4)
    tracker = C.UpdateRatioTracker(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-5)  # far too small

    def closure():
        optimizer.zero_grad()
        value = loss()
        value.backward()
        return value
    for _ in range(5):
        returned = tracker.step(optimizer, closure)
        assert isinstance(returned, torch.Tensor)
    ratios = tracker.ratios()
    assert all(len(v) == 5 for v in ratios.values())
    assert set(tracker.flags()) == set(ratios)
    assert set(tracker.flags().values()) == {"too small"}
    weights_only = C.UpdateRatioTracker([(n, p) for n, p in model.named_parameters()
                                         if n.endswith("weight")])
    assert set(weights_only.history) == {"0.weight", "2.weight"}
    with pytest.raises(ValueError):
        C.UpdateRatioTracker([])
    assert C.ratio_verdict(1e-3) == "ok" and C.ratio_verdict(5e-5) == "too small"
    assert C.ratio_verdict(0.2) == "too large" and C.ratio_verdict(math.nan) == "too large"


# -- loss-curve diagnosis --------------------------------------------------------------------
def _noise(rng, n, level):
    return np.exp(level * rng.standard_normal(n))


@given(st.integers(0, 10_000), st.integers(100, 600), st.floats(0.5, 5.0))
@settings(max_examples=30, deadline=None)
def test_diagnosis_of_synthetic_curves(seed, n, start):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    tau = n * rng.uniform(0.03, 0.15)
    floor = start * rng.uniform(0.005, 0.1)
    healthy = (floor + (start - floor) * np.exp(-t / tau)) * _noise(rng, n, 0.05)
    assert C.diagnose_loss_curve(healthy) == "healthy"
    slow = start * (1 - rng.uniform(0.05, 0.4) * t / n) * _noise(rng, n, 0.02)
    assert C.diagnose_loss_curve(slow) == "slow"
    t0 = int(n * rng.uniform(0.3, 0.5))
    drop = floor + (start - floor) * np.exp(-np.maximum(t - t0, 0) / (0.05 * n))
    assert C.diagnose_loss_curve(drop * _noise(rng, n, 0.02)) == "plateau"
    exploding = start * np.exp(t / (0.1 * n)) * _noise(rng, n, 0.05)
    assert C.diagnose_loss_curve(exploding) == "diverging"
    with_nan = healthy.copy()
    with_nan[int(rng.integers(0, n)):] = np.nan
    assert C.diagnose_loss_curve(with_nan) == "diverging"
    if n >= 200:  # noise needs a few hundred steps to be told from a trend
        spikes = np.where(rng.random(n) < 0.3, rng.exponential(2 * start, n), 0.0)
        assert C.diagnose_loss_curve(healthy + spikes) == "noisy"


def test_diagnosis_of_real_training_runs():
    split = digits(seed=0)
    X, y = torch.tensor(split.X_train), torch.tensor(split.y_train)

    def train(lr, batch, steps=300, depth=1, scale=1.0):
        model = mlp(64, 64, 10, depth=depth, seed=0)
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(scale)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        generator = torch.Generator().manual_seed(0)
        losses = []
        for _ in range(steps):
            batch_ids = torch.randint(0, len(y), (batch,), generator=generator)
            loss = torch_cross_entropy(model(X[batch_ids]), y[batch_ids])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    with np.errstate(all="ignore"):
        assert C.diagnose_loss_curve(train(5.0, 32)) == "diverging"
    assert C.diagnose_loss_curve(train(1e-3, 32)) == "slow"
    assert C.diagnose_loss_curve(train(0.1, 32)) == "healthy"
    assert C.diagnose_loss_curve(train(0.1, 1)) == "noisy"
    assert C.diagnose_loss_curve(train(0.1, 32, 500, depth=3, scale=0.5)) == "plateau"
    with pytest.raises(ValueError):
        C.diagnose_loss_curve([1.0] * 10)
    assert set(C.DIAGNOSES) == {"diverging", "noisy", "plateau", "slow", "healthy"}
