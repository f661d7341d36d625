"""Grader-chosen inputs for exercise 01 (gradient descent and SGD)."""

from __future__ import annotations

from functools import cache

import numpy as np

from labkit.checks import Case, Spec, call, call_keeping_inputs, register, value
from labkit.functions import ROSENBROCK, quadratic

# -- exercise 01's fixed problem (the notebook imports it from here) -------------------------------
EX01_QUADRATIC = np.array([[6.0, 2.0, 0.0],
                           [2.0, 5.0, 1.0],
                           [0.0, 1.0, 3.0]])
"""Exercise 01: the Hessian of ``f(x) = ½ xᵀAx`` whose critical learning rate is measured."""


def _shape_label(name: str, array: np.ndarray) -> str:
    return f"{name}: {array.dtype} array of shape {array.shape}"


def _sgd_steps(seed: int, shapes: list[tuple]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for shape in shapes:
        x, dx = rng.standard_normal(shape), rng.standard_normal(shape)
        lr = float(10 ** rng.uniform(-3, 0))
        label = f"{_shape_label('x', x)}, dx of the same shape, lr={lr:.4g}"
        cases.append(Case.of(label, x=x, dx=dx, lr=lr))
    return cases


def _sgd_step_cases() -> list[Case]:
    return _sgd_steps(101, [(3,), (4, 2), (2, 3, 2), (1,), (5, 1)])


def _sgd_step_practice() -> list[Case]:
    return _sgd_steps(9101, [(4,), (3, 1, 2), (1,)])


def _minibatch_settings(settings: list[tuple[int, int, int, bool, bool]]) -> list[Case]:
    cases = []
    for n, batch_size, seed, shuffle, drop_last in settings:
        label = (f"n={n}, batch_size={batch_size}, rng=np.random.default_rng({seed}), "
                 f"shuffle={shuffle}, drop_last={drop_last}")
        cases.append(Case((n, batch_size, seed, shuffle, drop_last), (), label))
    return cases


def _minibatch_cases() -> list[Case]:
    return _minibatch_settings([(10, 3, 0, True, False), (12, 4, 1, True, False),
                                (7, 7, 2, True, False), (9, 2, 3, True, True),
                                (6, 4, 4, False, False), (5, 1, 5, True, False)])


def _minibatch_practice() -> list[Case]:
    return _minibatch_settings([(8, 3, 60, True, False), (11, 4, 61, True, True),
                                (5, 5, 62, False, False)])


def _run_minibatches(answer, case: Case) -> dict:
    n, batch_size, seed, shuffle, drop_last = case.args
    batches = answer(n, batch_size, np.random.default_rng(seed), shuffle=shuffle,
                     drop_last=drop_last)
    return {"value": [np.asarray(b) for b in batches], }


def _random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return Q @ np.diag(rng.uniform(0.5, 4.0, d)) @ Q.T


def _quadratic_descents(seed: int, settings: list[tuple[int, int]]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for d, steps in settings:
        A, b = _random_spd(rng, d), rng.standard_normal(d)
        lr = float(rng.uniform(0.05, 0.4))
        surface = quadratic(A, b)
        x0 = rng.standard_normal(d)
        label = (f"grad_fn = gradient of ½xᵀAx − bᵀx in {d} dimensions, x0 of shape ({d},), "
                 f"lr={lr:.4g}, num_steps={steps}")
        cases.append(Case.of(label, grad_fn=surface.grad, x0=x0, lr=lr, num_steps=steps))
    return cases


def _gradient_descent_cases() -> list[Case]:
    cases = _quadratic_descents(202, [(2, 10), (3, 25), (5, 15), (1, 8)])
    x0 = np.array([-1.2, 1.0])
    cases.append(Case.of("grad_fn = Rosenbrock's gradient, x0=[-1.2, 1.0], lr=0.001, num_steps=40",
                         grad_fn=ROSENBROCK.grad, x0=x0, lr=1e-3,
                         num_steps=40))
    return cases


def _gradient_descent_practice() -> list[Case]:
    cases = _quadratic_descents(9202, [(2, 6), (3, 8)])
    x0 = np.array([-0.8, 1.3])
    cases.append(Case.of("grad_fn = Rosenbrock's gradient, x0=[-0.8, 1.3], lr=0.0005, "
                         "num_steps=12", grad_fn=ROSENBROCK.grad, x0=x0, lr=5e-4,
                         num_steps=12))
    return cases


@cache
def _digits_subset(n: int = 300, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from labkit.data import digits

    split = digits(seed=0)
    return split.X_train[start:start + n], split.y_train[start:start + n]


def _train_softmax_cases() -> list[Case]:
    X, y = _digits_subset()
    cases = []
    for batch_size, lr, epochs, seed in [(32, 0.1, 3, 0), (300, 0.5, 3, 1), (1, 0.01, 1, 2),
                                         (64, 0.2, 2, 3)]:
        label = (f"X, y = the first 300 training digits (X: float64 (300, 64)), "
                 f"batch_size={batch_size}, lr={lr}, epochs={epochs}, seed={seed}")
        cases.append(Case.of(label, X=X, y=y, batch_size=batch_size, lr=lr, epochs=epochs,
                             seed=seed))
    return cases


def _train_softmax_practice() -> list[Case]:
    X, y = _digits_subset(100, start=300)
    cases = []
    for batch_size, lr, epochs, seed in [(16, 0.1, 2, 60), (100, 0.3, 2, 61)]:
        label = (f"X, y = training digits 300…399 (X: float64 (100, 64)), "
                 f"batch_size={batch_size}, lr={lr}, epochs={epochs}, seed={seed}")
        cases.append(Case.of(label, X=X, y=y, batch_size=batch_size, lr=lr, epochs=epochs,
                             seed=seed))
    return cases


def _experiment_case() -> list[Case]:
    return [Case((), (), "your value of critical_lr")]


register(Spec("sgd.sgd_step", _sgd_step_cases, call_keeping_inputs, "one SGD step",
              practice=_sgd_step_practice))
register(Spec("sgd.minibatches", _minibatch_cases, _run_minibatches, "one epoch of batches",
              practice=_minibatch_practice))
register(Spec("sgd.gradient_descent", _gradient_descent_cases, call, "GD iterates",
              practice=_gradient_descent_practice))
register(Spec("sgd.train_softmax", _train_softmax_cases, call, "per-epoch training loss",
              practice=_train_softmax_practice))
register(Spec("sgd.critical_lr", _experiment_case, value, "the measured critical rate"))
