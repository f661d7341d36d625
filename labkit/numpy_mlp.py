"""A one-hidden-layer ReLU network in plain NumPy, with its parameters in a dict.

Small and fast enough to train dozens of times on the digits in a second, which is what the
ensemble chapter needs: many independently trained members, checkpoints of one run, and
running averages of a parameter dict. The parameters are ``{"W1", "b1", "W2", "b2"}``:

``h = relu(X W1 + b1)``, ``logits = h W2 + b2``, loss = mean cross-entropy.
"""

from __future__ import annotations

import numpy as np

from labkit.models import softmax

Params = dict[str, np.ndarray]


def init_mlp(rng: np.random.Generator, n_in: int = 64, n_hidden: int = 32,
             n_out: int = 10) -> Params:
    """He-initialised weights (drawn ``W1`` first, then ``W2``, from ``rng``), zero biases."""
    W1 = rng.standard_normal((n_in, n_hidden)) * np.sqrt(2.0 / n_in)
    W2 = rng.standard_normal((n_hidden, n_out)) * np.sqrt(1.0 / n_hidden)
    return {"W1": W1, "b1": np.zeros(n_hidden), "W2": W2, "b2": np.zeros(n_out)}


def mlp_logits(params: Params, X: np.ndarray) -> np.ndarray:
    """The network's logits for the rows of ``X``, shape ``(n, n_out)``."""
    hidden = np.maximum(X @ params["W1"] + params["b1"], 0.0)
    return hidden @ params["W2"] + params["b2"]


def mlp_loss(params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
    """Mean cross-entropy on ``(X, y)`` and its gradient, a dict with the keys of ``params``."""
    n = X.shape[0]
    pre = X @ params["W1"] + params["b1"]
    hidden = np.maximum(pre, 0.0)
    probs = softmax(hidden @ params["W2"] + params["b2"])
    loss = -float(np.mean(np.log(probs[np.arange(n), y] + 1e-300)))
    dlogits = probs
    dlogits[np.arange(n), y] -= 1.0
    dlogits /= n
    dhidden = (dlogits @ params["W2"].T) * (pre > 0)
    grads = {"W1": X.T @ dhidden, "b1": dhidden.sum(axis=0),
             "W2": hidden.T @ dlogits, "b2": dlogits.sum(axis=0)}
    return loss, grads


def nll(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the labels ``y`` under predicted probabilities."""
    return -float(np.mean(np.log(probs[np.arange(len(y)), y] + 1e-300)))
