"""Grader-chosen inputs for exercise 02 (momentum and Nesterov)."""

from __future__ import annotations

import numpy as np

from labkit.checks import Case, Spec, call, call_keeping_inputs, register, value
from labkit.checks.optimizers import optimizer_cases, train_two_tensors
from labkit.functions import ROSENBROCK, quadratic

# -- exercise 02's fixed problem (the notebook imports it from here) -------------------------------
EX02_QUADRATIC = np.diag([1.0, 50.0])
"""Exercise 02: an ill-conditioned bowl (κ = 50) on which momentum values are compared."""
EX02_START = np.array([1.0, 1.0])
EX02_LR = 0.01
EX02_TOLERANCE = 1e-6
EX02_MAX_STEPS = 5000
EX02_MOMENTA = (0.0, 0.5, 0.9, 0.95, 0.99)


def _step_cases(seed: int, shapes: tuple = ((3,), (2, 4), (5,), (1, 3, 2))) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for shape in shapes:
        x, v, dx = (rng.standard_normal(shape) for _ in range(3))
        lr, mu = float(10 ** rng.uniform(-3, -0.5)), float(rng.choice([0.5, 0.9, 0.95, 0.99]))
        label = (f"x, v, dx: float64 arrays of shape {shape} (v nonzero), lr={lr:.4g}, "
                 f"mu={mu}")
        cases.append(Case.of(label, x=x, v=v, dx=dx, lr=lr, mu=mu))
    return cases


def _momentum_step_cases() -> list[Case]:
    return _step_cases(301)


def _nesterov_step_cases() -> list[Case]:
    return _step_cases(302)


def _momentum_step_practice() -> list[Case]:
    return _step_cases(9301, ((4,), (3, 1, 2)))


def _nesterov_step_practice() -> list[Case]:
    return _step_cases(9302, ((2, 3), (4,)))


def _random_quadratic(rng: np.random.Generator, d: int):
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    A = Q @ np.diag(rng.uniform(0.5, 5.0, d)) @ Q.T
    return quadratic(A, rng.standard_normal(d))


def _quadratic_lookaheads(seed: int, dims: tuple[int, ...]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for d in dims:
        surface = _random_quadratic(rng, d)
        x, v = rng.standard_normal(d), rng.standard_normal(d)
        lr, mu = float(rng.uniform(0.01, 0.2)), float(rng.choice([0.5, 0.9, 0.99]))
        label = (f"grad_fn = gradient of a random {d}-D quadratic, x and v of shape ({d},) "
                 f"(v nonzero), lr={lr:.4g}, mu={mu}")
        cases.append(Case.of(label, x=x, v=v, grad_fn=surface.grad, lr=lr, mu=mu))
    return cases


def _lookahead_cases() -> list[Case]:
    cases = _quadratic_lookaheads(303, (2, 3, 4))
    x, v = np.array([-1.0, 1.5]), np.array([0.05, -0.02])
    cases.append(Case.of("grad_fn = Rosenbrock's gradient, x=[-1, 1.5], v=[0.05, -0.02], "
                         "lr=0.001, mu=0.9", x=x, v=v, grad_fn=ROSENBROCK.grad,
                         lr=1e-3, mu=0.9))
    return cases


def _lookahead_practice() -> list[Case]:
    cases = _quadratic_lookaheads(9303, (2, 3))
    x, v = np.array([0.5, -0.4]), np.array([-0.03, 0.04])
    cases.append(Case.of("grad_fn = Rosenbrock's gradient, x=[0.5, -0.4], v=[-0.03, 0.04], "
                         "lr=0.0005, mu=0.5", x=x, v=v, grad_fn=ROSENBROCK.grad,
                         lr=5e-4, mu=0.5))
    return cases


def _momentum_runs(seed: int, settings: list[tuple[int, int, bool]]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for d, steps, nesterov in settings:
        surface = _random_quadratic(rng, d)
        x0 = rng.standard_normal(d)
        lr, mu = float(rng.uniform(0.01, 0.1)), float(rng.choice([0.5, 0.9]))
        label = (f"grad_fn = gradient of a random {d}-D quadratic, x0 of shape ({d},), "
                 f"lr={lr:.4g}, mu={mu}, num_steps={steps}, nesterov={nesterov}")
        cases.append(Case.of(label, grad_fn=surface.grad, x0=x0, lr=lr, mu=mu, num_steps=steps,
                             nesterov=nesterov))
    return cases


def _run_momentum_cases() -> list[Case]:
    return _momentum_runs(304, [(2, 20, False), (3, 30, True), (4, 15, False), (2, 25, True)])


def _run_momentum_practice() -> list[Case]:
    return _momentum_runs(9304, [(2, 10, False), (3, 12, True)])


# -- the torch optimizer ----------------------------------------------------------------------
_OPTIMIZER_SETTINGS = [
    # (hyperparameters, steps, step at which lr is halved or None)
    (dict(lr=0.05, momentum=0.9), 40, None),
    (dict(lr=0.02, momentum=0.9, nesterov=True), 40, None),
    (dict(lr=0.05, momentum=0.5, dampening=0.3), 30, None),
    (dict(lr=0.03, momentum=0.9, weight_decay=0.1), 30, None),
    (dict(lr=0.05), 20, None),
    (dict(lr=0.05, momentum=0.95, nesterov=True, weight_decay=0.01), 40, 20),
]


def _optimizer_cases() -> list[Case]:
    return optimizer_cases(_OPTIMIZER_SETTINGS, first_seed=400)


def _optimizer_practice() -> list[Case]:
    return optimizer_cases([(dict(lr=0.04, momentum=0.8), 15, None),
                            (dict(lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.05), 20,
                             10)], first_seed=420)


def _experiment_case() -> list[Case]:
    return [Case((), (), "your dict steps_to_converge")]


register(Spec("momentum.momentum_step", _momentum_step_cases, call_keeping_inputs,
              "classical momentum", practice=_momentum_step_practice))
register(Spec("momentum.nesterov_lookahead_step", _lookahead_cases, call, "look-ahead form",
              practice=_lookahead_practice))
register(Spec("momentum.nesterov_step", _nesterov_step_cases, call, "change-of-variable form",
              practice=_nesterov_step_practice))
register(Spec("momentum.run_momentum", _run_momentum_cases, call, "momentum iterates",
              practice=_run_momentum_practice))
register(Spec("momentum.optimizer", _optimizer_cases, train_two_tensors, "torch optimizer",
              practice=_optimizer_practice))
register(Spec("momentum.steps_to_converge", _experiment_case, value, "steps per momentum"))
