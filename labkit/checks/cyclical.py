"""Grader-chosen inputs for exercise 07 (cyclical rates, one-cycle, the range test)."""

from __future__ import annotations

from labkit.checks import Case, Spec, register, value
from labkit.checks.schedules import _curve

# -- exercise 07's fixed problem (the notebook imports it from here) -------------------------------
EX07_START_LR = 1e-4
"""Exercise 07: an exponential learning-rate sweep on softmax regression (digits)."""
EX07_END_LR = 30.0
EX07_ITERS = 80
EX07_BATCH = 64
EX07_SMOOTH = 0.9
EX07_SEED = 7


def _triangulars(settings: list[tuple[int, float, float, int]]) -> list[Case]:
    return [Case((horizon, base, top, size), (), f"steps 0…{horizon - 1} with base_lr={base}, "
                 f"max_lr={top}, step_size={size}")
            for horizon, base, top, size in settings]


def _triangular_cases() -> list[Case]:
    return _triangulars([(100, 0.01, 0.1, 10), (250, 0.001, 1.0, 37), (30, 0.1, 0.5, 1),
                         (60, 0.0, 0.2, 60)])


def _triangular_practice() -> list[Case]:
    return _triangulars([(40, 0.02, 0.2, 6), (12, 0.05, 0.3, 1)])


def _cyclicals(settings: list[tuple[int, float, float, int, str, float]]) -> list[Case]:
    cases = []
    for horizon, base, top, size, mode, gamma in settings:
        cases.append(Case((horizon, base, top, size, mode, gamma), (),
                          f"steps 0…{horizon - 1} with base_lr={base}, max_lr={top}, "
                          f"step_size={size}, mode={mode!r}, gamma={gamma}"))
    return cases


def _cyclical_cases() -> list[Case]:
    return _cyclicals([(200, 0.01, 0.1, 20, "triangular", 1.0),
                       (300, 0.001, 0.1, 25, "triangular2", 1.0),
                       (300, 0.01, 0.1, 30, "exp_range", 0.995),
                       (90, 0.1, 0.3, 4, "triangular2", 1.0),
                       (120, 0.0, 1.0, 15, "exp_range", 0.98)])


def _cyclical_practice() -> list[Case]:
    return _cyclicals([(40, 0.005, 0.05, 8, "triangular", 1.0),
                       (60, 0.01, 0.05, 6, "triangular2", 1.0),
                       (50, 0.02, 0.2, 5, "exp_range", 0.99)])


def _one_cycles(settings: list[tuple[float, int, float, float, float]]) -> list[Case]:
    cases = []
    for max_lr, total, pct, div, final in settings:
        cases.append(Case((total + 1, max_lr, total, pct, div, final), (),
                          f"steps 0…{total} with max_lr={max_lr}, total_steps={total}, "
                          f"pct_start={pct}, div_factor={div}, final_div_factor={final}"))
    return cases


def _one_cycle_cases() -> list[Case]:
    return _one_cycles([(0.1, 100, 0.3, 25.0, 1e4), (1.0, 250, 0.25, 10.0, 100.0),
                        (0.5, 37, 0.5, 25.0, 1e4), (0.01, 1000, 0.1, 5.0, 1e3)])


def _one_cycle_practice() -> list[Case]:
    return _one_cycles([(0.2, 40, 0.3, 25.0, 1e4), (0.05, 29, 0.2, 10.0, 100.0)])


def _schedulers(settings: list[tuple[dict, int]]) -> list[Case]:
    return [Case((hyper, steps), (), f"{steps} steps of SGD(lr=0.5) with scheduler {hyper}")
            for hyper, steps in settings]


def _scheduler_cases() -> list[Case]:
    return _schedulers([(dict(base_lr=0.01, max_lr=0.1, step_size=10), 70),
                        (dict(base_lr=0.001, max_lr=0.1, step_size=7, mode="triangular2"), 60),
                        (dict(base_lr=0.01, max_lr=0.2, step_size=5, mode="exp_range",
                              gamma=0.97), 50)])


def _scheduler_practice() -> list[Case]:
    return _schedulers([(dict(base_lr=0.02, max_lr=0.2, step_size=4), 20),
                        (dict(base_lr=0.005, max_lr=0.05, step_size=3, mode="triangular2"), 20),
                        (dict(base_lr=0.01, max_lr=0.1, step_size=4, mode="exp_range",
                              gamma=0.9), 20)])


def _run_scheduler(scheduler_class, case: Case) -> dict:
    """The learning rate the optimizer uses at each step of a short training loop."""
    import torch

    hyper, steps = case.args
    weight = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.5)
    scheduler = scheduler_class(optimizer, **hyper)
    rates = []
    for _ in range(steps):
        rates.append(float(optimizer.param_groups[0]["lr"]))
        weight.grad = torch.ones(2)
        optimizer.step()
        scheduler.step()
    return {"value": rates}


def _sweep_case() -> list[Case]:
    return [Case((), (), "your arrays lrs and smoothed and your suggested_lr")]


register(Spec("cyclical.triangular", _triangular_cases, _curve, "triangular cycle",
              practice=_triangular_practice))
register(Spec("cyclical.cyclical", _cyclical_cases, _curve, "three CLR modes",
              practice=_cyclical_practice))
register(Spec("cyclical.one_cycle", _one_cycle_cases, _curve, "one-cycle policy",
              practice=_one_cycle_practice))
register(Spec("cyclical.scheduler", _scheduler_cases, _run_scheduler, "LRScheduler class",
              practice=_scheduler_practice))
register(Spec("cyclical.range_test", _sweep_case, value, "range test on the digits"))
