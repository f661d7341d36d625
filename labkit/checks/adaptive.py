"""Grader-chosen inputs for exercise 04 (Adagrad, RMSProp, Adam)."""

from __future__ import annotations

import numpy as np

from labkit.checks import Case, Spec, call, call_keeping_inputs, register, value
from labkit.checks.optimizers import optimizer_cases, train_two_tensors

# -- exercise 04's fixed problem (the notebook imports it from here) -------------------------------
EX04_STEPS = 500
"""Exercise 04: steps each adaptive method takes on Rosenbrock's function from its start."""
EX04_SETTINGS = {
    "adagrad": dict(lr=0.5),
    "rmsprop": dict(lr=0.01, alpha=0.9),
    "adam": dict(lr=0.05, beta1=0.9, beta2=0.999),
}
"""Exercise 04: hyperparameters of each method (the rest are the functions' defaults)."""

_SHAPES = [(3,), (2, 4), (5,), (1, 3, 2)]


def _arrays(rng: np.random.Generator, shape: tuple, scale: float = 1.0):
    """A point, a gradient (with one exact zero and one large entry) and a positive state."""
    x, g = rng.standard_normal(shape), scale * rng.standard_normal(shape)
    g.flat[0] = 0.0
    g.flat[-1] *= 100.0
    return x, g, rng.uniform(0.0, 2.0, shape)


def _adagrad_case(rng: np.random.Generator, shape: tuple) -> Case:
    x, g, sum_sq = _arrays(rng, shape)
    lr = float(10 ** rng.uniform(-2, 0))
    return Case.of(f"x, g, sum_sq: float64 arrays of shape {shape} (g has a zero and a "
                   f"large entry, sum_sq > 0), lr={lr:.4g}, eps=1e-10",
                   x=x, g=g, sum_sq=sum_sq, lr=lr, eps=1e-10)


def _adagrad_first_step(rng: np.random.Generator, d: int, lr: float) -> Case:
    x, g, _ = _arrays(rng, (d,))
    return Case.of(f"the first step: sum_sq = zeros({d}), lr={lr}, eps=1e-10", x=x, g=g,
                   sum_sq=np.zeros(d), lr=lr, eps=1e-10)


def _adagrad_cases() -> list[Case]:
    rng = np.random.default_rng(401)
    cases = [_adagrad_case(rng, shape) for shape in _SHAPES]
    cases.append(_adagrad_first_step(rng, 4, 0.1))
    x, g, sum_sq = _arrays(rng, (3,), scale=1e-3)
    cases.append(Case.of("tiny gradients and sum_sq (about 1e-4) with a large eps=0.01, lr=0.1",
                         x=x, g=g, sum_sq=1e-4 * sum_sq, lr=0.1, eps=1e-2))
    return cases


def _adagrad_practice() -> list[Case]:
    rng = np.random.default_rng(9401)
    return [_adagrad_case(rng, (2, 3)), _adagrad_first_step(rng, 3, 0.05)]


def _rmsprop_case(rng: np.random.Generator, shape: tuple, alpha: float) -> Case:
    x, g, mean_sq = _arrays(rng, shape)
    lr = float(10 ** rng.uniform(-3, -1))
    return Case.of(f"x, g, mean_sq: float64 arrays of shape {shape}, lr={lr:.4g}, "
                   f"alpha={alpha}, eps=1e-8", x=x, g=g, mean_sq=mean_sq, lr=lr, alpha=alpha,
                   eps=1e-8)


def _rmsprop_cases() -> list[Case]:
    rng = np.random.default_rng(402)
    cases = [_rmsprop_case(rng, shape, alpha)
             for shape, alpha in zip(_SHAPES, (0.99, 0.9, 0.5, 0.999), strict=True)]
    x, g, mean_sq = _arrays(rng, (3,), scale=1e-3)
    cases.append(Case.of("tiny gradients and mean_sq (about 1e-4) with a large eps=0.01, lr=0.01, "
                         "alpha=0.9", x=x, g=g, mean_sq=1e-4 * mean_sq, lr=0.01,
                         alpha=0.9, eps=1e-2))
    return cases


