"""Exercise 05 (AMSGrad, AdamW, RAdam): references and the catalog of typical mistakes.

The exercise passes optimizer state as plain arrays; the adapters here call the book's rules in
:mod:`solutions.adaptive`.
"""

from __future__ import annotations

import numpy as np

from autograde.references import Computed, Expected, Mistake, optimizer_variant
from labkit.checks.beyond_adam import EX05_LR, EX05_STEPS, EX05_WEIGHT_DECAY, EX05_X, EX05_Y
from solutions import adaptive, beyond_adam
from solutions.adaptive import adam_update
from solutions.beyond_adam import AdamW


# -- references in the exercise's signatures -------------------------------------------------
def amsgrad_step(x, g, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    x_new, s = adaptive.adam(x, g, adaptive.AdamState(t, m, v, v_max), lr, beta1, beta2, eps,
                        amsgrad=True)
    return x_new, s.m, s.v, s.v_max, s.t


def adamw_step(x, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    x_new, s = beyond_adam.adamw(x, g, adaptive.AdamState(t, m, v, v), lr, beta1, beta2, eps,
                                 weight_decay)
    return x_new, s.m, s.v, s.t


def radam_step(x, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    x_new, s = beyond_adam.radam(x, g, adaptive.AdamState(t, m, v, v), lr, beta1, beta2, eps)
    return x_new, s.m, s.v, s.t


def _grad(w: np.ndarray) -> np.ndarray:
    return EX05_X.T @ (EX05_X @ w - EX05_Y) / len(EX05_Y)


def _final_weights() -> dict[str, np.ndarray]:
    weights = {}
    for name in ("adam_l2", "adamw"):
        w = np.zeros(EX05_X.shape[1])
        state = adaptive.init_adam(w)
        rule = beyond_adam.adamw if name == "adamw" else adaptive.adam
        for _ in range(EX05_STEPS):
            w, state = rule(w, _grad(w), state, EX05_LR, weight_decay=EX05_WEIGHT_DECAY)
        weights[name] = w
    return weights


# -- typical mistakes ------------------------------------------------------------------------
def _moments(g, m, v, beta1, beta2):
    return beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g


def _adam_update(x, m, second, t, lr, beta1, beta2, eps):
    return x - lr * (m / (1 - beta1**t)) / (np.sqrt(second / (1 - beta2**t)) + eps)


def _amsgrad_max_of_v_hat(x, g, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t += 1
    m, v = _moments(g, m, v, beta1, beta2)
    v_max = np.maximum(v_max, v / (1 - beta2**t))
    return x - lr * (m / (1 - beta1**t)) / (np.sqrt(v_max) + eps), m, v, v_max, t


def _amsgrad_plain_adam(x, g, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t += 1
    m, v = _moments(g, m, v, beta1, beta2)
    return _adam_update(x, m, v, t, lr, beta1, beta2, eps), m, v, np.maximum(v_max, v), t


def _amsgrad_old_v(x, g, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t += 1
    v_max = np.maximum(v_max, v)  # the maximum taken before v is updated
    m, v = _moments(g, m, v, beta1, beta2)
    return _adam_update(x, m, v_max, t, lr, beta1, beta2, eps), m, v, v_max, t


def _adamw_coupled(x, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    m, v = _moments(g + weight_decay * x, m, v, beta1, beta2)
    return _adam_update(x, m, v, t + 1, lr, beta1, beta2, eps), m, v, t + 1


def _adamw_no_lr(x, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    m, v = _moments(g, m, v, beta1, beta2)
    return _adam_update(x * (1 - weight_decay), m, v, t + 1, lr, beta1, beta2, eps), m, v, t + 1


def _adamw_after(x, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    m, v = _moments(g, m, v, beta1, beta2)
    x = _adam_update(x, m, v, t + 1, lr, beta1, beta2, eps)
    return x * (1 - lr * weight_decay), m, v, t + 1


def _radam_variant(threshold: float, rectify: bool, correct_m: bool):
    def step(x, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        t += 1
        m, v = _moments(g, m, v, beta1, beta2)
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho > threshold:
            r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            r = r if rectify else 1.0
            return x - lr * m_hat * r / (np.sqrt(v / (1 - beta2**t)) + eps), m, v, t
        return x - lr * (m_hat if correct_m else m), m, v, t
    return step


def _adamw_update_coupled(param, grad, state, **hyper):
    adam_update(param, grad, state, **{**hyper, "decoupled": False})


def _adamw_update_decay_after(param, grad, state, **hyper):
    adam_update(param, grad, state, **{**hyper, "weight_decay": 0.0})
    param.mul_(1 - hyper["lr"] * hyper["weight_decay"])


def _adamw_update_max_of_v_hat(param, grad, state, **hyper):
    """AMSGrad over v̂ = v / (1 − β2^t) instead of v. ``adam_update`` takes the maximum of
    the stored value and v, then divides by 1 − β2^t, so the stored maximum of v̂ is put in
    this step's units (times 1 − β2^t) before the call and taken back after it."""
    if not hyper["amsgrad"]:
        return adam_update(param, grad, state, **hyper)
    correction = 1 - hyper["beta2"] ** (state.get("step", 0) + 1)
    if state:
        state["max_exp_avg_sq"].mul_(correction)
    adam_update(param, grad, state, **hyper)
    state["max_exp_avg_sq"].div_(correction)
    return None


_AdamWCoupled = optimizer_variant(
    AdamW, "_AdamWCoupled", _adamw_update_coupled,
    "AdamW whose decay is added to the gradient (Adam's coupled L2).")
_AdamWDecayAfter = optimizer_variant(
    AdamW, "_AdamWDecayAfter", _adamw_update_decay_after,
    "AdamW shrinking the parameters after the Adam step instead of before it.")
_AdamWMaxOfVHat = optimizer_variant(
    AdamW, "_AdamWMaxOfVHat", _adamw_update_max_of_v_hat,
    "AdamW with AMSGrad keeping the maximum of the bias-corrected v̂.")


_MAX_OF_V_HAT = ("AMSGrad keeps the maximum of the raw second moment v and bias-corrects "
                 "that maximum (as PyTorch does), not the maximum of v̂.")
_MAX_OF_V_HAT_DIAGNOSIS = ("the running maximum is kept over the bias-corrected second "
                           "moment, so from the second step on the denominator differs from "
                           "PyTorch's AMSGrad.")

# -- carry-forward: part 5 run with the student's own adamw_step -----------------------------
def final_weights_with(adamw_step=adamw_step) -> dict[str, np.ndarray]:
    """Part 5 as the exercise runs it: one step function, with coupled L2 (the decay added
    to the gradient, weight_decay=0) for ``adam_l2`` and decoupled decay for ``adamw``."""
    weights = {}
    for name in ("adam_l2", "adamw"):
        w = np.zeros(EX05_X.shape[1])
        m, v, t = np.zeros_like(w), np.zeros_like(w), 0
        for _ in range(EX05_STEPS):
            if name == "adamw":
                w, m, v, t = adamw_step(w, _grad(w), m, v, t, EX05_LR,
                                        weight_decay=EX05_WEIGHT_DECAY)
            else:
                w, m, v, t = adamw_step(w, _grad(w) + EX05_WEIGHT_DECAY * w, m, v, t, EX05_LR,
                                        weight_decay=0.0)
        weights[name] = w
    return weights


EXPECTED = {
    "beyond_adam.amsgrad_step": Expected(amsgrad_step, mistakes=(
        Mistake("max_of_v_hat", _MAX_OF_V_HAT, _amsgrad_max_of_v_hat,
                diagnosis=_MAX_OF_V_HAT_DIAGNOSIS),
        Mistake("plain_adam", "The maximum is kept but not used: divide by √(v_max / "
                "(1 − beta2^t)) + eps.", _amsgrad_plain_adam,
                diagnosis="the running maximum is updated but never used, so every step is plain "
                "Adam's."),
        Mistake("old_v", "Update v first, then take v_max = max(v_max, v) with the new v.",
                _amsgrad_old_v,
                diagnosis="the maximum is taken with the second moment from before this step's "
                "update, so it lags a step behind (from a zero state the first step divides by eps "
                "alone, an enormous step)."),
    )),
    "beyond_adam.adamw_step": Expected(adamw_step, mistakes=(
        Mistake("coupled", "That is Adam with L2 (decay added to the gradient); AdamW shrinks "
                "the weights directly, x ← x·(1 − lr·weight_decay), and leaves m and v alone.",
                _adamw_coupled,
                diagnosis="the decay is added to the gradient, so it passes through m and v and is "
                "rescaled by the adaptive denominator: this is Adam with L2, not AdamW's decoupled "
                "decay."),
        Mistake("no_lr", "The decay is scaled by the learning rate: x ← x·(1 − lr·weight_decay)."
                , _adamw_no_lr,
                diagnosis="the weights shrink by the whole weight_decay fraction every step "
                "whatever the learning rate, so the decay is far stronger than AdamW's."),
        Mistake("decay_after_step", "Shrink the weights before the Adam step, as PyTorch does, "
                "not after it.", _adamw_after,
                diagnosis="the weights are shrunk after the Adam update, so the decay also shrinks "
                "this step's update and the result is slightly off from PyTorch's order."),
    )),
    "beyond_adam.radam_step": Expected(radam_step, weight=1, mistakes=(
        Mistake("paper_threshold", "The adaptive step starts when ρ_t > 5 (PyTorch's rule, "
                "given in the exercise), not ρ_t > 4.", _radam_variant(4, True, True),
                diagnosis="the adaptive step switches on when ρ_t exceeds 4, the paper's rule, so "
                "around the switch a step is adaptive where the exercise's rule still takes the "
                "SGD-like step."),
        Mistake("no_rectification", "The adaptive step is multiplied by the rectification "
                "term r_t.", _radam_variant(5, False, True),
                diagnosis="the adaptive step leaves out the rectification, so after the switch the "
                "steps are plain Adam's, too large while the variance of the second moment is "
                "still high."),
        Mistake("uncorrected_sgd_branch", "Before the switch the step is lr·m̂ with the "
                "bias-corrected m̂ = m / (1 − beta1^t).", _radam_variant(5, True, False),
                diagnosis="before the switch the step uses the raw first moment, which starts near "
                "zero, so the early SGD-like steps are far too small (10 times at the first step "
                "with beta1 = 0.9)."),
    )),
    "beyond_adam.optimizer": Expected(AdamW, mistakes=(
        Mistake("coupled", "AdamW's decay shrinks the parameter (p ← p·(1 − lr·λ)); adding "
                "λ·p to the gradient is Adam's L2.", _AdamWCoupled,
                diagnosis="the decay enters the gradient (Adam's L2), so the adaptive denominator "
                "rescales it instead of every weight shrinking by the same fraction."),
        Mistake("decay_after_step", "Shrink the parameter before the Adam update, not after.",
                _AdamWDecayAfter,
                diagnosis="the parameters are shrunk after the Adam update, so the decay also "
                "shrinks this step's update and the result is slightly off from PyTorch's order."),
        Mistake("max_of_v_hat", _MAX_OF_V_HAT, _AdamWMaxOfVHat,
                diagnosis=_MAX_OF_V_HAT_DIAGNOSIS),
    )),
    "beyond_adam.final_weights": Expected(
        Computed(final_weights_with),
        upstream={"adamw_step": "beyond_adam.adamw_step"},
        reference_with=final_weights_with, rtol=1e-5, atol=1e-8,
        check_dtype=False),
}
