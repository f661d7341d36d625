"""Grader-chosen inputs for exercise 05 (AMSGrad, AdamW, RAdam)."""

from __future__ import annotations

import numpy as np

from labkit.checks import Case, Spec, call, register, value
from labkit.checks.optimizers import optimizer_cases, train_two_tensors


# -- exercise 05's fixed problem (the notebook imports it from here) -------------------------------
def _ex05_problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    scales = np.array([1.0, 10.0, 0.1, 3.0, 0.3])  # badly scaled features
    X = rng.standard_normal((64, 5)) * scales
    y = X @ rng.standard_normal(5) + 0.1 * rng.standard_normal(64)
    return X, y


EX05_X, EX05_Y = _ex05_problem()
"""Exercise 05: least squares ``½·mean((Xw − y)²)`` with features on very different scales."""
EX05_LR = 0.05
EX05_WEIGHT_DECAY = 0.1
EX05_STEPS = 300

_NAMES = ("x", "g", "m", "v", "t", "lr", "beta1", "beta2", "eps")


def _moments(rng: np.random.Generator, shape: tuple, t: int):
    x, g = rng.standard_normal(shape), rng.standard_normal(shape)
    g.flat[0] = 0.0
    if t == 0:
        return x, g, np.zeros(shape), np.zeros(shape)
    return x, g, 0.1 * rng.standard_normal(shape), 0.01 * rng.uniform(0.0, 2.0, shape)


def _amsgrad_settings(seed: int, settings: list[tuple[tuple, int]]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for shape, t in settings:
        x, g, m, v = _moments(rng, shape, t)
        # v_max is the largest v seen so far: at least v, larger in some coordinates.
        v_max = v + (rng.uniform(size=shape) < 0.5) * 0.02 * rng.uniform(size=shape)
        lr = float(10 ** rng.uniform(-3, -1))
        cases.append(Case.of(f"x, g, m, v, v_max: float64 arrays of shape {shape} (v_max ≥ v, "
                             f"larger in some coordinates), t={t}, lr={lr:.4g}, betas=(0.9, 0.999),"
                             " eps=1e-8", x=x, g=g, m=m, v=v, v_max=v_max, t=t,
                             lr=lr, beta1=0.9, beta2=0.999, eps=1e-8))
    return cases


def _amsgrad_cases() -> list[Case]:
    return _amsgrad_settings(501, [((3,), 0), ((2, 3), 1), ((4,), 5), ((5,), 50), ((1, 4), 500)])


def _amsgrad_practice() -> list[Case]:
    return _amsgrad_settings(9501, [((4,), 0), ((2, 2), 7)])


def _adamw_settings(seed: int, settings: list[tuple[tuple, int, float]]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for shape, t, decay in settings:
        x, g, m, v = _moments(rng, shape, t)
        lr = float(10 ** rng.uniform(-2, -0.5))
        cases.append(Case((x, g, m, v, t, lr, 0.9, 0.999, 1e-8, decay),
                          (*_NAMES, "weight_decay"),
                          f"x, g, m, v: float64 arrays of shape {shape}, t={t}, lr={lr:.4g}, "
                          f"betas=(0.9, 0.999), eps=1e-8, weight_decay={decay}"))
    return cases


def _adamw_cases() -> list[Case]:
    return _adamw_settings(502, [((3,), 0, 0.01), ((2, 3), 4, 0.1), ((4,), 20, 0.5),
                                 ((5,), 0, 0.0), ((2, 2), 100, 0.05)])


def _adamw_practice() -> list[Case]:
    return _adamw_settings(9502, [((3,), 0, 0.2), ((2, 2), 6, 0.0)])


def _radam_settings(seed: int, settings: list[tuple[tuple, int, float]]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for shape, t, beta2 in settings:
        x, g, m, v = _moments(rng, shape, t)
        lr = float(10 ** rng.uniform(-3, -1))
        cases.append(Case((x, g, m, v, t, lr, 0.9, beta2, 1e-8), _NAMES,
                          f"x, g, m, v: float64 arrays of shape {shape}, t={t} (this is step "
                          f"{t + 1}), lr={lr:.4g}, beta1=0.9, beta2={beta2}, eps=1e-8"))
    return cases


def _radam_cases() -> list[Case]:
    return _radam_settings(503, [((3,), 0, 0.999), ((2, 3), 3, 0.999), ((4,), 4, 0.999),
                                 ((5,), 5, 0.999), ((2,), 10, 0.99), ((3, 2), 200, 0.999),
                                 ((4,), 5, 0.9)])


def _radam_practice() -> list[Case]:
    return _radam_settings(9503, [((3,), 1, 0.999), ((2, 2), 7, 0.999), ((3,), 6, 0.9)])


_OPTIMIZER_SETTINGS = [
    (dict(lr=0.05), 40, None),
    (dict(lr=0.02, weight_decay=0.1), 60, None),
    (dict(lr=0.05, weight_decay=0.5, betas=(0.8, 0.99)), 40, 20),
    (dict(lr=0.03, amsgrad=True), 60, None),
    (dict(lr=0.05, weight_decay=0.05, amsgrad=True, eps=1e-4), 60, 30),
]


def _optimizer_cases() -> list[Case]:
    return optimizer_cases(_OPTIMIZER_SETTINGS, first_seed=510)


def _optimizer_practice() -> list[Case]:
    return optimizer_cases([(dict(lr=0.03, weight_decay=0.2), 15, None),
                            (dict(lr=0.04, weight_decay=0.02, amsgrad=True), 20, 10)],
                           first_seed=520)


def _experiment_case() -> list[Case]:
    return [Case((), (), "your dict final_weights")]


register(Spec("beyond_adam.amsgrad_step", _amsgrad_cases, call, "AMSGrad step",
              practice=_amsgrad_practice))
register(Spec("beyond_adam.adamw_step", _adamw_cases, call, "AdamW step",
              practice=_adamw_practice))
register(Spec("beyond_adam.radam_step", _radam_cases, call, "RAdam step",
              practice=_radam_practice))
register(Spec("beyond_adam.optimizer", _optimizer_cases, train_two_tensors, "torch AdamW",
              practice=_optimizer_practice))
register(Spec("beyond_adam.final_weights", _experiment_case, value, "weights after the runs"))
