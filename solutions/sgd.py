"""Chapter 1: gradient descent and stochastic gradient descent.

Notation used across the book: parameters ``x`` (θ in some papers), gradient ``dx = ∇f(x)``,
learning rate ``lr`` (η), step counter ``t`` starting at 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

Array = np.ndarray


def sgd_step(x: Array, dx: Array, lr: float) -> Array:
    """One step of (stochastic) gradient descent, ``x_{t+1} = x_t − lr · dx``.

    Pure: returns a new array and leaves ``x`` and ``dx`` untouched. Whether the step is "full
    batch" or "stochastic" depends only on how ``dx`` was computed (Robbins & Monro, 1951).
    """
    return x - lr * dx


def minibatches(n: int, batch_size: int, rng: np.random.Generator, *, shuffle: bool = True,
                drop_last: bool = False) -> Iterator[Array]:
    """Yield the index arrays of one epoch over ``n`` examples in batches of ``batch_size``.

    With ``shuffle`` the order is ``rng.permutation(n)``, drawn once per epoch (sampling
    *without* replacement, so every example is seen exactly once). The last batch is smaller
    when ``batch_size`` does not divide ``n``; ``drop_last`` skips it. ``batch_size = n`` gives
    full-batch gradient descent, ``batch_size = 1`` classic SGD.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    order = rng.permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


def gradient_descent(grad_fn: Callable[[Array], Array], x0: Array, lr: float,
                     num_steps: int, step: Callable = sgd_step) -> Array:
    """Run ``num_steps`` of gradient descent from ``x0``; return all iterates, shape (T+1, d).

    ``step(x, dx, lr)`` is the update (the grader passes a student's own rule to judge this
    loop on its own, see ``Expected.reference_with``)."""
    path = [np.array(x0, dtype=float)]
    for _ in range(num_steps):
        path.append(step(path[-1], grad_fn(path[-1]), lr))
    return np.stack(path)


def gd_quadratic_closed_form(A: Array, b: Array, x0: Array, lr: float, t: int) -> Array:
    """The iterate ``x_t`` of gradient descent on ``½ xᵀAx − bᵀx`` without iterating.

    With ``x* = A⁻¹b`` the error obeys ``x_{t+1} − x* = (I − lr A)(x_t − x*)``, so
    ``x_t = x* + (I − lr A)^t (x0 − x*)``. Along each eigenvector of ``A`` with eigenvalue λ the
    error is multiplied by ``1 − lr λ`` per step: it shrinks iff ``0 < lr < 2/λ``.
    """
    A = np.asarray(A, dtype=float)
    x_star = np.linalg.solve(A, b)
    contraction = np.linalg.matrix_power(np.eye(len(b)) - lr * A, t)
    return x_star + contraction @ (np.asarray(x0, dtype=float) - x_star)


def max_stable_learning_rate(A: Array) -> float:
    """The largest learning rate for which GD converges on ``½ xᵀAx − bᵀx``: ``2 / λ_max(A)``."""
    return float(2.0 / np.linalg.eigvalsh(np.asarray(A, dtype=float)).max())


def optimal_learning_rate(A: Array) -> float:
    """The rate minimising the worst contraction ``max|1 − lr λ|``: ``2 / (λ_min + λ_max)``."""
    eigenvalues = np.linalg.eigvalsh(np.asarray(A, dtype=float))
    return float(2.0 / (eigenvalues.min() + eigenvalues.max()))


def train_softmax_regression(X: Array, y: Array, batch_size: int, lr: float, epochs: int,
                             seed: int, num_classes: int = 10, step: Callable = sgd_step,
                             batches: Callable = minibatches) -> Array:
    """Mini-batch SGD on a linear softmax classifier; the full training loss after each epoch.

    The protocol the exercises grade: ``W`` starts at zeros of shape ``(d + 1, num_classes)``
    (last row = bias); one generator ``np.random.default_rng(seed)`` draws a fresh permutation
    each epoch through :func:`minibatches`; every batch takes one :func:`sgd_step` with the
    batch's mean gradient; after each epoch the loss on *all* of ``(X, y)`` is recorded.
    ``step`` and ``batches`` replace those two functions (the grader's carry-forward).
    """
    from labkit.models import softmax_regression

    W = np.zeros((X.shape[1] + 1, num_classes))
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        for batch in batches(len(y), batch_size, rng):
            _, dW = softmax_regression(W, X[batch], y[batch])
            W = step(W, dW, lr)
        losses.append(softmax_regression(W, X, y)[0])
    return np.array(losses)
