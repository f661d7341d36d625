"""Two-dimensional (and n-dimensional) test functions with exact gradients and Hessians.

Each function is a :class:`Surface`: value, gradient and Hessian as NumPy callables on a point
``x`` of shape ``(d,)``, plus the known minimiser and a plotting window. They are the landscapes
on which the book draws optimizer trajectories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Surface:
    """A differentiable test function ``f: R^d -> R``.

    Attributes:
        name: short name used in figure legends.
        value: ``f(x)``.
        grad: ``∇f(x)``, an array shaped like ``x``.
        hessian: ``∇²f(x)``, shape ``(d, d)``.
        minimum: a global minimiser (``None`` when the function is unbounded below).
        window: plotting box ``(xmin, xmax, ymin, ymax)`` for 2-D functions.
    """

    name: str
    value: Callable[[Array], float]
    grad: Callable[[Array], Array]
    hessian: Callable[[Array], Array]
    minimum: Array | None = None
    window: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0)
    start: Array = field(default_factory=lambda: np.array([-1.5, 1.5]))


def quadratic(A: Array, b: Array | None = None, *, name: str = "quadratic",
              window: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0),
              start: Array | None = None) -> Surface:
    """``f(x) = ½ xᵀ A x − bᵀ x`` for a symmetric matrix ``A``; gradient ``A x − b``."""
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {A.shape}")
    if not np.allclose(A, A.T):
        raise ValueError("A must be symmetric")
    b = np.zeros(A.shape[0]) if b is None else np.asarray(b, dtype=float)
    eigenvalues = np.linalg.eigvalsh(A)
    minimum = np.linalg.solve(A, b) if eigenvalues.min() > 0 else None
    return Surface(
        name=name,
        value=lambda x: float(0.5 * x @ A @ x - b @ x),
        grad=lambda x: A @ x - b,
        hessian=lambda x: A.copy(),
        minimum=minimum,
        window=window,
        start=np.array([-1.5, 1.5]) if start is None else np.asarray(start, dtype=float),
    )


def ill_conditioned_quadratic(condition: float = 20.0) -> Surface:
    """The elongated bowl ``f(x, y) = ½ (x² + κ y²)`` with condition number ``κ``."""
    return quadratic(np.diag([1.0, condition]), name=f"quadratic (κ={condition:g})",
                     window=(-2.2, 2.2, -1.2, 1.2), start=np.array([-2.0, 1.0]))


def _rosenbrock_value(x: Array) -> float:
    return float((1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2)


def _rosenbrock_grad(x: Array) -> Array:
    return np.array([
        -2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2),
        200 * (x[1] - x[0] ** 2),
    ])


def _rosenbrock_hessian(x: Array) -> Array:
    return np.array([
        [2 - 400 * (x[1] - 3 * x[0] ** 2), -400 * x[0]],
        [-400 * x[0], 200.0],
    ])


ROSENBROCK = Surface("Rosenbrock", _rosenbrock_value, _rosenbrock_grad, _rosenbrock_hessian,
                     minimum=np.array([1.0, 1.0]), window=(-2.0, 2.0, -1.0, 3.0),
                     start=np.array([-1.5, 2.0]))
"""Rosenbrock's banana valley ``(1 − x)² + 100 (y − x²)²``; minimum at ``(1, 1)``."""


def _beale_terms(x: Array) -> tuple[Array, Array, Array]:
    c = np.array([1.5, 2.25, 2.625])
    powers = np.arange(1, 4)
    residual = c - x[0] * (1 - x[1] ** powers)
    d_dx = -(1 - x[1] ** powers)
    d_dy = x[0] * powers * x[1] ** (powers - 1)
    return residual, d_dx, d_dy


def _beale_value(x: Array) -> float:
    residual, _, _ = _beale_terms(x)
    return float(np.sum(residual**2))


def _beale_grad(x: Array) -> Array:
    residual, d_dx, d_dy = _beale_terms(x)
    return np.array([2 * residual @ d_dx, 2 * residual @ d_dy])


def _beale_hessian(x: Array) -> Array:
    residual, d_dx, d_dy = _beale_terms(x)
    powers = np.arange(1, 4)
    d_dxdy = powers * x[1] ** (powers - 1)
    d_dydy = x[0] * powers * (powers - 1) * x[1] ** np.maximum(powers - 2, 0)
    hxx = 2 * d_dx @ d_dx
    hxy = 2 * (d_dx @ d_dy + residual @ d_dxdy)
    hyy = 2 * (d_dy @ d_dy + residual @ d_dydy)
    return np.array([[hxx, hxy], [hxy, hyy]])


BEALE = Surface("Beale", _beale_value, _beale_grad, _beale_hessian,
                minimum=np.array([3.0, 0.5]), window=(-4.5, 4.5, -4.5, 4.5),
                start=np.array([1.0, 1.4]))
"""Beale's function; flat plateaus and a narrow curved valley, minimum at ``(3, 0.5)``."""


SADDLE = quadratic(np.diag([1.0, -1.0]), name="saddle", window=(-2.0, 2.0, -2.0, 2.0),
                   start=np.array([-1.8, 1e-3]))
"""The saddle ``½ (x² − y²)``: a critical point at the origin that is not a minimum."""


def _cubic_value(x: Array) -> float:
    return float(x[0] ** 3 - 3 * x[0] - x[1] ** 3 + 3 * x[1])


def _cubic_grad(x: Array) -> Array:
    return np.array([3 * x[0] ** 2 - 3, -3 * x[1] ** 2 + 3])


def _cubic_hessian(x: Array) -> Array:
    return np.diag([6 * x[0], -6 * x[1]])


CUBIC = Surface("cubic", _cubic_value, _cubic_grad, _cubic_hessian, None, (-2.0, 2.0, -2.0, 2.0),
                np.array([0.5, -0.5]))
"""``x³ − 3x − y³ + 3y``: critical points at ``(±1, ±1)`` — a minimum ``(1, −1)``, a maximum
``(−1, 1)`` and two saddles ``(1, 1)``, ``(−1, −1)``; unbounded below."""


def _quartic_value(x: Array) -> float:
    return float(x[0] ** 4 / 4 - x[0] ** 2 / 2 - x[1] ** 4 / 4 + x[1] ** 2 / 2)


def _quartic_grad(x: Array) -> Array:
    return np.array([x[0] ** 3 - x[0], x[1] - x[1] ** 3])


def _quartic_hessian(x: Array) -> Array:
    return np.diag([3 * x[0] ** 2 - 1, 1 - 3 * x[1] ** 2])


QUARTIC = Surface("quartic", _quartic_value, _quartic_grad, _quartic_hessian, None,
                  (-2.5, 2.5, -2.5, 2.5), np.array([0.52, 0.2]))
"""``x⁴/4 − x²/2 − y⁴/4 + y²/2``: nine critical points with coordinates in ``{−1, 0, 1}`` —
minima ``(±1, 0)``, maxima ``(0, ±1)``, saddles at the origin and ``(±1, ±1)``. Unlike on
:data:`CUBIC`, a Newton step can cross to another critical point's side (from ``x = 0.52``
it jumps past ``0``), so where Newton ends is not told by the curvature where it starts."""


SURFACES: dict[str, Surface] = {
    "quadratic": ill_conditioned_quadratic(),
    "rosenbrock": ROSENBROCK,
    "beale": BEALE,
    "saddle": SADDLE,
}
