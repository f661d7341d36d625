"""Exercise 03 (critical points, Newton, L-BFGS): references and typical mistakes."""

from __future__ import annotations

import numpy as np

from autograde.references import Computed, Expected, Mistake
from labkit.checks.second_order import EX03_NEWTON_STEPS, EX03_STARTS
from labkit.functions import QUARTIC
from solutions import second_order as ref


def lbfgs_path(grad_fn, x0, num_iters, history_size, lr=1.0):
    """The exercise's L-BFGS: :func:`solutions.second_order.lbfgs` with no stopping rule."""
    never = -np.inf  # no tolerance can stop the run: exactly num_iters iterations
    result = ref.lbfgs(lambda x: (0.0, grad_fn(x)), x0, lr=lr, max_iter=num_iters,
                       max_eval=10**9, history_size=history_size, tolerance_grad=never,
                       tolerance_change=never)
    return np.stack(result.path)


def newton_limits_with(newton_step=ref.newton_step) -> np.ndarray:
    """Part 5's final points, with the given Newton step (the student's, for carry-forward)."""
    limits = []
    for x in EX03_STARTS:
        with np.errstate(all="ignore"):
            for _ in range(EX03_NEWTON_STEPS):
                x = newton_step(x, QUARTIC.grad(x), QUARTIC.hessian(x))
        limits.append(x)
    return np.stack(limits)


def _newton_limits() -> np.ndarray:
    return np.stack([ref.newton_method(QUARTIC.grad, QUARTIC.hessian, x0, EX03_NEWTON_STEPS)[-1]
                     for x0 in EX03_STARTS])


def _limit_kinds() -> list[str]:
    return [ref.classify_critical_point(QUARTIC.hessian(x)) for x in _newton_limits()]


def limit_kinds_with(newton_step=ref.newton_step,
                     classify_critical_point=ref.classify_critical_point) -> list[str]:
    """Part 5's kinds of the final points, with the given Newton step and classifier."""
    return [classify_critical_point(QUARTIC.hessian(x)) for x in newton_limits_with(newton_step)]


# -- typical mistakes ------------------------------------------------------------------------
def _classify_by_diagonal(H):
    return ref.classify_critical_point(np.diag(np.diag(H)))


def _classify_zero_as_positive(H):
    eigenvalues = np.linalg.eigvalsh(H)
    if (eigenvalues >= 0).all():
        return "minimum"
    if (eigenvalues <= 0).all():
        return "maximum"
    return "saddle"


def _classify_by_determinant(H):
    det, trace = np.linalg.det(H), np.trace(H)
    if abs(det) < 1e-8:
        return "degenerate"
    if det < 0:
        return "saddle"
    return "minimum" if trace > 0 else "maximum"


def _newton_times_hessian(x, g, H, lr=1.0, damping=0.0):
    return x - lr * (H + damping * np.eye(len(x))) @ g


def _newton_damping_ignored(x, g, H, lr=1.0, damping=0.0):
    return x - lr * np.linalg.solve(H, g)


def _newton_damping_subtracted(x, g, H, lr=1.0, damping=0.0):
    return x - lr * np.linalg.solve(H - damping * np.eye(len(x)), g)


def _two_loop_sign(g, steps, changes, gamma):
    return -ref.two_loop_direction(g, steps, changes, gamma)


def _two_loop_no_gamma(g, steps, changes, gamma):
    return ref.two_loop_direction(g, steps, changes, 1.0)


def _two_loop_loops_swapped(g, steps, changes, gamma):
    """The first loop runs oldest to newest and the second newest to oldest."""
    q = -np.asarray(g, dtype=float)
    rho = [1.0 / float(y @ s) for s, y in zip(steps, changes, strict=True)]
    alpha = [0.0] * len(steps)
    for i in range(len(steps)):
        alpha[i] = rho[i] * float(steps[i] @ q)
        q = q - alpha[i] * changes[i]
    r = gamma * q
    for i in reversed(range(len(steps))):
        r = r + (alpha[i] - rho[i] * float(changes[i] @ r)) * steps[i]
    return r


def _lbfgs_variant(first_scaled: bool = True, bounded: bool = True, scaled_gamma: bool = True,
                   two_loop=ref.two_loop_direction):
    """The exercise's L-BFGS loop with one thing changed (all defaults: the right loop;
    ``two_loop``: the student's own direction, for carry-forward)."""
    def path(grad_fn, x0, num_iters, history_size, lr=1.0):
        x = np.array(x0, dtype=float)
        points, steps, changes = [x.copy()], [], []
        gamma, g_prev, d, t = 1.0, None, None, lr
        for k in range(num_iters):
            g = grad_fn(x)
            if k == 0:
                d = -g
            else:
                y, s = g - g_prev, t * d
                if y @ s > 1e-10:
                    if bounded and len(steps) == history_size:
                        steps.pop(0)
                        changes.pop(0)
                    steps.append(s)
                    changes.append(y)
                    gamma = float(y @ s) / float(y @ y) if scaled_gamma else 1.0
                d = two_loop(g, steps, changes, gamma)
            t = min(1.0, 1.0 / float(np.sum(np.abs(g)))) * lr if k == 0 and first_scaled else lr
            g_prev = g
            x = x + t * d
            points.append(x.copy())
        return np.stack(points)
    return path


