"""Chapter 3: critical points and second-order methods, in NumPy.

* :func:`classify_critical_point` reads the Hessian's eigenvalues at a point where the gradient
  vanishes: all positive → minimum, all negative → maximum, both signs → saddle, a zero → the
  second-order test cannot tell ("degenerate").
* :func:`newton_step` / :func:`newton_method`: ``x ← x − lr·(H + λI)⁻¹ g``. With ``lr = 1`` and
  ``λ = 0`` this is Newton's method, which jumps to the critical point of the local quadratic
  model — a saddle or a maximum as readily as a minimum. ``lr < 1`` damps the step; ``λ > 0``
  (Levenberg, 1944; Marquardt, 1963) shifts the spectrum and blends in gradient descent.
* :func:`saddle_free_newton_step` rescales by ``|H|⁻¹`` (absolute eigenvalues), which escapes
  saddles instead of converging to them (Dauphin et al., 2014).
* :func:`two_loop_direction` and :func:`lbfgs`: limited-memory BFGS (Liu & Nocedal, 1989;
  Nocedal & Wright, *Numerical Optimization*, Algorithm 7.4), written to follow
  ``torch.optim.LBFGS`` without a line search step for step, so the two can be compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray


# -- critical points -----------------------------------------------------------------------
def classify_critical_point(hessian: Array, tol: float = 1e-8) -> str:
    """``"minimum"``, ``"maximum"``, ``"saddle"`` or ``"degenerate"`` from the Hessian's signs.

    The Hessian is symmetrised first; an eigenvalue with ``|λ| ≤ tol·max(1, max|λ|)`` counts
    as zero. Positive and negative eigenvalues together make a saddle whatever else there is.
    """
    H = np.asarray(hessian, dtype=float)
    eigenvalues = np.linalg.eigvalsh((H + H.T) / 2)
    scale = max(1.0, float(np.max(np.abs(eigenvalues))))
    positive = eigenvalues > tol * scale
    negative = eigenvalues < -tol * scale
    if positive.any() and negative.any():
        return "saddle"
    if not (positive | negative).all():
        return "degenerate"
    return "minimum" if positive.all() else "maximum"


# -- Newton --------------------------------------------------------------------------------
def newton_step(x: Array, g: Array, H: Array, lr: float = 1.0, damping: float = 0.0) -> Array:
    """One damped Newton step ``x − lr·(H + damping·I)⁻¹ g`` (solved, never inverted)."""
    shifted = H + damping * np.eye(len(x))
    return x - lr * np.linalg.solve(shifted, g)


def newton_method(grad_fn: Callable[[Array], Array], hess_fn: Callable[[Array], Array],
                  x0: Array, num_steps: int, lr: float = 1.0, damping: float = 0.0) -> Array:
    """Iterates of :func:`newton_step` from ``x0``: an array of shape ``(num_steps + 1, d)``."""
    path = [np.array(x0, dtype=float)]
    for _ in range(num_steps):
        x = path[-1]
        path.append(newton_step(x, grad_fn(x), hess_fn(x), lr, damping))
    return np.stack(path)


def saddle_free_newton_step(x: Array, g: Array, H: Array, lr: float = 1.0,
                            damping: float = 1e-3) -> Array:
    """``x − lr·|H|⁻¹ g`` with ``|H| = Q(|Λ| + damping)Qᵀ`` (Dauphin et al., 2014).

    Along a direction of negative curvature Newton steps *towards* the saddle; taking the
    eigenvalue's absolute value turns that step around, so the saddle repels."""
    eigenvalues, Q = np.linalg.eigh((H + H.T) / 2)
    return x - lr * Q @ ((Q.T @ g) / (np.abs(eigenvalues) + damping))


