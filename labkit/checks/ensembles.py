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


def _averages(rng: np.random.Generator, settings: list[tuple[int, int, int, float]]
              ) -> list[Case]:
    cases = []
    for members, n, classes, scale in settings:
        logits = [scale * rng.standard_normal((n, classes)) for _ in range(members)]
        cases.append(Case.of(f"a list of {members} logit array(s) of shape ({n}, {classes}), "
                             f"entries of size about {scale}", logits=logits))
    return cases


def _average_cases() -> list[Case]:
    rng = np.random.default_rng(1201)
    cases = _averages(rng, [(3, 5, 4, 1.0), (1, 4, 3, 2.0), (5, 6, 10, 3.0), (2, 3, 2, 0.1),
                            (4, 7, 5, 5.0)])
    big = [rng.standard_normal((4, 3)) * 400 + 500 for _ in range(3)]
    cases.append(Case.of("3 members whose logits are around 500 ± 400 (an "
                         "unshifted exp overflows)", logits=big))
    return cases


def _average_practice() -> list[Case]:
    rng = np.random.default_rng(9121)
    cases = _averages(rng, [(2, 3, 4, 1.0), (1, 2, 3, 0.5)])
    big = [rng.standard_normal((3, 3)) * 300 + 800 for _ in range(2)]
    cases.append(Case.of("2 members whose logits are around 800 ± 300 (an "
                         "unshifted exp overflows)", logits=big))
    return cases


def _params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal(4),
            "W2": rng.standard_normal((4, 2)), "b2": rng.standard_normal(2)}


def _emas(seed: int, decays: tuple[float, ...]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for decay in decays:
        average, params = _params(rng), _params(rng)
        cases.append(Case.of("average, params: dicts of float64 arrays (W1 3×4, b1 4, W2 4×2, "
                             f"b2 2), decay={decay}", average=average,
                             params=params, decay=decay))
    return cases


def _ema_cases() -> list[Case]:
    return _emas(1202, (0.9, 0.999, 0.5, 0.0, 0.75, 1.0))


def _ema_practice() -> list[Case]:
    return _emas(9122, (0.8, 0.0))


def _polyaks(seed: int, counts: tuple[int, ...]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for n in counts:
        average, params = _params(rng), _params(rng)
        cases.append(Case.of("average, params: dicts of float64 arrays (W1 3×4, b1 4, W2 4×2, "
                             f"b2 2), n={n}", average=average, params=params,
                             n=n))
    return cases


def _polyak_cases() -> list[Case]:
    return _polyaks(1203, (0, 1, 2, 9, 99, 3))


def _polyak_practice() -> list[Case]:
    return _polyaks(9123, (0, 4))


def _snapshots(settings: list[tuple[float, int, int]]) -> list[Case]:
    return [Case.of(f"steps 0…{total - 1} with lr={lr}, total_steps={total}, cycles={cycles}",
                    lr=lr, total_steps=total, cycles=cycles)
            for lr, total, cycles in settings]


def _snapshot_cases() -> list[Case]:
    return _snapshots([(0.1, 100, 5), (0.2, 50, 3), (1.0, 10, 4), (0.05, 30, 1), (0.1, 7, 7),
                       (0.4, 200, 6)])


def _snapshot_practice() -> list[Case]:
    return _snapshots([(0.3, 14, 3), (0.15, 8, 1)])


def _curve(answer, case: Case) -> dict:
    """The rate at every step of the run: ``answer(step, lr, total_steps, cycles)``."""
    lr, total, cycles = case.args
    return {"value": [float(answer(step, lr, total, cycles)) for step in range(total)]}


def _experiment_case() -> list[Case]:
    return [Case((), (), "your dict results")]


register(Spec("ensembles.average_probabilities", _average_cases, call,
              "probability averaging", practice=_average_practice))
register(Spec("ensembles.ema_update", _ema_cases, call_keeping_inputs, "EMA update",
              practice=_ema_practice))
register(Spec("ensembles.polyak_update", _polyak_cases, call, "Polyak running mean",
              practice=_polyak_practice))
register(Spec("ensembles.snapshot_lr", _snapshot_cases, _curve, "snapshot schedule",
              practice=_snapshot_practice))
register(Spec("ensembles.results", _experiment_case, value, "ensembles and averages on digits"))