def _rmsprop_practice() -> list[Case]:
    rng = np.random.default_rng(9402)
    cases = [_rmsprop_case(rng, (2, 3), 0.95)]
    x, g, mean_sq = _arrays(rng, (2,), scale=1e-3)
    cases.append(Case.of("tiny gradients and mean_sq (about 1e-4) with a large eps=0.01, lr=0.02, "
                         "alpha=0.8", x=x, g=g, mean_sq=1e-4 * mean_sq, lr=0.02,
                         alpha=0.8, eps=1e-2))
    return cases


def _adam_case(rng: np.random.Generator, shape: tuple, t: int) -> Case:
    x, g, v = _arrays(rng, shape)
    m = 0.1 * rng.standard_normal(shape) if t else np.zeros(shape)
    v = 0.01 * v if t else np.zeros(shape)
    lr, beta1, beta2 = float(10 ** rng.uniform(-3, -1)), 0.9, (0.999 if t != 9 else 0.99)
    return Case.of(f"x, g, m, v: float64 arrays of shape {shape}, t={t} "
                   f"({'zero moments' if not t else 'moments from earlier steps'}), "
                   f"lr={lr:.4g}, beta1={beta1}, beta2={beta2}, eps=1e-8",
                   x=x, g=g, m=m, v=v, t=t, lr=lr, beta1=beta1, beta2=beta2, eps=1e-8)


def _adam_cases() -> list[Case]:
    rng = np.random.default_rng(403)
    cases = [_adam_case(rng, shape, t)
             for shape, t in zip([*_SHAPES, (3,)], (0, 1, 9, 99, 0), strict=True)]
    x, g, _ = _arrays(rng, (3,), scale=1e-3)
    cases.append(Case.of("the first step with tiny gradients (about 1e-3) and a large eps=1e-3, "
                         "lr=0.01", x=x, g=g, m=np.zeros(3), v=np.zeros(3), t=0,
                         lr=0.01, beta1=0.9, beta2=0.999, eps=1e-3))
    return cases


def _adam_practice() -> list[Case]:
    rng = np.random.default_rng(9403)
    return [_adam_case(rng, (4,), 0), _adam_case(rng, (2, 3), 4), _adam_case(rng, (3,), 9)]


_OPTIMIZER_SETTINGS = [
    (dict(lr=0.05), 40, None),
    (dict(lr=0.01, betas=(0.8, 0.99)), 60, None),
    (dict(lr=0.02, eps=1e-3), 30, None),
    (dict(lr=0.03, weight_decay=0.1), 50, None),
    (dict(lr=0.05, betas=(0.9, 0.9), weight_decay=0.01), 60, 30),
]


def _optimizer_cases() -> list[Case]:
    return optimizer_cases(_OPTIMIZER_SETTINGS, first_seed=410)


def _optimizer_practice() -> list[Case]:
    return optimizer_cases([(dict(lr=0.02), 15, None),
                            (dict(lr=0.04, betas=(0.85, 0.995), weight_decay=0.05), 20, 10)],
                           first_seed=430)


def _experiment_case() -> list[Case]:
    return [Case((), (), "your dict final_losses")]


register(Spec("adaptive.adagrad_step", _adagrad_cases, call_keeping_inputs, "Adagrad step",
              practice=_adagrad_practice))
register(Spec("adaptive.rmsprop_step", _rmsprop_cases, call, "RMSProp step",
              practice=_rmsprop_practice))
register(Spec("adaptive.adam_step", _adam_cases, call_keeping_inputs, "Adam step",
              practice=_adam_practice))
register(Spec("adaptive.optimizer", _optimizer_cases, train_two_tensors, "torch Adam",
              practice=_optimizer_practice))
register(Spec("adaptive.final_losses", _experiment_case, value, "losses after the runs"))
