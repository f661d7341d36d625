"""Grader-chosen inputs for exercise 10 (initialization)."""

from __future__ import annotations

import math

import numpy as np

from labkit.checks import Case, Spec, call, register, value

# -- exercise 10's fixed problem (the notebook imports it from here) -------------------------------
EX10_SEED = 10
"""Exercise 10 (initialization): the seed of every generator the experiments draw from."""
EX10_SAMPLES = 500
"""Exercise 10, symmetry: a one-hidden-layer tanh MLP on the first 500 digits training images."""
EX10_HIDDEN = 16
EX10_CONSTANT = 0.1
EX10_LR = 0.5
EX10_STEPS = 300
EX10_DEPTH = 20
"""Exercise 10, depth: a 20-layer MLP of width 128 (no biases) fed a fixed Gaussian batch."""
EX10_WIDTH = 128
EX10_SMALL_STD = 0.01
EX10_INPUTS = np.random.default_rng(EX10_SEED).standard_normal((256, EX10_WIDTH))
EX10_INPUTS.setflags(write=False)


def ex10_data() -> tuple[np.ndarray, np.ndarray]:
    """Exercise 10: the ``EX10_SAMPLES`` first (standardised) digits training images, labels."""
    from labkit.data import digits

    split = digits()
    return split.X_train[:EX10_SAMPLES], split.y_train[:EX10_SAMPLES]


def ex10_mlp(params: tuple, X: np.ndarray, y: np.ndarray) -> tuple[float, tuple]:
    """Mean cross-entropy of ``softmax(tanh(X W1ᵀ + b1) W2ᵀ + b2)`` and its gradients.

    ``params = (W1, b1, W2, b2)`` with weights laid out ``(out, in)`` as in ``torch.nn.Linear``;
    returns ``(loss, (dW1, db1, dW2, db2))``.
    """
    W1, b1, W2, b2 = params
    n = len(y)
    h = np.tanh(X @ W1.T + b1)
    logits = h @ W2.T + b2
    logits = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -float(np.mean(np.log(probs[np.arange(n), y])))
    d_logits = probs
    d_logits[np.arange(n), y] -= 1.0
    d_logits /= n
    d_pre = (d_logits @ W2) * (1.0 - h**2)
    return loss, (d_pre.T @ X, d_pre.sum(axis=0), d_logits.T @ h, d_logits.sum(axis=0))

_FAN_SHAPES = [(10, 784), (784, 10), (64, 3, 7, 7), (16, 8, 5), (3, 4, 2, 2, 2), (5, 5),
               (1, 100), (32, 32, 1, 1)]


def _fans(shapes: list[tuple[int, ...]]) -> list[Case]:
    return [Case.of(f"shape={shape}", shape=shape) for shape in shapes]


def _fans_cases() -> list[Case]:
    return _fans(_FAN_SHAPES)


def _fans_practice() -> list[Case]:
    return _fans([(20, 30), (8, 4, 3, 3), (2, 6, 2, 3, 2)])


def _gains(pairs: list[tuple[str, float | None]]) -> list[Case]:
    return [Case(pair, ("nonlinearity", "param"), f"nonlinearity={pair[0]!r}, param={pair[1]}")
            for pair in pairs]


def _gain_cases() -> list[Case]:
    return _gains([("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                   ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0.5),
                   ("leaky_relu", 0.0), ("selu", None)])


def _gain_practice() -> list[Case]:
    return _gains([("conv1d", None), ("leaky_relu", 0.3), ("leaky_relu", 0.05)])


def _xaviers(settings: list[tuple[int, tuple[int, ...], float]]) -> list[Case]:
    return [Case(s, (), f"rng=np.random.default_rng({s[0]}), shape={s[1]}, gain={s[2]:.6g}")
            for s in settings]


def _xavier_cases() -> list[Case]:
    return _xaviers([(0, (30, 50), 1.0), (1, (50, 30), 1.0), (2, (16, 8, 3, 3), 1.0),
                     (3, (20, 40), 5.0 / 3), (4, (12, 6, 5), math.sqrt(2.0)),
                     (5, (200, 100), 1.0)])


def _xavier_practice() -> list[Case]:
    return _xaviers([(60, (20, 10), 1.0), (61, (6, 4, 3, 3), 5.0 / 3)])


def _run_with_rng(answer, case: Case) -> dict:
    """The first argument is a seed: the answer gets a fresh generator seeded with it."""
    seed, *rest = case.args
    return {"value": np.asarray(answer(np.random.default_rng(seed), *rest), dtype=float)}


def _kaimings(settings: list[tuple[int, tuple[int, ...], float, str, str]]) -> list[Case]:
    return [Case(s, (), f"rng=np.random.default_rng({s[0]}), shape={s[1]}, a={s[2]}, "
                 f"mode={s[3]!r}, nonlinearity={s[4]!r}") for s in settings]


def _kaiming_cases() -> list[Case]:
    return _kaimings([(0, (30, 50), 0.0, "fan_in", "relu"), (1, (30, 50), 0.0, "fan_out", "relu"),
                      (2, (16, 8, 3, 3), 0.2, "fan_in", "leaky_relu"),
                      (3, (20, 40), 0.5, "fan_out", "leaky_relu"),
                      (4, (12, 6, 5), 0.0, "fan_in", "leaky_relu"),
                      (5, (25, 10), 0.0, "fan_in", "tanh"),
                      (6, (64, 32, 3, 3), 0.1, "fan_out", "leaky_relu")])


def _kaiming_practice() -> list[Case]:
    return _kaimings([(60, (10, 20), 0.0, "fan_out", "relu"),
                      (61, (8, 4, 3), 0.3, "fan_in", "leaky_relu"),
                      (62, (6, 12), 0.0, "fan_in", "tanh")])


def _experiment_case(name: str) -> list[Case]:
    return [Case((), (), f"your dict {name}")]


register(Spec("initialization.fans", _fans_cases, call, "fan_in and fan_out of a shape",
              practice=_fans_practice))
register(Spec("initialization.calculate_gain", _gain_cases, call, "the gain of a nonlinearity",
              practice=_gain_practice))
register(Spec("initialization.xavier_uniform", _xavier_cases, _run_with_rng,
              "Xavier uniform draws", practice=_xavier_practice))
register(Spec("initialization.kaiming_normal", _kaiming_cases, _run_with_rng,
              "Kaiming normal draws", practice=_kaiming_practice))
register(Spec("initialization.symmetry", lambda: _experiment_case("symmetry"), value,
              "constant vs random initialization of a small MLP"))
register(Spec("initialization.layer_std", lambda: _experiment_case("layer_std"), value,
              "activation std through 20 layers"))
