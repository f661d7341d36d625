"""Fixed problems that the exercises' experiments are about (shared by notebook and grader)."""

from __future__ import annotations

import numpy as np

EX01_QUADRATIC = np.array([[6.0, 2.0, 0.0],
                           [2.0, 5.0, 1.0],
                           [0.0, 1.0, 3.0]])
"""Exercise 01: the Hessian of ``f(x) = ½ xᵀAx`` whose critical learning rate is measured."""

EX02_QUADRATIC = np.diag([1.0, 50.0])
"""Exercise 02: an ill-conditioned bowl (κ = 50) on which momentum values are compared."""
EX02_START = np.array([1.0, 1.0])
EX02_LR = 0.01
EX02_TOLERANCE = 1e-6
EX02_MAX_STEPS = 5000
EX02_MOMENTA = (0.0, 0.5, 0.9, 0.95, 0.99)

EX04_STEPS = 500
"""Exercise 04: steps each adaptive method takes on Rosenbrock's function from its start."""
EX04_SETTINGS = {
    "adagrad": dict(lr=0.5),
    "rmsprop": dict(lr=0.01, alpha=0.9),
    "adam": dict(lr=0.05, beta1=0.9, beta2=0.999),
}
"""Exercise 04: hyperparameters of each method (the rest are the functions' defaults)."""


def _ex05_problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    scales = np.array([1.0, 10.0, 0.1, 3.0, 0.3])  # badly scaled features
    X = rng.standard_normal((64, 5)) * scales
    y = X @ rng.standard_normal(5) + 0.1 * rng.standard_normal(64)
    return X, y


EX05_X, EX05_Y = _ex05_problem()
"""Exercise 05: least squares ``½·mean((Xw − y)²)`` with features on very different scales."""
EX05_LR = 0.05
EX05_WEIGHT_DECAY = 0.1
EX05_STEPS = 300

EX03_STARTS = np.array([[0.4, 0.3], [2.0, -1.5], [-0.3, 0.6], [-1.7, -0.2],
                        [0.9, 2.5], [-0.6, -1.8], [1.3, -0.4], [-2.2, 1.1]])
"""Exercise 03: starting points of Newton's method on ``labkit.functions.CUBIC``."""
EX03_NEWTON_STEPS = 20

EX06_EPOCHS = 8
"""Exercise 06: softmax regression on the digits training set, trained under schedules."""
EX06_BATCH = 64
EX06_LR = 0.5
EX06_WARMUP = 20
EX06_SEED = 6

EX07_START_LR = 1e-4
"""Exercise 07: an exponential learning-rate sweep on softmax regression (digits)."""
EX07_END_LR = 30.0
EX07_ITERS = 80
EX07_BATCH = 64
EX07_SMOOTH = 0.9
EX07_SEED = 7

EX08_SPACE = {"lr": (1e-4, 1.0, "log"), "weight_decay": (1e-6, 1e-2, "log")}
"""Exercise 08: a search space, name → (low, high, "log" or "linear")."""
EX08_BUDGET = 9
EX08_SEEDS = tuple(range(20))


def ex08_objective(params: dict[str, float]) -> float:
    """A validation loss where only the learning rate matters much (Bergstra & Bengio's
    setting): its best value is at lr = 10^-1.7 ≈ 0.02, almost whatever the weight decay."""
    return (float(np.log10(params["lr"])) + 1.7) ** 2 + 0.01 * (
        float(np.log10(params["weight_decay"])) + 4) ** 2 + 0.2

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


def _ex09_problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(9)
    X = rng.standard_normal((256, 5))
    y = X @ rng.standard_normal(5) + 0.5 * rng.standard_normal(256)
    return X, y


EX09_X, EX09_Y = _ex09_problem()
"""Exercise 09: least squares ``½·mean((Xw − y)²)`` on N = 256 examples whose gradient noise
is measured at ``EX09_W`` for each batch size in ``EX09_BATCHES`` (sampling without
replacement, ``EX09_DRAWS`` batches each, a generator seeded with ``EX09_SEED``)."""
EX09_W = np.zeros(5)
EX09_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 192)
EX09_DRAWS = 300
EX09_SEED = 9

EX11_TRAIN = 200
"""Exercise 11: an MLP trained full-batch on the first ``EX11_TRAIN`` training digits,
validated on the next ``EX11_VAL`` (early stopping), tested on the test split."""
EX11_VAL = 300
EX11_HIDDEN = 128
EX11_DEPTH = 2
EX11_SEED = 11
EX11_LR = 0.05
EX11_MOMENTUM = 0.9
EX11_MAX_EPOCHS = 300
EX11_PATIENCE = 10
EX11_MIN_DELTA = 1e-3


def ex11_split() -> tuple[np.ndarray, ...]:
    """``(X_train, y_train, X_val, y_val, X_test, y_test)`` of exercise 11 (NumPy arrays,
    float64 features): slices of ``labkit.data.digits(seed=0)``."""
    from labkit.data import digits

    split = digits(seed=0)
    end = EX11_TRAIN + EX11_VAL
    return (split.X_train[:EX11_TRAIN], split.y_train[:EX11_TRAIN],
            split.X_train[EX11_TRAIN:end], split.y_train[EX11_TRAIN:end],
            split.X_test, split.y_test)

EX12_SEEDS = tuple(range(100, 108))
"""Exercise 12: one member of the ensemble per seed — ``labkit.numpy_mlp`` networks trained with
plain SGD on the digits (split ``digits(seed=0)``), each seed drawing its own initialisation and
shuffles."""
EX12_HIDDEN = 32
EX12_EPOCHS = 4
EX12_LR = 0.5
EX12_BATCH = 16
EX12_DECAY = 0.98

EX13_SUBSET = 20
"""Exercise 13: the first EX13_SUBSET training examples of ``labkit.data.digits(seed=0)`` are
overfitted by ``labkit.models.mlp(64, EX13_HIDDEN, 10, seed=EX13_SEED)`` with full-batch plain
SGD (``torch.optim.SGD(model.parameters(), lr=EX13_LR)``) for EX13_STEPS updates."""
EX13_HIDDEN = 32
EX13_SEED = 13
EX13_LR = 0.1
EX13_STEPS = 100
