"""solutions.adaptive against torch.optim over many steps, and tests that tell variants apart."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from solutions import adaptive as A  # noqa: N812  (short, like the paper's tables)
from solutions import beyond_adam as B  # noqa: N812

STEPS = 150


def _problem(seed: int, scale: float = 1.0):
    """f(x) = scale·(Σ sin(a·x) + ½ Σ c·x²) with its exact gradient, and a start point."""
    rng = np.random.default_rng(seed)
    a, c, x0 = rng.uniform(0.5, 2, 7), rng.uniform(0.1, 1, 7), rng.standard_normal(7)

    def grad(x):
        return scale * (a * np.cos(a * x) + c * x)

    return x0, grad


def _numpy_run(rule, state, x0, grad, **hyper):
    x = x0.copy()
    for _ in range(STEPS):
        x, state = rule(x, grad(x), state, **hyper)
    return x


def _torch_run(cls, x0, grad, **hyper):
    """The torch optimizer fed the very same gradient values (so only the optimizers differ)."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # optimizer state scalars (NAdam's Πμ) in float64
    try:
        x = torch.tensor(x0, requires_grad=True)
        optimizer = cls([x], **hyper)
        for _ in range(STEPS):
            x.grad = torch.from_numpy(grad(x.detach().numpy().copy()))
            optimizer.step()
    finally:
        torch.set_default_dtype(default)
    return x.detach().numpy()


