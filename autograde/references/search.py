"""Exercise 08 (hyperparameter search): references and the catalog of typical mistakes."""

from __future__ import annotations

import itertools

import numpy as np

from autograde.references import Computed, Expected, Mistake
from labkit.checks.search import EX08_BUDGET, EX08_SEEDS, EX08_SPACE, ex08_objective
from solutions import search as ref


def random_search(objective, space, budget, seed):
    result = ref.random_search(objective, space, budget, seed)
    return result.best_params, result.best_score


def _best_scores() -> dict:
    grid_best = ref.grid_search(ex08_objective, EX08_SPACE, 3).best_score
    random_best = [ref.random_search(ex08_objective, EX08_SPACE, EX08_BUDGET, seed).best_score
                   for seed in EX08_SEEDS]
    return {"grid": grid_best, "random_mean": float(np.mean(random_best)),
            "random_wins": int(sum(best < grid_best for best in random_best))}


# -- typical mistakes ------------------------------------------------------------------------
def _log_uniform_linear(rng, low, high, size=None):
    return rng.uniform(low, high, size)


def _log_uniform_bounds_as_exponents(rng, low, high, size=None):
    return 10 ** rng.uniform(low, high, size)


def _grid_linear_for_log(low, high, n, log=True):
    return np.linspace(low, high, n)


def _grid_logspace_of_bounds(low, high, n, log=True):
    return np.logspace(low, high, n) if log else np.linspace(low, high, n)


def _random_search_new_generator_each_trial(objective, space, budget, seed):
    """A fresh ``default_rng(seed)`` per trial: every trial is the same point."""
    trials = [ref.random_search(objective, space, 1, seed).trials[0] for _ in range(budget)]
    return min(trials, key=lambda trial: trial[1])


def _random_search_maximizes(objective, space, budget, seed):
    result = ref.random_search(objective, space, budget, seed)
    return max(result.trials, key=lambda trial: trial[1])


def _on_boundary_linear_margin(best, space, margin=0.05):
    return [name for name, (low, high, _) in space.items()
            if not margin < ref.position(best[name], low, high, "linear") < 1 - margin]


# -- carry-forward: searches built on the student's own log_uniform, grid, random_search ----
def random_search_with(log_uniform=ref.log_uniform):
    """Part 3's random search as the exercise writes it, drawing with ``log_uniform``."""
    def random_search(objective, space, budget, seed):
        rng, best = np.random.default_rng(seed), None
        for _ in range(budget):
            params = {name: float(log_uniform(rng, low, high) if scale == "log"
                                  else rng.uniform(low, high))
                      for name, (low, high, scale) in space.items()}
            score = objective(params)
            if best is None or score < best[1]:
                best = (params, score)
        return best
    return random_search


def best_scores_with(grid=ref.grid, random_search=None, log_uniform=None) -> dict:
    """Part 4's comparison with the given ``grid`` and ``random_search`` (or one built on
    ``log_uniform``)."""
    search = random_search or random_search_with(log_uniform or ref.log_uniform)
    axes = [grid(low, high, 3) for low, high, _ in EX08_SPACE.values()]
    grid_best = min(ex08_objective(dict(zip(EX08_SPACE, values, strict=True)))
                    for values in itertools.product(*axes))
    random_best = [search(ex08_objective, EX08_SPACE, EX08_BUDGET, seed)[1]
                   for seed in EX08_SEEDS]
    return {"grid": grid_best, "random_mean": float(np.mean(random_best)),
            "random_wins": int(sum(best < grid_best for best in random_best))}


EXPECTED = {
    "search.log_uniform": Expected(ref.log_uniform, mistakes=(
        Mistake("linear", "Draw the exponent uniformly — 10 ** rng.uniform(log10(low), "
                "log10(high), size) — so that every decade gets the same share of the draws; "
                "uniform draws put almost all of them in the top decade.",
                _log_uniform_linear,
                diagnosis="the draws are uniform in the values themselves, so almost all of them "
                "land in the top decade and small values are hardly ever tried."),
        Mistake("bounds_as_exponents", "low and high are the bounds of the values, not of "
                "their exponents: draw between log10(low) and log10(high).",
                _log_uniform_bounds_as_exponents,
                diagnosis="the draws are 10 to the power of numbers between low and high, so "
                "they land far outside [low, high]."),
    )),
    "search.grid": Expected(ref.grid, mistakes=(
        Mistake("linear_for_log", "With log=True the values are equally spaced on a log "
                "scale (np.geomspace), not a linear one.", _grid_linear_for_log,
                diagnosis="with log=True the values are equally spaced on a linear scale, so the "
                "grid crowds the top decade and skips the small values."),
        Mistake("logspace_of_bounds", "np.logspace takes exponents: use np.geomspace(low, "
                "high, n), or np.logspace(np.log10(low), np.log10(high), n).",
                _grid_logspace_of_bounds,
                diagnosis="the log grid runs from 10**low to 10**high instead of from low to "
                "high."),
    )),
    "search.random_search": Expected(
        random_search,
        upstream={"log_uniform": "search.log_uniform"},
        reference_with=random_search_with, mistakes=(
        Mistake("maximizes", "The objective is a loss: keep the trial with the lowest score.",
                _random_search_maximizes,
                diagnosis="the search keeps the trial with the highest score, so it returns the "
                "worst configuration for a loss instead of the best."),
        Mistake("new_generator_each_trial", "Create the generator once, before the loop: a "
                "new default_rng(seed) per trial draws the same point every time.",
                _random_search_new_generator_each_trial,
                diagnosis="every trial draws the same point, so the search tries one "
                "configuration budget times."),
    )),
    "search.on_boundary": Expected(ref.on_boundary, mistakes=(
        Mistake("linear_margin", "For a \"log\" dimension measure the position on a log "
                "scale: (log v − log a) / (log b − log a).", _on_boundary_linear_margin,
                diagnosis="the position of a value in a log dimension is measured linearly, so all "
                "the small values of such a dimension are flagged as on the boundary, and some "
                "values close to its top are missed."),
    )),
    "search.best_scores": Expected(
        Computed(best_scores_with),
        upstream={"grid": "search.grid", "random_search": "search.random_search",
                  "log_uniform": "search.log_uniform"},
        reference_with=best_scores_with, rtol=1e-9, check_dtype=False),
}
