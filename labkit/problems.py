"""Fixed problems that the exercises' experiments are about (shared by notebook and grader)."""

from __future__ import annotations

import numpy as np

EX01_QUADRATIC = np.array([[6.0, 2.0, 0.0],
                           [2.0, 5.0, 1.0],
                           [0.0, 1.0, 3.0]])
"""Exercise 01: the Hessian of ``f(x) = ½ xᵀAx`` whose critical learning rate is measured."""

EX02_QUADRATIC = np.diag([1.0, 50.0])
"""Exercise 02: an ill-conditioned bowl (κ = 50) on which momentum values are compared."""
EX02_START = np.array([1.0, 1.0])
EX02_LR = 0.01
EX02_TOLERANCE = 1e-6
EX02_MAX_STEPS = 5000
EX02_MOMENTA = (0.0, 0.5, 0.9, 0.95, 0.99)

EX04_STEPS = 500
"""Exercise 04: steps each adaptive method takes on Rosenbrock's function from its start."""
EX04_SETTINGS = {
    "adagrad": dict(lr=0.5),
    "rmsprop": dict(lr=0.01, alpha=0.9),
    "adam": dict(lr=0.05, beta1=0.9, beta2=0.999),
}
"""Exercise 04: hyperparameters of each method (the rest are the functions' defaults)."""


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

EX03_STARTS = np.array([[0.4, 0.3], [2.0, -1.5], [-0.3, 0.6], [-1.7, -0.2],
                        [0.9, 2.5], [-0.6, -1.8], [1.3, -0.4], [-2.2, 1.1]])
"""Exercise 03: starting points of Newton's method on ``labkit.functions.CUBIC``."""
EX03_NEWTON_STEPS = 20

EX06_EPOCHS = 8
"""Exercise 06: softmax regression on the digits training set, trained under schedules."""
EX06_BATCH = 64
EX06_LR = 0.5
EX06_WARMUP = 20
EX06_SEED = 6

EX07_START_LR = 1e-4
"""Exercise 07: an exponential learning-rate sweep on softmax regression (digits)."""
EX07_END_LR = 30.0
EX07_ITERS = 80
EX07_BATCH = 64
EX07_SMOOTH = 0.9
EX07_SEED = 7

EX08_SPACE = {"lr": (1e-4, 1.0, "log"), "weight_decay": (1e-6, 1e-2, "log")}
"""Exercise 08: a search space, name → (low, high, "log" or "linear")."""
EX08_BUDGET = 9
EX08_SEEDS = tuple(range(20))


def ex08_objective(params: dict[str, float]) -> float:
    """A validation loss where only the learning rate matters much (Bergstra & Bengio's
    setting): its best value is at lr = 10^-1.7 ≈ 0.02, almost whatever the weight decay."""
    return (float(np.log10(params["lr"])) + 1.7) ** 2 + 0.01 * (
        float(np.log10(params["weight_decay"])) + 4) ** 2 + 0.2