CASES = [
    # (our rule, our init, torch class, hyperparameters shared by both)
    (A.adagrad, A.init_adagrad, torch.optim.Adagrad, dict(lr=0.1)),
    (A.adagrad, lambda x: A.init_adagrad(x, 0.1), torch.optim.Adagrad,
     dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1)),
    (A.rmsprop, A.init_rmsprop, torch.optim.RMSprop, dict(lr=0.01, alpha=0.9)),
    (A.rmsprop, A.init_rmsprop, torch.optim.RMSprop,
     dict(lr=0.01, alpha=0.99, centered=True, momentum=0.9, weight_decay=0.01)),
    (A.rmsprop, A.init_rmsprop, torch.optim.RMSprop, dict(lr=0.001, alpha=0.999, momentum=0.5)),
    (A.rprop, A.init_rprop, torch.optim.Rprop, dict(lr=0.01)),
    (A.rprop, A.init_rprop, torch.optim.Rprop,
     dict(lr=0.3, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),  # lr above Δmax: clipped at once
    (A.adam, A.init_adam, torch.optim.Adam, dict(lr=0.01)),
    (A.adam, A.init_adam, torch.optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (B.adamw, A.init_adam, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    (B.adamw, A.init_adam, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    (B.nadam, B.init_nadam, torch.optim.NAdam, dict(lr=0.01)),
    (B.nadam, B.init_nadam, torch.optim.NAdam, dict(lr=0.01, weight_decay=0.05,
                                                    momentum_decay=0.01)),
    (B.radam, A.init_adam, torch.optim.RAdam, dict(lr=0.01)),
    (B.radam, A.init_adam, torch.optim.RAdam, dict(lr=0.01, weight_decay=0.05)),
]


def _torch_hyper(cls, hyper):
    """Our AdamW/Adam/RAdam/NAdam take betas one by one; torch takes the pair."""
    hyper = dict(hyper)
    if "beta1" in hyper:
        hyper["betas"] = (hyper.pop("beta1"), hyper.pop("beta2"))
    return hyper


@pytest.mark.parametrize("scale", [1.0, 0.0, 1e6], ids=["unit", "zero-grad", "huge-grad"])
@pytest.mark.parametrize(("rule", "init", "cls", "hyper"), CASES,
                         ids=[f"{c[2].__name__}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch_for_150_steps(rule, init, cls, hyper, scale):
    for seed in range(3):
        x0, grad = _problem(seed, scale)
        ours_hyper = {k: v for k, v in hyper.items() if k != "initial_accumulator_value"}
        ours = _numpy_run(rule, init(x0), x0, grad, **ours_hyper)
        theirs = _torch_run(cls, x0, grad, **_torch_hyper(cls, hyper))
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)


def test_rules_are_pure():
    x, g = np.ones(3), np.full(3, 0.5)
    for rule, init in [(A.adagrad, A.init_adagrad), (A.rmsprop, A.init_rmsprop),
                       (A.rprop, A.init_rprop), (A.adam, A.init_adam), (B.nadam, B.init_nadam),
                       (B.radam, A.init_adam)]:
        state = init(x)
        before = [np.copy(s) for s in state]
        rule(x, g, state)
        np.testing.assert_array_equal(x, 1.0)
        np.testing.assert_array_equal(g, 0.5)
        for a, b in zip(state, before, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_states_and_results_keep_the_parameters_dtype(dtype):
    """float32 parameters must not get float64 moments: that doubles the memory traffic."""
    x, g = np.linspace(-1, 1, 5).astype(dtype), np.linspace(2, -3, 5).astype(dtype)
    for rule, init in [(A.adagrad, A.init_adagrad), (A.rmsprop, A.init_rmsprop),
                       (A.rprop, A.init_rprop), (A.adam, A.init_adam), (B.adamw, A.init_adam),
                       (B.nadam, B.init_nadam), (B.radam, A.init_adam),
                       (B.adabound, A.init_adam)]:
        state, y = init(x), x
        for _ in range(7):  # RAdam's rectified branch starts at t = 6
            y, state = rule(y, g, state)
        arrays = [y] + [s for s in state if isinstance(s, np.ndarray)]
        assert [a.dtype for a in arrays] == [dtype] * len(arrays), rule.__name__
    assert A.init_adam(np.arange(3)).m.dtype == np.float64  # integer parameters: float64


def test_bias_correction_makes_the_first_step_lr_sized():
    """With bias correction the first Adam step is ≈ lr·sign(g); without, (1−β1)/√(1−β2)·lr
    smaller or larger — the two forms must disagree exactly there."""
    x, g = np.zeros(2), np.array([1e-3, -5.0])
    corrected, _ = A.adam(x, g, A.init_adam(x), lr=0.1)
    simple, _ = A.adam_simple(x, g, A.init_adam(x), lr=0.1)
    np.testing.assert_allclose(corrected, -0.1 * np.sign(g), rtol=1e-4)
    np.testing.assert_allclose(simple, -0.1 * 0.1 * g / (np.sqrt(0.001) * np.abs(g) + 1e-8),
                               rtol=1e-6)
    assert not np.allclose(corrected, simple)


def test_counter_is_incremented_before_use():
    """t off by one (correcting with β^(t−1)) would divide by zero or misscale step 1."""
    x, g = np.zeros(1), np.ones(1)
    _, state = A.adam(x, g, A.init_adam(x))
    assert state.t == 1
    assert A.adam(x, g, A.init_adam(x), lr=1.0)[0][0] == pytest.approx(-1.0, rel=1e-6)


def test_adamw_is_not_adam_with_l2():
    x0, grad = _problem(0)
    l2 = _numpy_run(A.adam, A.init_adam(x0), x0, grad, lr=0.01, weight_decay=0.1)
    decoupled = _numpy_run(B.adamw, A.init_adam(x0), x0, grad, lr=0.01, weight_decay=0.1)
    assert np.abs(l2 - decoupled).max() > 1e-3


def test_amsgrad_keeps_the_maximum_of_the_raw_second_moment():
    x = np.zeros(1)
    state = A.init_adam(x)
    for g in (10.0, 0.1, 0.1):
        x, state = A.adam(x, np.array([g]), state, amsgrad=True)
    assert state.v_max[0] == pytest.approx(0.001 * 100.0)  # v after the first step, not v̂
    assert state.v[0] < state.v_max[0]
    plain = A.init_adam(np.zeros(1))
    y = np.zeros(1)
    for g in (10.0, 0.1, 0.1):
        y, plain = A.adam(y, np.array([g]), plain)
    assert not np.allclose(x, y)


def test_radam_rectifies_first_at_step_6_for_beta2_0999():
    rho = B.radam_rho(np.arange(1, 8), 0.999)
    assert list(rho > 5) == [False] * 5 + [True] * 2
    x, g = np.zeros(1), np.ones(1)
    state = A.init_adam(x)
    for _ in range(1, 6):  # unrectified: momentum SGD with m̂ = 1
        x_new, state = B.radam(x, g, state, lr=0.1)
        assert x_new[0] - x[0] == pytest.approx(-0.1)
        x = x_new


def test_adagrad_steps_only_shrink():
    x, state = np.zeros(2), A.init_adagrad(np.zeros(2))
    steps = []
    for _ in range(50):
        x_new, state = A.adagrad(x, np.ones(2), state, lr=0.5)
        steps.append(np.abs(x_new - x)[0])
        x = x_new
    assert all(a > b for a, b in zip(steps, steps[1:], strict=False))


def test_rprop_matches_torch_at_every_step():
    """Rprop ends in a tiny oscillation around a minimum whatever its details, so the final
    point of the test above hides mistakes (not zeroing g at a flip moves it by ~1e-6);
    every iterate, and the step sizes, must agree instead."""
    for seed in range(3):
        x0, grad = _problem(seed)
        x, state = x0.copy(), A.init_rprop(x0)
        theirs = torch.tensor(x0, requires_grad=True)
        optimizer = torch.optim.Rprop([theirs], lr=0.05)
        for _ in range(STEPS):
            g = grad(x)
            x, state = A.rprop(x, g, state, lr=0.05)
            theirs.grad = torch.from_numpy(g)
            optimizer.step()
            np.testing.assert_allclose(x, theirs.detach().numpy(), rtol=1e-12, atol=0)
        torch_state = optimizer.state[theirs]
        np.testing.assert_allclose(state.step_size, torch_state["step_size"].numpy(),
                                   rtol=1e-12)
        np.testing.assert_array_equal(state.prev, torch_state["prev"].numpy())


def test_rprop_steps_grow_on_a_repeated_sign_and_shrink_on_a_flip():
    """Δ: lr, ×η₊ while the sign repeats; ×η₋ and no move at a flip; unchanged just after."""
    x, state, moves = np.zeros(1), A.init_rprop(np.zeros(1)), []
    for g in (2.0, 1e-9, 5.0, -1.0, -1.0, -3.0):
        x_new, state = A.rprop(x, np.array([g]), state, lr=0.1, etas=(0.5, 2.0))
        moves.append(float(x_new[0] - x[0]))
        x = x_new
    np.testing.assert_allclose(moves, [-0.1, -0.2, -0.4, 0.0, 0.2, 0.4])
    assert state.t == 6 and state.step_size[0] == pytest.approx(0.4)


def test_rprop_uses_only_the_sign_of_the_gradient():
    x0, grad = _problem(1)
    small = _numpy_run(A.rprop, A.init_rprop(x0), x0, lambda x: 1e-6 * grad(x), lr=0.05)
    large = _numpy_run(A.rprop, A.init_rprop(x0), x0, lambda x: 1e6 * grad(x), lr=0.05)
    np.testing.assert_array_equal(small, large)


def test_rprop_steps_stay_within_the_step_size_bounds():
    x, state = np.zeros(3), A.init_rprop(np.zeros(3))
    for k in range(60):
        g = np.array([1.0, (-1.0) ** k, 0.0])  # always the same sign, always flipping, zero
        x, state = A.rprop(x, g, state, lr=5.0, step_sizes=(1e-3, 2.0))
    np.testing.assert_allclose(state.step_size, [2.0, 1e-3, 2.0])


def test_adabound_bounds_follow_the_published_functions():
    lower, upper = B.adabound_bounds(np.array([1, 10, 1000, 10**7]), final_lr=0.1, gamma=1e-3)
    np.testing.assert_allclose(lower, 0.1 * (1 - 1 / (1e-3 * np.array([1, 10, 1e3, 1e7]) + 1)))
    np.testing.assert_allclose(upper, 0.1 * (1 + 1 / (1e-3 * np.array([1, 10, 1e3, 1e7]))))
    assert np.all(np.diff(lower) > 0) and np.all(np.diff(upper) < 0)
    np.testing.assert_allclose([lower[-1], upper[-1]], 0.1, rtol=1e-3)


def test_adabound_step_is_the_clipped_adam_rate_times_m():
    """Two steps computed by hand from the paper's algorithm (with the authors' bias terms)."""
    x, lr, final_lr, gamma, b1, b2, eps = np.array([1.0, -2.0]), 1e-3, 0.1, 1e-3, 0.9, 0.999, 1e-8
    grads = [np.array([0.5, -3.0]), np.array([1e-4, 2.0])]
    m = v = np.zeros(2)
    expected = x.copy()
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        rate = lr * np.sqrt(1 - b2**t) / (1 - b1**t) / (np.sqrt(v) + eps)
        rate = np.minimum(np.maximum(rate, final_lr * (1 - 1 / (gamma * t + 1))),
                          final_lr * (1 + 1 / (gamma * t)))
        expected = expected - rate * m
    state, got = A.init_adam(x), x
    for g in grads:
        got, state = B.adabound(got, g, state, lr=lr, final_lr=final_lr, gamma=gamma)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_adabound_becomes_sgd_late_in_training():
    x, g = np.zeros(3), np.array([1e-3, 1.0, 100.0])
    state = A.AdamState(10**8, np.zeros(3), np.zeros(3), np.zeros(3))
    x_new, state = B.adabound(x, g, state, final_lr=0.1)
    np.testing.assert_allclose(x_new, -0.1 * state.m, rtol=1e-4)
