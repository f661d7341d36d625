"""Exercise 08 (hyperparameter search): references and the catalog of typical mistakes."""

from __future__ import annotations

import numpy as np

from autograde.references import Expected, Mistake
from labkit.problems import EX08_BUDGET, EX08_SEEDS, EX08_SPACE, ex08_objective
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


def _grid_linear_for_log(low, high, n, log=True):
    return np.linspace(low, high, n)


def _random_search_maximizes(objective, space, budget, seed):
    result = ref.random_search(objective, space, budget, seed)
    return max(result.trials, key=lambda trial: trial[1])


def _on_boundary_linear_margin(best, space, margin=0.05):
    return [name for name, (low, high, _) in space.items()
            if not margin < ref.position(best[name], low, high, "linear") < 1 - margin]


EXPECTED = {
    "search.log_uniform": Expected(ref.log_uniform, mistakes=(
        Mistake("linear", "Draw the exponent uniformly — 10 ** rng.uniform(log10(low), "
                "log10(high), size) — so that every decade gets the same share of the draws; "
                "uniform draws put almost all of them in the top decade.",
                _log_uniform_linear),
    )),
    "search.grid": Expected(ref.grid, mistakes=(
        Mistake("linear_for_log", "With log=True the values are equally spaced on a log "
                "scale (np.geomspace), not a linear one.", _grid_linear_for_log),
    )),
    "search.random_search": Expected(random_search, mistakes=(
        Mistake("maximizes", "The objective is a loss: keep the trial with the lowest score.",
                _random_search_maximizes),
    )),
    "search.on_boundary": Expected(ref.on_boundary, mistakes=(
        Mistake("linear_margin", "For a \"log\" dimension measure the position on a log "
                "scale: (log v − log a) / (log b − log a).", _on_boundary_linear_margin),
    )),
    "search.best_scores": Expected(_best_scores(), rtol=1e-9, check_dtype=False),
}
