"""Grader-chosen inputs for exercise 10 (initialization)."""

from __future__ import annotations

import math

import numpy as np

from labkit.checks import Case, Spec, call, register, value

_FAN_SHAPES = [(10, 784), (784, 10), (64, 3, 7, 7), (16, 8, 5), (3, 4, 2, 2, 2), (5, 5),
               (1, 100), (32, 32, 1, 1)]


def _fans_cases() -> list[Case]:
    return [Case((shape,), ("shape",), f"shape={shape}") for shape in _FAN_SHAPES]


def _gain_cases() -> list[Case]:
    pairs = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
             ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0.5),
             ("leaky_relu", 0.0), ("selu", None)]
    return [Case(pair, ("nonlinearity", "param"), f"nonlinearity={pair[0]!r}, param={pair[1]}")
            for pair in pairs]


def _xavier_cases() -> list[Case]:
    settings = [(0, (30, 50), 1.0), (1, (50, 30), 1.0), (2, (16, 8, 3, 3), 1.0),
                (3, (20, 40), 5.0 / 3), (4, (12, 6, 5), math.sqrt(2.0)), (5, (200, 100), 1.0)]
    return [Case(s, (), f"rng=np.random.default_rng({s[0]}), shape={s[1]}, gain={s[2]:.6g}")
            for s in settings]


def _run_with_rng(answer, case: Case) -> dict:
    """The first argument is a seed: the answer gets a fresh generator seeded with it."""
    seed, *rest = case.args
    return {"value": np.asarray(answer(np.random.default_rng(seed), *rest), dtype=float)}


def _kaiming_cases() -> list[Case]:
    settings = [(0, (30, 50), 0.0, "fan_in", "relu"), (1, (30, 50), 0.0, "fan_out", "relu"),
                (2, (16, 8, 3, 3), 0.2, "fan_in", "leaky_relu"),
                (3, (20, 40), 0.5, "fan_out", "leaky_relu"),
                (4, (12, 6, 5), 0.0, "fan_in", "leaky_relu"),
                (5, (25, 10), 0.0, "fan_in", "tanh"),
                (6, (64, 32, 3, 3), 0.1, "fan_out", "leaky_relu")]
    return [Case(s, (), f"rng=np.random.default_rng({s[0]}), shape={s[1]}, a={s[2]}, "
                 f"mode={s[3]!r}, nonlinearity={s[4]!r}") for s in settings]


def _experiment_case(name: str) -> list[Case]:
    return [Case((), (), f"your dict {name}")]


register(Spec("initialization.fans", _fans_cases, call, "fan_in and fan_out of a shape"))
register(Spec("initialization.calculate_gain", _gain_cases, call, "the gain of a nonlinearity"))
register(Spec("initialization.xavier_uniform", _xavier_cases, _run_with_rng,
              "Xavier uniform draws"))
register(Spec("initialization.kaiming_normal", _kaiming_cases, _run_with_rng,
              "Kaiming normal draws"))
register(Spec("initialization.symmetry", lambda: _experiment_case("symmetry"), value,
              "constant vs random initialization of a small MLP"))
register(Spec("initialization.layer_std", lambda: _experiment_case("layer_std"), value,
              "activation std through 20 layers"))
