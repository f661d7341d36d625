"""Grader-chosen inputs for exercise 09 (batch size)."""

from __future__ import annotations

import math

import numpy as np

from labkit.checks import Case, Spec, call, register, value


# -- exercise 09's fixed problem (the notebook imports it from here) -------------------------------
def _ex09_problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(9)
    X = rng.standard_normal((256, 5))
    y = X @ rng.standard_normal(5) + 0.5 * rng.standard_normal(256)
    return X, y


EX09_X, EX09_Y = _ex09_problem()
"""Exercise 09: least squares ``½·mean((Xw − y)²)`` on N = 256 examples whose gradient noise
is measured at ``EX09_W`` for each batch size in ``EX09_BATCHES`` (sampling without
replacement, ``EX09_DRAWS`` batches each, a generator seeded with ``EX09_SEED``)."""
EX09_W = np.zeros(5)
EX09_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 192)
EX09_DRAWS = 300
EX09_SEED = 9


def _least_squares(seed: int, n: int, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A least-squares problem and a point away from its minimum."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d)
    y = X @ rng.standard_normal(d) + rng.uniform(0.1, 1.0) * rng.standard_normal(n)
    return X, y, rng.standard_normal(d)


def _gradients(settings: list[tuple[int, int, int, int]]) -> list[Case]:
    cases = []
    for seed, n, d, batch in settings:
        X, y, w = _least_squares(seed, n, d)
        idx = np.random.default_rng(100 + seed).choice(n, size=batch, replace=False)
        cases.append(Case.of(f"a least-squares problem with N={n}, d={d}, and {batch} indices "
                             f"{idx[:5].tolist()}{'…' if batch > 5 else ''}",
                             w=w, X=X, y=y, indices=idx))
    return cases


def _gradient_cases() -> list[Case]:
    cases = _gradients([(0, 20, 3, 5), (1, 50, 4, 1), (2, 30, 2, 30), (3, 100, 6, 64),
                        (4, 12, 1, 7)])
    X, y, w = _least_squares(5, 10, 3)
    idx = np.array([2, 2, 7, 2])
    cases.append(Case.of("N=10, d=3, indices [2, 2, 7, 2] (a repeated index counts each time)",
                         w=w, X=X, y=y, indices=idx))
    return cases


def _gradient_practice() -> list[Case]:
    cases = _gradients([(60, 15, 3, 4), (61, 8, 2, 8)])
    X, y, w = _least_squares(62, 6, 2)
    idx = np.array([4, 1, 4])
    cases.append(Case.of("N=6, d=2, indices [4, 1, 4] (a repeated index counts each time)",
                         w=w, X=X, y=y, indices=idx))
    return cases


def _noises(settings: list[tuple[int, int, int, int, int, bool]]) -> list[Case]:
    cases = []
    for seed, n, d, batch, draws, replace in settings:
        X, y, w = _least_squares(seed, n, d)
        cases.append(Case.of(f"N={n}, d={d}, batch_size={batch}, draws={draws}, seed={seed}, "
                             f"replace={replace}", w=w, X=X, y=y,
                             batch_size=batch, draws=draws, seed=seed,
                             replace=replace))
    return cases


def _noise_cases() -> list[Case]:
    return _noises([(10, 40, 3, 1, 200, False), (11, 40, 3, 20, 200, False),
                    (12, 40, 3, 20, 200, True), (13, 64, 5, 48, 150, False),
                    (14, 30, 2, 30, 50, False), (15, 25, 4, 60, 100, True)])


def _noise_practice() -> list[Case]:
    return _noises([(70, 30, 2, 5, 40, False), (71, 20, 3, 40, 30, True)])


def _predicteds(settings: list[tuple[int, int, int, int, bool]]) -> list[Case]:
    cases = []
    for seed, n, d, batch, replace in settings:
        X, y, w = _least_squares(seed, n, d)
        cases.append(Case.of(f"N={n}, d={d}, batch_size={batch}, replace={replace}", w=w, X=X, y=y,
                             batch_size=batch, replace=replace))
    return cases


def _predicted_cases() -> list[Case]:
    return _predicteds([(20, 50, 3, 1, False), (21, 50, 3, 25, False), (22, 50, 3, 25, True),
                        (23, 100, 4, 90, False), (24, 17, 2, 17, False), (25, 30, 5, 100, True),
                        (26, 200, 6, 8, False)])


def _predicted_practice() -> list[Case]:
    return _predicteds([(80, 40, 3, 10, False), (81, 20, 2, 20, False), (82, 15, 2, 6, True)])


def _times(batches: list[int], settings: list[tuple[list, float, float]]) -> list[Case]:
    cases = []
    for steps, overhead, per_example in settings:
        cases.append(Case.of(f"batch_sizes={batches[:len(steps)]}, steps={steps}, "
                             f"overhead={overhead}, per_example={per_example}",
                             batch_sizes=batches[:len(steps)],
                             steps=steps, overhead=overhead,
                             per_example=per_example))
    return cases


def _time_cases() -> list[Case]:
    batches = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    model = [round(300 * (1 + 50 / b)) for b in batches]  # S_min (1 + B_noise / B)
    measured = [4100, 2080, 1075, 560, 300, 170, 105, 80, 70, math.inf, math.inf]
    return _times(batches, [(model, 40.0, 1.0), (model, 1.0, 1.0), (model, 5000.0, 1.0),
                            (model, 0.0, 1.0), (measured, 2e-3, 1e-5), (measured, 5e-4, 4e-5),
                            (measured[:5], 1e-3, 1e-4)])


def _time_practice() -> list[Case]:
    batches = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    model = [round(200 * (1 + 20 / b)) for b in batches]  # S_min (1 + B_noise / B)
    measured = [2500, 1300, 700, 380, 220, 150, 120, math.inf, math.inf]
    return _times(batches, [(model, 10.0, 1.0), (measured, 1e-3, 2e-5)])


def _no_decay(k: int) -> float:
    return 1.0


def _step_decay(k: int) -> float:
    """0.1 every 30 of its own steps."""
    return 0.1 ** (k // 30)


def _cosine_decay(k: int) -> float:
    """A cosine from 1 to 0 over 50 of its own steps, then 0."""
    return 0.5 * (1 + math.cos(math.pi * min(k, 50) / 50))


_DECAYS = {"1": _no_decay, "0.1 ** (k // 30)": _step_decay,
           "0.5·(1 + cos(π·min(k, 50)/50))": _cosine_decay}


def _warmups(settings: list[tuple[int, float, int, int, int, str]]) -> list[Case]:
    cases = []
    for horizon, base_lr, base_batch, batch, warmup, name in settings:
        cases.append(Case((horizon, base_lr, base_batch, batch, warmup, _DECAYS[name]), (),
                          f"steps 0…{horizon - 1} with base_lr={base_lr}, "
                          f"base_batch={base_batch}, batch_size={batch}, "
                          f"warmup_steps={warmup}, decay(k) = {name}"))
    return cases


def _warmup_cases() -> list[Case]:
    return _warmups([(40, 0.1, 256, 1024, 10, "1"), (80, 0.1, 256, 8192, 20, "0.1 ** (k // 30)"),
                     (60, 0.05, 32, 128, 5, "0.5·(1 + cos(π·min(k, 50)/50))"),
                     (20, 0.2, 64, 64, 4, "1"), (30, 0.01, 128, 512, 1, "0.1 ** (k // 30)"),
                     (25, 0.1, 256, 2048, 0, "1")])


def _warmup_practice() -> list[Case]:
    return _warmups([(30, 0.1, 128, 512, 6, "0.5·(1 + cos(π·min(k, 50)/50))"),
                     (15, 0.05, 64, 256, 0, "1")])


def _curve(answer, case: Case) -> dict:
    """The rate at every step of a horizon: ``answer(step, *rest)`` for step < horizon."""
    horizon, *rest = case.args
    return {"value": [float(answer(step, *rest)) for step in range(horizon)]}


def _experiment_case() -> list[Case]:
    return [Case((), (), "your dict noise_slopes")]


register(Spec("batch_size.minibatch_gradient", _gradient_cases, call, "mini-batch gradient",
              practice=_gradient_practice))
register(Spec("batch_size.gradient_noise", _noise_cases, call, "measured gradient noise",
              practice=_noise_practice))
register(Spec("batch_size.predicted_noise", _predicted_cases, call, "exact gradient noise",
              practice=_predicted_practice))
register(Spec("batch_size.noise_slopes", _experiment_case, value, "log-log slopes"))
register(Spec("batch_size.time_to_target", _time_cases, call, "time-optimal batch",
              practice=_time_practice))
register(Spec("batch_size.warmup", _warmup_cases, _curve, "linear scaling with warm-up",
              practice=_warmup_practice))
