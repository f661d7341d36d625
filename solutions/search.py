"""Hyperparameter search: log-uniform sampling, grid and random search, coarse-to-fine stages
and a warning when the best value sits on the edge of the search box.

A search space is a dict ``name → (low, high, scale)`` with ``scale`` either ``"log"`` or
``"linear"``. Scale-type hyperparameters (learning rate, weight decay) are searched on a log
scale: their effect depends on ratios, so 1e-4..1e-3 deserves as many trials as 0.1..1.
Random search gives every trial a distinct value of *every* hyperparameter; when only a few of
them matter — the usual case — it explores those few far more densely than a grid of the same
budget (Bergstra & Bengio, 2012, "Random search for hyper-parameter optimization", JMLR 13).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

Space = Mapping[str, tuple[float, float, str]]
Objective = Callable[[dict[str, float]], float]


class BoundaryWarning(UserWarning):
    """The best value of a hyperparameter lies at an edge of its search range."""


def log_uniform(rng: np.random.Generator, low: float, high: float,
                size: int | tuple[int, ...] | None = None) -> np.ndarray | float:
    r"""Draws whose base-10 logarithm is uniform on :math:`[\log_{10} a, \log_{10} b]`.

    Every decade of :math:`[a, b]` receives the same share of the draws. One call to
    ``rng.uniform`` per draw, so a seeded generator gives reproducible samples.
    """
    if not 0 < low <= high:
        raise ValueError(f"log_uniform needs 0 < low <= high, got low={low}, high={high}")
    return 10 ** rng.uniform(np.log10(low), np.log10(high), size)


def grid(low: float, high: float, n: int, log: bool = True) -> np.ndarray:
    """``n`` values from ``low`` to ``high``, both included, equally spaced on a log scale
    (``log=True``) or a linear one."""
    return np.geomspace(low, high, n) if log else np.linspace(low, high, n)


def sample(rng: np.random.Generator, space: Space) -> dict[str, float]:
    """One point of ``space``: each dimension drawn in the space's order, log-uniformly for
    ``"log"`` dimensions and uniformly for ``"linear"`` ones."""
    point = {}
    for name, (low, high, scale) in space.items():
        _check_scale(name, scale)
        point[name] = float(log_uniform(rng, low, high) if scale == "log"
                            else rng.uniform(low, high))
    return point


@dataclass
class SearchResult:
    """Every trial of a search, in the order they ran, and the best one (lowest score,
    the first in case of a tie)."""

    trials: list[tuple[dict[str, float], float]] = field(default_factory=list)

    @property
    def best_params(self) -> dict[str, float]:
        return self._best[0]

    @property
    def best_score(self) -> float:
        return self._best[1]

    @property
    def _best(self) -> tuple[dict[str, float], float]:
        if not self.trials:
            raise ValueError("the search ran no trial")
        return min(self.trials, key=lambda trial: trial[1])  # min keeps the first of ties


def random_search(objective: Objective, space: Space, budget: int,
                  seed: int | np.random.Generator = 0) -> SearchResult:
    """``budget`` independent points of ``space`` drawn with :func:`sample`, each scored by
    ``objective`` (lower is better)."""
    rng = np.random.default_rng(seed)
    result = SearchResult()
    for _ in range(budget):
        params = sample(rng, space)
        result.trials.append((params, float(objective(params))))
    return result


def grid_search(objective: Objective, space: Space, points_per_dim: int) -> SearchResult:
    """Every combination of :func:`grid` values, ``points_per_dim`` per dimension (so
    ``points_per_dim ** len(space)`` trials); the last dimension varies fastest."""
    axes = []
    for name, (low, high, scale) in space.items():
        _check_scale(name, scale)
        axes.append(grid(low, high, points_per_dim, log=scale == "log"))
    result = SearchResult()
    for values in itertools.product(*axes):
        params = {name: float(v) for name, v in zip(space, values, strict=True)}
        result.trials.append((params, float(objective(params))))
    return result


def position(value: float, low: float, high: float, scale: str) -> float:
    """Where ``value`` lies in ``[low, high]`` as a fraction of the range: 0 at ``low``, 1 at
    ``high``, measured on a log scale for ``"log"`` dimensions."""
    if scale == "log":
        value, low, high = np.log10(value), np.log10(low), np.log10(high)
    return float((value - low) / (high - low)) if high != low else 0.5


def on_boundary(best: Mapping[str, float], space: Space, margin: float = 0.05) -> list[str]:
    """Names (in the order of ``space``) whose best value lies within ``margin`` of an edge,
    as a fraction of the range — where the optimum may well lie outside the box."""
    return [name for name, (low, high, scale) in space.items()
            if not margin < position(best[name], low, high, scale) < 1 - margin]


def warn_if_on_boundary(best: Mapping[str, float], space: Space,
                        margin: float = 0.05) -> list[str]:
    """:func:`on_boundary`, with a :class:`BoundaryWarning` saying which way to widen."""
    names = on_boundary(best, space, margin)
    for name in names:
        low, high, scale = space[name]
        edge = "low" if position(best[name], low, high, scale) <= 0.5 else "high"
        warnings.warn(f"the best {name} = {best[name]:.3g} lies at the {edge} edge of its "
                      f"range [{low:g}, {high:g}]: widen the range on that side and search "
                      "again", BoundaryWarning, stacklevel=2)
    return names


def narrow(space: Space, center: Mapping[str, float], shrink: float) -> dict:
    """A box ``shrink`` times as wide as ``space`` (on each dimension's own scale) centred on
    ``center``, slid back inside ``space`` where it would stick out."""
    narrowed = {}
    for name, (low, high, scale) in space.items():
        to, back = (np.log10, lambda v: 10 ** v) if scale == "log" else (float, float)
        lo, hi, c = to(low), to(high), to(center[name])
        half = shrink * (hi - lo) / 2
        start = min(max(c - half, lo), hi - 2 * half)
        narrowed[name] = (float(back(start)), float(back(start + 2 * half)), scale)
    return narrowed


@dataclass
class CoarseToFineResult:
    """The search of every stage and the box it searched; ``best`` over all stages."""

    stages: list[tuple[dict, SearchResult]]

    @property
    def best(self) -> tuple[dict[str, float], float]:
        trials = [trial for _, result in self.stages for trial in result.trials]
        return min(trials, key=lambda trial: trial[1])


def coarse_to_fine(objective: Objective, space: Space, budgets: list[int],
                   shrink: float = 0.25, seed: int = 0, margin: float = 0.05
                   ) -> CoarseToFineResult:
    """Random search in stages: each stage spends its budget in a box ``shrink`` times as
    wide as the last, centred on the best point so far. Warns (:class:`BoundaryWarning`)
    when the final best lies on the edge of the original space, where narrowing cannot help.
    """
    rng = np.random.default_rng(seed)
    box, stages = dict(space), []
    for stage, budget in enumerate(budgets):
        if stage:
            box = narrow(space, CoarseToFineResult(stages).best[0],
                         shrink ** stage)
        stages.append((box, random_search(objective, box, budget, rng)))
    result = CoarseToFineResult(stages)
    warn_if_on_boundary(result.best[0], space, margin)
    return result


def _check_scale(name: str, scale: str) -> None:
    if scale not in ("log", "linear"):
        raise ValueError(f"dimension {name!r}: scale must be 'log' or 'linear', got {scale!r}")
