"""Exercise 04 (Adagrad, RMSProp, Adam): references and the catalog of typical mistakes.

The exercise passes optimizer state as plain arrays (``adam_step(x, g, m, v, t, ...)``); the
adapters here call the book's rules in :mod:`solutions.adaptive`, which keep it in NamedTuples.
"""

from __future__ import annotations

import functools

import numpy as np

from autograde.references import Computed, Expected, Mistake, optimizer_variant
from labkit.checks.adaptive import EX04_SETTINGS, EX04_STEPS
from labkit.functions import ROSENBROCK
from solutions import adaptive as ref
from solutions.adaptive import Adam, adam_update


# -- references in the exercise's signatures -------------------------------------------------
def adagrad_step(x, g, sum_sq, lr, eps=1e-10):
    x_new, state = ref.adagrad(x, g, ref.AdagradState(0, sum_sq), lr=lr, eps=eps)
    return x_new, state.sum_sq


def rmsprop_step(x, g, mean_sq, lr, alpha=0.99, eps=1e-8):
    zeros = np.zeros_like(x)
    x_new, state = ref.rmsprop(x, g, ref.RMSPropState(mean_sq, zeros, zeros), lr=lr,
                               alpha=alpha, eps=eps)
    return x_new, state.mean_sq


def adam_step(x, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    x_new, state = ref.adam(x, g, ref.AdamState(t, m, v, v), lr, beta1, beta2, eps)
    return x_new, state.m, state.v, state.t


def final_losses_with(adagrad_step=adagrad_step, rmsprop_step=rmsprop_step,
                      adam_step=adam_step) -> dict[str, float]:
    """Part 5 run with the given step functions (the student's, for carry-forward)."""
    losses = {}
    for name in ("adagrad", "rmsprop", "adam"):
        x = ROSENBROCK.start.copy()
        state, m, v, t = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x), 0
        with np.errstate(all="ignore"):
            for _ in range(EX04_STEPS):
                g = ROSENBROCK.grad(x)
                if name == "adagrad":
                    x, state = adagrad_step(x, g, state, **EX04_SETTINGS[name])
                elif name == "rmsprop":
                    x, state = rmsprop_step(x, g, state, **EX04_SETTINGS[name])
                else:
                    x, m, v, t = adam_step(x, g, m, v, t, **EX04_SETTINGS[name])
        losses[name] = float(ROSENBROCK.value(x))
    return losses


# -- typical mistakes ------------------------------------------------------------------------
def _adagrad_no_sqrt(x, g, sum_sq, lr, eps=1e-10):
    s = sum_sq + g * g
    return x - lr * g / (s + eps), s


def _adagrad_old_sum(x, g, sum_sq, lr, eps=1e-10):
    return x - lr * g / (np.sqrt(sum_sq) + eps), sum_sq + g * g


def _adagrad_eps_inside(x, g, sum_sq, lr, eps=1e-10):
    s = sum_sq + g * g
    return x - lr * g / np.sqrt(s + eps), s


def _rmsprop_alpha_swapped(x, g, mean_sq, lr, alpha=0.99, eps=1e-8):
    s = (1 - alpha) * mean_sq + alpha * g * g
    return x - lr * g / (np.sqrt(s) + eps), s


def _rmsprop_sum(x, g, mean_sq, lr, alpha=0.99, eps=1e-8):
    s = mean_sq + g * g
    return x - lr * g / (np.sqrt(s) + eps), s


def _rmsprop_eps_inside(x, g, mean_sq, lr, alpha=0.99, eps=1e-8):
    s = alpha * mean_sq + (1 - alpha) * g * g
    return x - lr * g / np.sqrt(s + eps), s


def _adam_moments(g, m, v, beta1, beta2):
    return beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g