# -- L-BFGS --------------------------------------------------------------------------------
def two_loop_direction(g: Array, steps: list[Array], changes: list[Array],
                       gamma: float) -> Array:
    """The L-BFGS search direction ``−H_k g`` by the two-loop recursion.

    ``steps`` are ``s_i = x_{i+1} − x_i`` and ``changes`` ``y_i = g_{i+1} − g_i``, oldest first;
    ``H_k`` is the BFGS inverse-Hessian update of ``γI`` by those pairs, never formed: the first
    loop (newest to oldest) computes ``α_i = ρ_i s_iᵀq`` and ``q ← q − α_i y_i`` with
    ``ρ_i = 1/(y_iᵀs_i)``; then ``r = γq``; the second loop (oldest to newest) adds
    ``(α_i − ρ_i y_iᵀr) s_i``. Cost: O(m·d) for m pairs in d dimensions.
    """
    q = -np.asarray(g, dtype=float)
    rho = [1.0 / float(y @ s) for s, y in zip(steps, changes, strict=True)]
    alpha = [0.0] * len(steps)
    for i in reversed(range(len(steps))):
        alpha[i] = rho[i] * float(steps[i] @ q)
        q = q - alpha[i] * changes[i]
    r = gamma * q
    for i in range(len(steps)):
        beta = rho[i] * float(changes[i] @ r)
        r = r + (alpha[i] - beta) * steps[i]
    return r


@dataclass
class LBFGSResult:
    """Where :func:`lbfgs` stopped, the points it visited and why it stopped."""

    x: Array
    path: list[Array] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    iterations: int = 0
    evaluations: int = 0
    reason: str = ""


def lbfgs(loss_and_grad: Callable[[Array], tuple[float, Array]], x0: Array, lr: float = 1.0,
          max_iter: int = 20, max_eval: int | None = None, history_size: int = 100,
          tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9) -> LBFGSResult:
    """L-BFGS with a fixed step, as one call of ``torch.optim.LBFGS.step`` (no line search).

    Each iteration: direction ``d`` by :func:`two_loop_direction` (``−g`` on the first), with
    ``γ = sᵀy / yᵀy`` from the newest pair; a pair is stored only when ``yᵀs > 1e-10`` (the
    curvature condition that keeps ``H_k`` positive definite), the oldest dropped beyond
    ``history_size``. The step is ``t·d`` with ``t = min(1, 1/‖g‖₁)·lr`` on the very first
    iteration (the scale of ``d = −g`` is unknown) and ``t = lr`` after. It stops, as PyTorch
    does, after ``max_iter`` iterations or ``max_eval`` evaluations, when ``max|g| ≤
    tolerance_grad``, when ``d`` is not a descent direction, or when the step or the change in
    loss falls below ``tolerance_change``.
    """
    max_eval = max_eval if max_eval is not None else max_iter * 5 // 4
    x = np.array(x0, dtype=float)
    loss, g = loss_and_grad(x)
    result = LBFGSResult(x, [x.copy()], [float(loss)], evaluations=1)
    if np.max(np.abs(g)) <= tolerance_grad:
        result.reason = "gradient already below tolerance_grad"
        return result
    steps: list[Array] = []
    changes: list[Array] = []
    gamma, d, t, prev_g, prev_loss = 1.0, -g, lr, g, loss
    while result.iterations < max_iter:
        result.iterations += 1
        if result.iterations > 1:
            y, s = g - prev_g, t * d
            if float(y @ s) > 1e-10:
                if len(steps) == history_size:
                    steps.pop(0)
                    changes.pop(0)
                steps.append(s)
                changes.append(y)
                gamma = float(y @ s) / float(y @ y)
            d = two_loop_direction(g, steps, changes, gamma)
        prev_g, prev_loss = g, loss
        t = min(1.0, 1.0 / float(np.sum(np.abs(g)))) * lr if result.iterations == 1 else lr
        if float(g @ d) > -tolerance_change:
            result.reason = "not a descent direction"
            break
        x = x + t * d
        result.path.append(x.copy())
        if result.iterations == max_iter:
            result.reason = "max_iter"
            break
        loss, g = loss_and_grad(x)
        result.evaluations += 1
        result.losses.append(float(loss))
        if result.evaluations >= max_eval:
            result.reason = "max_eval"
        elif np.max(np.abs(g)) <= tolerance_grad:
            result.reason = "gradient below tolerance_grad"
        elif np.max(np.abs(t * d)) <= tolerance_change:
            result.reason = "step below tolerance_change"
        elif abs(loss - prev_loss) < tolerance_change:
            result.reason = "loss change below tolerance_change"
        if result.reason:
            break
    result.x = x
    return result
