"""Hyperparameter search: log-uniform draws, grids, random vs grid search, the boundary
warning and coarse-to-fine stages."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from solutions.search import (
    BoundaryWarning,
    coarse_to_fine,
    grid,
    grid_search,
    log_uniform,
    narrow,
    on_boundary,
    random_search,
    sample,
    warn_if_on_boundary,
)

SPACE = {"lr": (1e-4, 1.0, "log"), "dropout": (0.0, 0.5, "linear")}


def test_log_uniform_gives_every_decade_the_same_share():
    draws = log_uniform(np.random.default_rng(0), 1e-6, 1.0, 60_000)
    assert draws.min() >= 1e-6 and draws.max() <= 1.0
    counts = np.histogram(np.log10(draws), bins=6, range=(-6, 0))[0]
    assert stats.chisquare(counts).pvalue > 1e-3
    assert stats.kstest(np.log10(draws), "uniform", args=(-6, 6)).pvalue > 1e-3


@given(low_exp=st.floats(-8, 2), width=st.floats(0.1, 8), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=50, deadline=None)
def test_log_uniform_stays_in_range_and_is_reproducible(low_exp, width, seed):
    low, high = 10**low_exp, 10 ** (low_exp + width)
    draws = log_uniform(np.random.default_rng(seed), low, high, 20)
    assert np.all((draws >= low * (1 - 1e-12)) & (draws <= high * (1 + 1e-12)))
    np.testing.assert_array_equal(draws, log_uniform(np.random.default_rng(seed), low, high, 20))


def test_log_uniform_rejects_non_positive_bounds():
    with pytest.raises(ValueError, match="0 < low"):
        log_uniform(np.random.default_rng(0), 0.0, 1.0)


def test_grid_includes_both_ends_on_either_scale():
    np.testing.assert_allclose(grid(1e-4, 1.0, 5), [1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    np.testing.assert_allclose(grid(0.0, 1.0, 5, log=False), [0, 0.25, 0.5, 0.75, 1.0])


def test_sample_draws_dimensions_in_order_one_call_each():
    point = sample(np.random.default_rng(3), SPACE)
    rng = np.random.default_rng(3)
    assert point["lr"] == 10 ** rng.uniform(-4, 0)
    assert point["dropout"] == rng.uniform(0.0, 0.5)
    with pytest.raises(ValueError, match="scale must be"):
        sample(rng, {"x": (0, 1, "logarithmic")})


def test_random_search_keeps_every_trial_and_the_lowest_first():
    result = random_search(lambda p: round(p["dropout"], 1), SPACE, 30, seed=0)
    assert len(result.trials) == 30
    best = min(score for _, score in result.trials)
    first = next(params for params, score in result.trials if score == best)
    assert result.best_score == best and result.best_params is first


def test_grid_search_visits_every_combination():
    result = grid_search(lambda p: p["lr"], SPACE, 3)
    assert len(result.trials) == 9
    assert {round(np.log10(p["lr"])) for p, _ in result.trials} == {-4, -2, 0}
    assert result.best_params["lr"] == pytest.approx(1e-4)


def test_random_beats_grid_when_one_of_two_hyperparameters_matters():
    """Bergstra & Bengio's argument: 9 random points try 9 learning rates, a 3x3 grid 3."""
    def objective(p):
        return (np.log10(p["lr"]) + 1.7) ** 2 + 0.01 * p["dropout"]

    grid_best = grid_search(objective, SPACE, 3).best_score
    random_best = [random_search(objective, SPACE, 9, seed).best_score for seed in range(40)]
    assert np.mean(random_best) < grid_best
    assert sum(best < grid_best for best in random_best) > 25


def test_on_boundary_measures_log_dimensions_on_a_log_scale():
    space = {"lr": (1e-4, 1.0, "log"), "momentum": (0.5, 0.99, "linear")}
    assert on_boundary({"lr": 1e-2, "momentum": 0.9}, space) == []
    assert on_boundary({"lr": 1.3e-4, "momentum": 0.9}, space) == ["lr"]
    # 0.04 is 4% of the range on a linear scale but 65% on a log scale: not at the edge.
    assert on_boundary({"lr": 0.04, "momentum": 0.98}, space) == ["momentum"]
    assert on_boundary({"lr": 0.9, "momentum": 0.5}, space) == ["lr", "momentum"]


def test_boundary_warning_fires_when_it_should_and_not_otherwise():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_if_on_boundary({"lr": 0.01, "dropout": 0.2}, SPACE) == []
    with pytest.warns(BoundaryWarning, match="lr = 0.000105 lies at the low edge"):
        warn_if_on_boundary({"lr": 1.05e-4, "dropout": 0.2}, SPACE)
    with pytest.warns(BoundaryWarning, match="dropout = 0.5 lies at the high edge"):
        warn_if_on_boundary({"lr": 0.01, "dropout": 0.5}, SPACE)


@given(center=st.floats(0, 1), shrink=st.floats(0.05, 1))
@settings(max_examples=60, deadline=None)
def test_narrow_keeps_the_box_inside_the_space_and_shrinks_it(center, shrink):
    point = {"lr": 10 ** (-4 + 4 * center), "dropout": 0.5 * center}
    box = narrow(SPACE, point, shrink)
    for name, (low, high, scale) in box.items():
        space_low, space_high, _ = SPACE[name]
        assert space_low * (1 - 1e-9) - 1e-12 <= low <= high <= space_high * (1 + 1e-9) + 1e-12
        to = np.log10 if scale == "log" else float
        width = (to(high) - to(low)) / (to(space_high) - to(space_low))
        assert width == pytest.approx(shrink)


def test_coarse_to_fine_zooms_in_and_beats_one_stage_at_the_same_budget():
    def objective(p):
        return (np.log10(p["lr"]) + 2.3) ** 2 + (p["dropout"] - 0.2) ** 2

    staged = [coarse_to_fine(objective, SPACE, [10, 10, 10], shrink=0.3, seed=s).best[1]
              for s in range(10)]
    single = [random_search(objective, SPACE, 30, seed=s).best_score for s in range(10)]
    assert np.median(staged) < np.median(single)
    result = coarse_to_fine(objective, SPACE, [10, 10], shrink=0.3, seed=0)
    (_, stage1), (box2, _) = result.stages
    lr_low, lr_high, _ = box2["lr"]
    assert np.log10(lr_high / lr_low) == pytest.approx(0.3 * 4)
    assert lr_low <= stage1.best_params["lr"] <= lr_high


def test_coarse_to_fine_warns_when_the_optimum_lies_outside_the_box():
    with pytest.warns(BoundaryWarning, match="lr = .* lies at the low edge"):
        coarse_to_fine(lambda p: np.log10(p["lr"]), {"lr": SPACE["lr"]}, [10, 10], seed=0)