def _adam_no_correction(x, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _adam_moments(g, m, v, beta1, beta2)
    return x - lr * m / (np.sqrt(v) + eps), m, v, t + 1


def _adam_t_after_use(x, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _adam_moments(g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return x - lr * m_hat / (np.sqrt(v_hat) + eps), m, v, t + 1


def _adam_eps_inside(x, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _adam_moments(g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1 ** (t + 1)), v / (1 - beta2 ** (t + 1))
    return x - lr * m_hat / np.sqrt(v_hat + eps), m, v, t + 1


def _adam_only_m_corrected(x, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _adam_moments(g, m, v, beta1, beta2)
    return x - lr * m / (1 - beta1 ** (t + 1)) / (np.sqrt(v) + eps), m, v, t + 1


def _adam_state_forgotten(param, grad, state, **hyper):
    adam_update(param, grad, {}, **hyper)


def _adam_decay_decoupled(param, grad, state, **hyper):
    adam_update(param, grad, state, **{**hyper, "decoupled": True})


_AdamNoCorrection = optimizer_variant(
    Adam, "_AdamNoCorrection", functools.partial(adam_update, bias_correction=False),
    "Adam without the bias corrections 1 − β^t.")
_AdamStateNotKept = optimizer_variant(
    Adam, "_AdamStateNotKept", _adam_state_forgotten,
    "Adam whose m, v and step count start afresh every step (never kept in self.state).")
_AdamDecoupled = optimizer_variant(
    Adam, "_AdamDecoupled", _adam_decay_decoupled,
    "Adam whose weight_decay shrinks the parameters directly (AdamW's decoupled decay).")


_NO_MUTATION_HINT = ("an input array was changed in place (x -= …, s += …); build new arrays "
                     "and return them.")

EXPECTED = {
    "adaptive.adagrad_step": Expected(adagrad_step, weight=3, no_mutation=1,
        in_place_hint=_NO_MUTATION_HINT, mistakes=(
        Mistake("no_sqrt", "Divide by the square root of the accumulated squares, "
                "√(sum_sq) + eps, not by the sum itself.", _adagrad_no_sqrt,
                diagnosis="the gradient is divided by the accumulated squares rather than by their "
                "magnitude, so the steps are tiny for large gradients and huge for small ones "
                "instead of about lr."),
        Mistake("old_sum", "Add g² to the accumulator first, then divide by its square root: "
                "the current gradient counts in its own step.", _adagrad_old_sum,
                diagnosis="the step divides by the accumulator from before this gradient was "
                "added, so the current gradient does not count in its own step (from an empty "
                "accumulator the first step divides by eps alone)."),
        Mistake("eps_inside", "eps goes outside the square root: √(sum_sq) + eps.",
                _adagrad_eps_inside,
                diagnosis="eps sits under the square root, so the step is wrong where eps is not "
                "negligible next to the accumulated squares (large eps, tiny gradients)."),
    )),
    "adaptive.rmsprop_step": Expected(rmsprop_step, mistakes=(
        Mistake("alpha_swapped", "alpha weighs the old average: mean_sq ← alpha·mean_sq + "
                "(1 − alpha)·g².", _rmsprop_alpha_swapped,
                diagnosis="alpha weighs the new squared gradient and 1 − alpha the old average, so "
                "the average forgets almost all of its history at every step."),
        Mistake("sum", "That accumulates like Adagrad; RMSProp keeps a running *average* "
                "of g².", _rmsprop_sum,
                diagnosis="the squared gradients are summed, not averaged, so the denominator "
                "keeps growing and the steps shrink over time as in Adagrad."),
        Mistake("eps_inside", "eps goes outside the square root: √(mean_sq) + eps.",
                _rmsprop_eps_inside,
                diagnosis="eps sits under the square root, so the step is wrong where eps is not "
                "negligible next to the running average of the squares."),
    )),
    "adaptive.adam_step": Expected(adam_step, weight=3, no_mutation=1,
        in_place_hint=_NO_MUTATION_HINT, mistakes=(
        Mistake("no_bias_correction", "The moments are not bias-corrected: divide m by "
                "1 − beta1^t and v by 1 − beta2^t.", _adam_no_correction,
                diagnosis="no bias correction: the moments start at zero and are used as they are, "
                "so the early steps have the wrong size (about 3 times too large at the first step "
                "with the default betas)."),
        Mistake("t_after_use", "The step counter is incremented after the bias correction; "
                "count this step first (t + 1), so the first step uses t = 1.",
                _adam_t_after_use,
                diagnosis="the bias correction uses the step count from before this step, so the "
                "first step divides by zero (nan) and every later correction is one step behind."),
        Mistake("eps_inside", "eps goes outside the square root: √(v̂) + eps.",
                _adam_eps_inside,
                diagnosis="eps sits under the square root, so the step is wrong where eps is not "
                "negligible next to the corrected second moment."),
        Mistake("only_m_corrected", "v needs its bias correction too (v / (1 − beta2^t)).",
                _adam_only_m_corrected,
                diagnosis="only the first moment is bias-corrected, so the second is far too small "
                "early on and the first steps are much too large (about 30 times with the default "
                "betas)."),
    )),
    "adaptive.optimizer": Expected(Adam, mistakes=(
        Mistake("no_bias_correction", "The moments are used without bias correction.",
                _AdamNoCorrection,
                diagnosis="no bias correction: the optimizer uses the raw moments, so its early "
                "steps are off by a large factor compared with torch.optim.Adam."),
        Mistake("state_not_kept", "m, v and the step count must live in self.state[p] so "
                "that they carry over from one step() to the next.", _AdamStateNotKept,
                diagnosis="m, v and the step count start from zero at every step(), so every step "
                "is Adam's first step, about lr times the sign of the gradient, and nothing is "
                "remembered."),
        Mistake("decoupled_decay", "Adam's weight_decay is L2: add weight_decay·p to the "
                "gradient before the moments (shrinking p directly is AdamW).",
                _AdamDecoupled,
                diagnosis="weight_decay shrinks the parameters directly (AdamW's decoupled decay), "
                "so with weight_decay > 0 the trajectory differs from torch.optim.Adam's L2 "
                "penalty."),
    )),
    "adaptive.final_losses": Expected(
        Computed(final_losses_with), rtol=1e-4, atol=1e-8, reference_with=final_losses_with,
        upstream={"adagrad_step": "adaptive.adagrad_step",
                  "rmsprop_step": "adaptive.rmsprop_step", "adam_step": "adaptive.adam_step"},
        check_dtype=False),
}
