"""Grader-chosen inputs for exercise 12 (ensembles and weight averaging)."""

from __future__ import annotations

import numpy as np

from labkit.checks import Case, Spec, call, call_keeping_inputs, register, value

# -- exercise 12's fixed problem (the notebook imports it from here) -------------------------------
EX12_SEEDS = tuple(range(100, 108))
"""Exercise 12: one member of the ensemble per seed — ``labkit.numpy_mlp`` networks trained with
plain SGD on the digits (split ``digits(seed=0)``), each seed drawing its own initialisation and
shuffles."""
EX12_HIDDEN = 32
EX12_EPOCHS = 4
EX12_LR = 0.5
EX12_BATCH = 16
EX12_DECAY = 0.98


def _average_cases() -> list[Case]:
    rng = np.random.default_rng(1201)
    cases = []
    for members, n, classes, scale in [(3, 5, 4, 1.0), (1, 4, 3, 2.0), (5, 6, 10, 3.0),
                                       (2, 3, 2, 0.1), (4, 7, 5, 5.0)]:
        logits = [scale * rng.standard_normal((n, classes)) for _ in range(members)]
        cases.append(Case.of(f"a list of {members} logit array(s) of shape ({n}, {classes}), "
                             f"entries of size about {scale}", logits=logits))
    big = [rng.standard_normal((4, 3)) * 400 + 500 for _ in range(3)]
    cases.append(Case.of("3 members whose logits are around 500 ± 400 (an "
                         "unshifted exp overflows)", logits=big))
    return cases


def _params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal(4),
            "W2": rng.standard_normal((4, 2)), "b2": rng.standard_normal(2)}


def _ema_cases() -> list[Case]:
    rng = np.random.default_rng(1202)
    cases = []
    for decay in (0.9, 0.999, 0.5, 0.0, 0.75, 1.0):
        average, params = _params(rng), _params(rng)
        cases.append(Case.of("average, params: dicts of float64 arrays (W1 3×4, b1 4, W2 4×2, "
                             f"b2 2), decay={decay}", average=average,
                             params=params, decay=decay))
    return cases


def _polyak_cases() -> list[Case]:
    rng = np.random.default_rng(1203)
    cases = []
    for n in (0, 1, 2, 9, 99, 3):
        average, params = _params(rng), _params(rng)
        cases.append(Case.of("average, params: dicts of float64 arrays (W1 3×4, b1 4, W2 4×2, "
                             f"b2 2), n={n}", average=average, params=params,
                             n=n))
    return cases


def _snapshot_cases() -> list[Case]:
    return [Case.of(f"steps 0…{total - 1} with lr={lr}, total_steps={total}, cycles={cycles}",
                    lr=lr, total_steps=total, cycles=cycles)
            for lr, total, cycles in [(0.1, 100, 5), (0.2, 50, 3), (1.0, 10, 4), (0.05, 30, 1),
                                      (0.1, 7, 7), (0.4, 200, 6)]]


def _curve(answer, case: Case) -> dict:
    """The rate at every step of the run: ``answer(step, lr, total_steps, cycles)``."""
    lr, total, cycles = case.args
    return {"value": [float(answer(step, lr, total, cycles)) for step in range(total)]}


def _experiment_case() -> list[Case]:
    return [Case((), (), "your dict results")]


register(Spec("ensembles.average_probabilities", _average_cases, call,
              "probability averaging"))
register(Spec("ensembles.ema_update", _ema_cases, call_keeping_inputs, "EMA update"))
register(Spec("ensembles.polyak_update", _polyak_cases, call, "Polyak running mean"))
register(Spec("ensembles.snapshot_lr", _snapshot_cases, _curve, "snapshot schedule"))
register(Spec("ensembles.results", _experiment_case, value, "ensembles and averages on digits"))
