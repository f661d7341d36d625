"""Grader-chosen inputs for exercise 06 (learning-rate schedules)."""

from __future__ import annotations

from labkit.checks import Case, Spec, register, value

# -- exercise 06's fixed problem (the notebook imports it from here) -------------------------------
EX06_EPOCHS = 8
"""Exercise 06: softmax regression on the digits training set, trained under schedules."""
EX06_BATCH = 64
EX06_LR = 0.5
EX06_WARMUP = 20
EX06_SEED = 6


def _curve(answer, case: Case) -> dict:
    """The schedule at every step of a horizon: ``answer(step, *rest)`` for step < horizon."""
    horizon, *rest = case.args
    return {"value": [float(answer(step, *rest)) for step in range(horizon)]}


def _cosines(settings: list[tuple[int, float, int, float]]) -> list[Case]:
    cases = []
    for horizon, lr, t_max, eta_min in settings:
        cases.append(Case((horizon, lr, t_max, eta_min), (),
                          f"steps 0…{horizon - 1} with lr={lr}, T_max={t_max}, "
                          f"eta_min={eta_min}"))
    return cases


def _cosine_cases() -> list[Case]:
    return _cosines([(50, 0.1, 50, 0.0), (120, 0.5, 40, 0.01), (30, 1.0, 7, 0.1),
                     (10, 0.2, 1, 0.0)])


def _cosine_practice() -> list[Case]:
    return _cosines([(20, 0.3, 20, 0.0), (25, 0.2, 6, 0.05)])


def _restarts(settings: list[tuple[int, float, int, int, float]]) -> list[Case]:
    cases = []
    for horizon, lr, t_0, t_mult, eta_min in settings:
        cases.append(Case((horizon, lr, t_0, t_mult, eta_min), (),
                          f"steps 0…{horizon - 1} with lr={lr}, T_0={t_0}, T_mult={t_mult}, "
                          f"eta_min={eta_min}"))
    return cases


def _restart_cases() -> list[Case]:
    return _restarts([(100, 0.1, 10, 1, 0.0), (150, 0.5, 5, 2, 0.01), (200, 1.0, 7, 3, 0.0),
                      (20, 0.1, 1, 2, 0.0)])


def _restart_practice() -> list[Case]:
    return _restarts([(30, 0.2, 4, 1, 0.0), (40, 0.3, 3, 2, 0.02)])


def _decay(step: int) -> float:
    """The schedule wrapped in the warm-up cases: 0.05, halved every 10 of its own steps."""
    return 0.05 * 0.5 ** (step // 10)


def _warmups(settings: list[tuple[int, int, float, float]]) -> list[Case]:
    cases = []
    for horizon, warmup, start, end in settings:
        cases.append(Case((horizon, _decay, warmup, start, end), (),
                          f"steps 0…{horizon - 1}, schedule = 0.05·0.5^(k // 10), "
                          f"warmup_steps={warmup}, start_lr={start}, end_lr={end}"))
    return cases


def _warmup_cases() -> list[Case]:
    return _warmups([(60, 10, 0.0, 0.1), (40, 5, 0.01, 0.05), (30, 1, 0.0, 0.2),
                     (25, 20, 0.001, 0.1)])


def _warmup_practice() -> list[Case]:
    return _warmups([(30, 8, 0.0, 0.08), (20, 3, 0.02, 0.06)])


_METRICS = [1.0, 0.8, 0.7, 0.69, 0.695, 0.7, 0.71, 0.69, 0.6999, 0.5, 0.5, 0.5, 0.5, 0.5,
            0.49999, 0.5, 0.4, 0.41, 0.42, 0.43, 0.44, 0.45, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]


_PRACTICE_METRICS = [2.0, 1.5, 1.4, 1.41, 1.39, 1.395, 1.4, 1.2, 1.2, 1.2, 1.2, 1.1, 1.15,
                     1.12, 1.13, 1.0999]


def _plateaus(hypers: list[dict], metrics: list[float]) -> list[Case]:
    cases = []
    for hyper in hypers:
        cases.append(Case((hyper, metrics), (), f"ReduceOnPlateau(**{hyper}) fed the "
                          f"{len(metrics)} losses {metrics[:6]}…"))
    return cases


def _plateau_cases() -> list[Case]:
    return _plateaus([dict(lr=0.1), dict(lr=0.1, factor=0.5, patience=2),
                      dict(lr=1.0, factor=0.5, patience=1, cooldown=2),
                      dict(lr=1.0, factor=0.2, patience=0, cooldown=1, threshold=0.01),
                      dict(lr=0.5, factor=0.5, patience=3, threshold=0.0)], _METRICS)


def _plateau_practice() -> list[Case]:
    return _plateaus([dict(lr=0.2, factor=0.5, patience=1),
                      dict(lr=1.0, factor=0.1, patience=0, cooldown=2, threshold=0.005)],
                     _PRACTICE_METRICS)


def _run_plateau(answer_class, case: Case) -> dict:
    hyper, metrics = case.args
    plateau = answer_class(**hyper)
    return {"value": [float(plateau.step(m)) for m in metrics]}


def _experiment_case() -> list[Case]:
    return [Case((), (), "your dict final_losses")]


register(Spec("schedules.cosine", _cosine_cases, _curve, "cosine annealing",
              practice=_cosine_practice))
register(Spec("schedules.restarts", _restart_cases, _curve, "warm restarts",
              practice=_restart_practice))
register(Spec("schedules.warmup", _warmup_cases, _curve, "linear warm-up",
              practice=_warmup_practice))
register(Spec("schedules.plateau", _plateau_cases, _run_plateau, "reduce on plateau",
              practice=_plateau_practice))
register(Spec("schedules.final_losses", _experiment_case, value, "losses per schedule"))
