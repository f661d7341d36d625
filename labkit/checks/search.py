"""Grader-chosen inputs for exercise 08 (hyperparameter search)."""

from __future__ import annotations

import numpy as np

from labkit.checks import Case, Spec, call, register, value

# -- exercise 08's fixed problem (the notebook imports it from here) -------------------------------
EX08_SPACE = {"lr": (1e-4, 1.0, "log"), "weight_decay": (1e-6, 1e-2, "log")}
"""Exercise 08: a search space, name → (low, high, "log" or "linear")."""
EX08_BUDGET = 9
EX08_SEEDS = tuple(range(20))


def ex08_objective(params: dict[str, float]) -> float:
    """A validation loss where only the learning rate matters much (Bergstra & Bengio's
    setting): its best value is at lr = 10^-1.7 ≈ 0.02, almost whatever the weight decay."""
    return (float(np.log10(params["lr"])) + 1.7) ** 2 + 0.01 * (
        float(np.log10(params["weight_decay"])) + 4) ** 2 + 0.2


def _log_uniforms(settings: list[tuple]) -> list[Case]:
    return [Case((seed, low, high, size), (), f"rng=np.random.default_rng({seed}), low={low}, "
                 f"high={high}, size={size}")
            for seed, low, high, size in settings]


def _log_uniform_cases() -> list[Case]:
    return _log_uniforms([(0, 1e-5, 1.0, 1000), (1, 0.1, 10.0, 7), (2, 3e-4, 3e-3, (4, 5)),
                          (3, 1.0, 1e6, 50)])


def _log_uniform_practice() -> list[Case]:
    return _log_uniforms([(60, 1e-3, 1.0, 6), (61, 0.5, 50.0, (2, 3))])


def _run_log_uniform(answer, case: Case) -> dict:
    seed, low, high, size = case.args
    return {"value": np.asarray(answer(np.random.default_rng(seed), low, high, size),
                                dtype=float)}


def _grids(settings: list[tuple[float, float, int, bool]]) -> list[Case]:
    return [Case(args, ("low", "high", "n", "log"), f"low={args[0]}, high={args[1]}, "
                 f"n={args[2]}, log={args[3]}")
            for args in settings]


def _grid_cases() -> list[Case]:
    return _grids([(1e-4, 1.0, 5, True), (0.0, 1.0, 11, False), (1e-6, 1e-2, 3, True),
                   (2.0, 8.0, 4, False), (0.5, 0.5, 1, True)])


def _grid_practice() -> list[Case]:
    return _grids([(1e-3, 10.0, 5, True), (-1.0, 1.0, 5, False), (2.0, 2.0, 1, True)])


def _objective(params: dict) -> float:
    """A bumpy function of up to three hyperparameters (the search cases' objective)."""
    total = 0.0
    for i, (name, value_) in enumerate(sorted(params.items())):
        total += (np.log10(value_) + 1.0 + 0.3 * i) ** 2 if name != "dropout" else (
            (value_ - 0.3) ** 2)
    return float(total + 0.1 * np.sin(7 * total))


def _searches(spaces: list[tuple[dict, int, int]]) -> list[Case]:
    return [Case.of(f"a bumpy objective over the space {space}, budget={budget}, seed={seed}",
                    objective=_objective, space=space, budget=budget,
                    seed=seed)
            for space, budget, seed in spaces]


def _search_cases() -> list[Case]:
    return _searches([({"lr": (1e-4, 1.0, "log")}, 10, 0),
                      ({"lr": (1e-5, 1.0, "log"), "dropout": (0.0, 0.8, "linear")}, 25, 1),
                      ({"lr": (1e-4, 0.1, "log"), "weight_decay": (1e-6, 1e-2, "log"),
                        "dropout": (0.0, 0.5, "linear")}, 40, 2)])


def _search_practice() -> list[Case]:
    return _searches([({"lr": (1e-3, 1.0, "log")}, 6, 60),
                      ({"lr": (1e-4, 0.1, "log"), "dropout": (0.1, 0.6, "linear")}, 8, 61)])


def _boundaries(space: dict, points: list[dict], margins: tuple[float, ...]) -> list[Case]:
    return [Case.of(f"best={point}, space={space}, margin={margin}", best=point, space=space,
                    margin=margin)
            for point in points for margin in margins]


def _boundary_cases() -> list[Case]:
    space = {"lr": (1e-4, 1.0, "log"), "momentum": (0.5, 0.99, "linear"),
             "weight_decay": (1e-6, 1e-2, "log")}
    points = [{"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4},
              {"lr": 1.2e-4, "momentum": 0.9, "weight_decay": 1e-4},
              {"lr": 0.9, "momentum": 0.52, "weight_decay": 9e-3},
              {"lr": 0.05, "momentum": 0.97, "weight_decay": 1.1e-6},
              {"lr": 6e-4, "momentum": 0.6, "weight_decay": 1e-3},
              {"lr": 0.6, "momentum": 0.75, "weight_decay": 3e-6}]
    return _boundaries(space, points, (0.05, 0.2))


def _boundary_practice() -> list[Case]:
    space = {"lr": (1e-4, 1.0, "log"), "momentum": (0.5, 0.99, "linear"),
             "weight_decay": (1e-6, 1e-2, "log")}
    points = [{"lr": 0.003, "momentum": 0.8, "weight_decay": 5e-5},
              {"lr": 1.5e-4, "momentum": 0.98, "weight_decay": 2e-5},
              {"lr": 0.2, "momentum": 0.7, "weight_decay": 6e-3}]
    return _boundaries(space, points, (0.1,))


def _experiment_case() -> list[Case]:
    return [Case((), (), "your dict best_scores")]


register(Spec("search.log_uniform", _log_uniform_cases, _run_log_uniform, "log-uniform draws",
              practice=_log_uniform_practice))
register(Spec("search.grid", _grid_cases, call, "grid points", practice=_grid_practice))
register(Spec("search.random_search", _search_cases, call, "random search",
              practice=_search_practice))
register(Spec("search.on_boundary", _boundary_cases, call, "boundary warning",
              practice=_boundary_practice))
register(Spec("search.best_scores", _experiment_case, value, "grid vs random"))