EXPECTED = {
    "second_order.classify": Expected(ref.classify_critical_point, mistakes=(
        Mistake("diagonal", "The signs of the diagonal entries do not classify a critical "
                "point (a positive diagonal can hide a saddle): use the eigenvalues.",
                _classify_by_diagonal,
                diagnosis="the kind is read from the signs of the diagonal entries, so a Hessian "
                "with a positive diagonal but a negative eigenvalue is called a minimum instead of "
                "a saddle."),
        Mistake("zero_as_positive", "A zero eigenvalue makes the second-order test "
                "inconclusive: answer \"degenerate\" unless there are eigenvalues of both "
                "signs.", _classify_zero_as_positive,
                diagnosis="a zero eigenvalue counts as having a sign, so an inconclusive test is "
                "reported as a minimum or a maximum instead of degenerate."),
        Mistake("determinant", "The determinant-and-trace rule only works for 2×2 matrices; "
                "use the signs of all eigenvalues.", _classify_by_determinant,
                diagnosis="the determinant-and-trace rule is applied whatever the size, so "
                "Hessians larger than 2×2 are misclassified (three negative eigenvalues make a "
                "negative determinant and a 'saddle')."),
    )),
    "second_order.newton_step": Expected(ref.newton_step, mistakes=(
        Mistake("times_hessian", "Newton multiplies the gradient by the *inverse* Hessian: "
                "solve (H + damping·I) p = g and step by −lr·p.", _newton_times_hessian,
                diagnosis="the step multiplies the gradient by the Hessian itself, so steep "
                "directions get the longest steps instead of the shortest and one step no longer "
                "solves a quadratic."),
        Mistake("damping_ignored", "The damping is added to the Hessian's diagonal: "
                "H + damping·I.", _newton_damping_ignored,
                diagnosis="the damping argument has no effect, so every step is undamped Newton's "
                "and wrong wherever damping > 0."),
        Mistake("damping_subtracted", "Damping adds damping·I to H (it makes the step "
                "shorter and closer to gradient descent).", _newton_damping_subtracted,
                diagnosis="the damping lowers the curvature instead of raising it, so damped steps "
                "get longer rather than shorter and can even point uphill."),
    )),
    "second_order.two_loop": Expected(ref.two_loop_direction, weight=1, mistakes=(
        Mistake("sign", "The function returns the search direction −H·g (a descent "
                "direction), not H·g.", _two_loop_sign,
                diagnosis="the direction has the wrong sign, so it points uphill, opposite to the "
                "quasi-Newton descent direction."),
        Mistake("no_gamma", "Scale by gamma between the two loops: r = gamma·q.",
                _two_loop_no_gamma,
                diagnosis="the initial inverse-Hessian scale gamma is left out, so the direction "
                "has the wrong length whenever gamma is not 1."),
        Mistake("loops_swapped", "The first loop goes from the newest pair to the oldest, the "
                "second from the oldest to the newest.", _two_loop_loops_swapped,
                diagnosis="the two loops run through the pairs in the opposite orders, so the "
                "direction is wrong as soon as there are two pairs or more."),
    )),
    "second_order.lbfgs_path": Expected(
        lbfgs_path, upstream={"two_loop": "second_order.two_loop"},
        reference_with=lambda two_loop=ref.two_loop_direction: _lbfgs_variant(
            two_loop=two_loop), mistakes=(
        Mistake("first_step_unscaled", "The first step is −g scaled by min(1, 1/‖g‖₁)·lr: its "
                "length is unknown before any curvature is seen.",
                _lbfgs_variant(False, True, True),
                diagnosis="the first step is the raw negative gradient times lr, so with a large "
                "gradient the first iterate lands far away and the whole path differs."),
        Mistake("unbounded_history", "Keep at most history_size pairs: drop the oldest when a "
                "new one would exceed it.", _lbfgs_variant(True, False, True),
                diagnosis="the history is never trimmed, so once there are more than history_size "
                "pairs the directions still use the old ones and the path differs from then on."),
        Mistake("gamma_one", "Scale the initial inverse Hessian by gamma = sᵀy / yᵀy of the "
                "newest pair.", _lbfgs_variant(True, True, False),
                diagnosis="the initial inverse Hessian stays the identity, so the directions have "
                "the wrong length and the path differs from the second step on."),
    )),
    "second_order.newton_limits": Expected(
        Computed(_newton_limits), rtol=0, atol=1e-6, check_dtype=False,
        upstream={"newton_step": "second_order.newton_step"}, reference_with=newton_limits_with),
    "second_order.limit_kinds": Expected(
        Computed(_limit_kinds),
        upstream={"newton_step": "second_order.newton_step",
                  "classify_critical_point": "second_order.classify"},
        reference_with=limit_kinds_with, mistakes=(
            Mistake("kinds_at_starts", "Classify the Hessian at each final point of "
                    "newton_limits, not at the starting point.",
                    Computed(lambda: [ref.classify_critical_point(QUARTIC.hessian(x))
                                      for x in EX03_STARTS]),
                    diagnosis="the kinds are those of the Hessian at the starting points: "
                    "right only for the runs that end where the start's curvature points, "
                    "wrong for the four that cross to another critical point."),
        )),
}
