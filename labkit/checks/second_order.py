"""Grader-chosen inputs for exercise 03 (critical points, Newton, L-BFGS)."""

from __future__ import annotations

import numpy as np

from labkit.checks import Case, Spec, call, register, value
from labkit.functions import ROSENBROCK, quadratic

# -- exercise 03's fixed problem (the notebook imports it from here) -------------------------------
EX03_STARTS = np.array([[0.52, 0.2], [1.6, -0.55], [-0.2, 0.7], [0.3, -0.25],
                        [-1.4, 1.8], [0.1, -0.53], [-0.8, -0.1], [2.2, 0.4]])
"""Exercise 03: starting points of Newton's method on ``labkit.functions.QUARTIC``. Half of
them end on a critical point of another kind than the Hessian at the start suggests."""
EX03_NEWTON_STEPS = 20


def _rotated(rng: np.random.Generator, eigenvalues) -> np.ndarray:
    d = len(eigenvalues)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    H = Q @ np.diag(eigenvalues) @ Q.T
    return (H + H.T) / 2


def _classify_cases() -> list[Case]:
    rng = np.random.default_rng(301)
    spectra = [[2.0, 0.5], [-1.0, -3.0], [4.0, -0.1], [1.0, 2.0, 3.0], [-1.0, -1.0, -2.0],
               [5.0, 1.0, -2.0], [0.0, 3.0], [0.0, -1.0, -2.0], [1.0, 0.0, -1.0],
               [3.0, 1e-3, 2.0, 7.0]]
    cases = [Case.of(f"a symmetric {len(s)}×{len(s)} matrix with "
                     f"eigenvalues {s} (not diagonal)", H=_rotated(rng, s)) for s in spectra]
    # Positive diagonal, yet a saddle: the diagonal says nothing about the signs.
    cases.append(Case.of("H = [[1, 3], [3, 1]]", H=np.array([[1.0, 3.0], [3.0, 1.0]])))
    cases.append(Case.of("H = [[-2]] (one dimension)", H=np.array([[-2.0]])))
    return cases


def _classify_practice() -> list[Case]:
    rng = np.random.default_rng(9311)
    spectra = [[3.0, 0.7], [-2.0, 1.5, 0.5], [0.0, 2.0, 1.0]]
    return [Case.of(f"a symmetric {len(s)}×{len(s)} matrix with "
                    f"eigenvalues {s} (not diagonal)", H=_rotated(rng, s)) for s in spectra]


def _newtons(seed: int, settings: list[tuple[list[float], float, float]]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for spectrum, lr, damping in settings:
        H = _rotated(rng, spectrum)
        x, g = rng.standard_normal(len(spectrum)), rng.standard_normal(len(spectrum))
        cases.append(Case.of(f"x, g of shape ({len(spectrum)},), H with eigenvalues {spectrum}, "
                             f"lr={lr}, damping={damping}", x=x, g=g, H=H, lr=lr,
                             damping=damping))
    return cases


def _newton_cases() -> list[Case]:
    return _newtons(302, [([1.0, 4.0], 1.0, 0.0), ([0.5, 2.0, 9.0], 0.5, 0.0),
                          ([3.0, -1.0], 1.0, 0.0), ([2.0, 1.0, 0.3], 1.0, 0.7),
                          ([1.0, 5.0], 0.3, 2.0)])


def _newton_practice() -> list[Case]:
    return _newtons(9312, [([2.0, 6.0], 1.0, 0.0), ([1.5, 0.4, 3.0], 0.8, 0.5)])


def _curvature_pairs(rng: np.random.Generator, d: int, pairs: int):
    A = _rotated(rng, rng.uniform(0.5, 5.0, d))
    steps = [rng.standard_normal(d) for _ in range(pairs)]
    return steps, [A @ s for s in steps]


def _two_loops(seed: int, settings: list[tuple[int, int]]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for d, pairs in settings:
        steps, changes = _curvature_pairs(rng, d, pairs)
        g, gamma = rng.standard_normal(d), float(rng.uniform(0.2, 2.0))
        cases.append(Case.of(f"g of shape ({d},), {pairs} curvature pair(s) (s_i, y_i) with "
                             f"y_iᵀs_i > 0, oldest first, gamma={gamma:.4g}",
                             g=g, steps=steps, changes=changes,
                             gamma=gamma))
    return cases


def _two_loop_cases() -> list[Case]:
    return _two_loops(303, [(2, 1), (3, 2), (4, 3), (5, 4), (3, 0)])


def _two_loop_practice() -> list[Case]:
    return _two_loops(9313, [(3, 2), (4, 1), (2, 0)])


def _quadratic_paths(seed: int, settings: list[tuple[int, int, int, float]]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for d, iters, history, lr in settings:
        A = _rotated(rng, rng.uniform(0.5, 10.0, d))
        surface, x0 = quadratic(A, rng.standard_normal(d)), rng.standard_normal(d)
        cases.append(Case.of(f"grad_fn = gradient of a random {d}-D convex quadratic, x0 of shape "
                             f"({d},), num_iters={iters}, history_size={history}, lr={lr}",
                             grad_fn=surface.grad, x0=x0,
                             num_iters=iters, history_size=history,
                             lr=lr))
    return cases


def _lbfgs_cases() -> list[Case]:
    cases = _quadratic_paths(304, [(3, 8, 2, 1.0), (5, 12, 3, 1.0), (4, 10, 1, 0.5),
                                   (6, 15, 10, 1.0)])
    cases.append(Case.of("grad_fn = Rosenbrock's gradient, x0=[-1.2, 1.0], num_iters=25, "
                         "history_size=4, lr=0.5", grad_fn=ROSENBROCK.grad,
                         x0=ROSENBROCK.start, num_iters=25,
                         history_size=4, lr=0.5))
    return cases


def _lbfgs_practice() -> list[Case]:
    cases = _quadratic_paths(9314, [(3, 6, 2, 1.0), (4, 5, 1, 0.5)])
    cases.append(Case.of("grad_fn = Rosenbrock's gradient, x0=[-0.5, 0.5], num_iters=10, "
                         "history_size=3, lr=0.5", grad_fn=ROSENBROCK.grad,
                         x0=np.array([-0.5, 0.5]), num_iters=10,
                         history_size=3, lr=0.5))
    return cases


def _limits_case() -> list[Case]:
    return [Case((), (), "your array newton_limits")]


def _kinds_case() -> list[Case]:
    return [Case((), (), "your list limit_kinds")]


register(Spec("second_order.classify", _classify_cases, call, "critical point types",
              practice=_classify_practice))
register(Spec("second_order.newton_step", _newton_cases, call, "damped Newton step",
              practice=_newton_practice))
register(Spec("second_order.two_loop", _two_loop_cases, call, "L-BFGS direction",
              practice=_two_loop_practice))
register(Spec("second_order.lbfgs_path", _lbfgs_cases, call, "L-BFGS iterates",
              practice=_lbfgs_practice))
register(Spec("second_order.newton_limits", _limits_case, value, "where Newton ends"))
register(Spec("second_order.limit_kinds", _kinds_case, value, "what it ends on"))
