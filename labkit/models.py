"""Losses and models used in the chapters' experiments (NumPy and PyTorch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so large logits do not overflow."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def softmax_regression(W: np.ndarray, X: np.ndarray, y: np.ndarray,
                       l2: float = 0.0) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of a linear softmax classifier and its gradient.

    ``W`` has shape ``(d + 1, C)``: the last row is the bias. Returns ``(loss, dW)``.
    """
    n = X.shape[0]
    Xb = np.hstack([X, np.ones((n, 1))])
    probs = softmax(Xb @ W)
    loss = -np.mean(np.log(probs[np.arange(n), y] + 1e-300)) + 0.5 * l2 * np.sum(W[:-1] ** 2)
    probs[np.arange(n), y] -= 1.0
    dW = Xb.T @ probs / n
    dW[:-1] += l2 * W[:-1]
    return float(loss), dW


def accuracy(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Classification accuracy of the linear softmax classifier ``W`` on ``(X, y)``."""
    Xb = np.hstack([X, np.ones((X.shape[0], 1))])
    return float(np.mean(np.argmax(Xb @ W, axis=1) == y))


def least_squares(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """``L(w) = ½·mean((X w − y)²)`` and its gradient ``Xᵀ(X w − y)/n``."""
    residual = X @ w - y
    return float(0.5 * np.mean(residual**2)), X.T @ residual / X.shape[0]


def mlp(in_features: int, hidden: int, out_features: int, depth: int = 1,
        seed: int = 0) -> torch.nn.Sequential:
    """A ReLU multilayer perceptron with ``depth`` hidden layers, seeded PyTorch default init."""
    import torch
    from torch import nn

    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers).double()
