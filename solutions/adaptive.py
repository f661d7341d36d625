"""Chapters 4–5: adaptive learning rates, as pure NumPy update rules.

Each rule is a function ``rule(x, g, state, ...) -> (x_new, state_new)`` with an immutable
``NamedTuple`` state made by ``init_<rule>(x)``; nothing is mutated. Conventions, written once
and matched to ``torch.optim`` (tests/test_adaptive.py checks them over many steps):

* the step counter ``t`` is incremented *before* it is used, so the first step has ``t = 1``
  and bias corrections ``1 − β^t`` are never zero;
* ``eps`` is added *outside* the square root: ``m̂ / (√v̂ + eps)``;
* coupled L2 (``weight_decay`` in Adagrad, RMSprop, Adam, NAdam, RAdam) adds ``λx`` to the
  gradient before the moments; decoupled decay (AdamW) shrinks ``x ← x(1 − lr·λ)`` first and
  leaves the moments alone (Loshchilov & Hutter, 2019);
* AMSGrad keeps the running maximum of the raw second moment ``v`` (not of ``v̂``);
* states and results keep the parameters' floating dtype (float32 in, float32 out).

Each rule returns fresh arrays and never writes into its arguments; the in-place operations
(``out=``, ``*=``) below act only on arrays that the call itself has just created, to spare the
temporaries a longer expression would allocate (benchmarks/optimizer_step.py times them).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

Array = np.ndarray


def _zeros(x: Array) -> Array:
    """Zeros shaped like ``x``, in its floating dtype (float64 for integer ``x``)."""
    return np.zeros_like(x, dtype=np.result_type(x, 0.0))


def _ema(average: Array, value: Array, decay: float) -> Array:
    """``decay·average + (1 − decay)·value``, written as PyTorch's ``lerp`` computes it
    (``average + (1 − decay)(value − average)``), which keeps long runs within a few ulps of
    torch (not bit for bit: torch's fused kernels may round differently)."""
    out = np.subtract(value, average, dtype=np.result_type(value, average, 0.0))
    out *= 1 - decay
    return np.add(average, out, out=out)


def _ema_sq(average: Array, g: Array, decay: float) -> Array:
    """``decay·average + (1 − decay)·g²`` in PyTorch's ``mul_().addcmul_()`` order."""
    out = np.multiply(g, g, dtype=np.result_type(g, average, 0.0))
    out *= 1 - decay
    return np.add(decay * average, out, out=out)


# -- Adagrad ------------------------------------------------------------------------------------
class AdagradState(NamedTuple):
    t: int
    sum_sq: Array  # Σ g², per coordinate


def init_adagrad(x: Array, initial_accumulator_value: float = 0.0) -> AdagradState:
    return AdagradState(0, _zeros(x) + initial_accumulator_value)


def adagrad(x: Array, g: Array, state: AdagradState, lr: float = 1e-2, lr_decay: float = 0.0,
            weight_decay: float = 0.0, eps: float = 1e-10) -> tuple[Array, AdagradState]:
    """Adagrad (Duchi, Hazan & Singer, 2011): per-coordinate steps shrink with Σ g².

    ``t ← t+1``; ``g ← g + λx``; ``s ← s + g²``; ``x ← x − lr_t · g / (√s + eps)`` with
    ``lr_t = lr / (1 + (t − 1)·lr_decay)``. Because ``s`` only grows, steps only shrink.
    """
    t = state.t + 1
    if weight_decay:
        g = g + weight_decay * x
    sum_sq = state.sum_sq + g * g
    lr_t = lr / (1 + (t - 1) * lr_decay)
    return x - lr_t * g / (np.sqrt(sum_sq) + eps), AdagradState(t, sum_sq)


# -- RMSProp ------------------------------------------------------------------------------------
class RMSPropState(NamedTuple):
    mean_sq: Array  # running mean of g²
    mean_g: Array  # running mean of g (centered variant)
    buf: Array  # momentum buffer


def init_rmsprop(x: Array) -> RMSPropState:
    zeros = _zeros(x)
    return RMSPropState(zeros, zeros, zeros)


def rmsprop(x: Array, g: Array, state: RMSPropState, lr: float = 1e-2, alpha: float = 0.99,
            eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
            centered: bool = False) -> tuple[Array, RMSPropState]:
    """RMSProp (Tieleman & Hinton, 2012): divide by a *running* RMS of recent gradients.

    ``s ← α s + (1−α) g²``; centered: ``ḡ ← α ḡ + (1−α) g`` and the denominator is
    ``√(s − ḡ²) + eps`` (a variance estimate, Graves 2013), else ``√s + eps``. With momentum
    ``b ← μ b + g/denom; x ← x − lr·b``, otherwise ``x ← x − lr·g/denom``.
    """
    if weight_decay:
        g = g + weight_decay * x
    mean_sq = _ema_sq(state.mean_sq, g, alpha)
    mean_g = state.mean_g
    if centered:
        mean_g = _ema(mean_g, g, alpha)
        denom = np.sqrt(mean_sq - mean_g * mean_g) + eps
    else:
        denom = np.sqrt(mean_sq) + eps
    if momentum > 0:
        buf = momentum * state.buf + g / denom
        return x - lr * buf, RMSPropState(mean_sq, mean_g, buf)
    return x - lr * g / denom, RMSPropState(mean_sq, mean_g, state.buf)


# -- Adam and its descendants -------------------------------------------------------------------
class AdamState(NamedTuple):
    t: int
    m: Array  # first moment (mean of g)
    v: Array  # second moment (mean of g²)
    v_max: Array  # AMSGrad: running maximum of v


def init_adam(x: Array) -> AdamState:
    zeros = _zeros(x)
    return AdamState(0, zeros, zeros, zeros)


def adam_simple(x: Array, g: Array, state: AdamState, lr: float = 1e-3, beta1: float = 0.9,
                beta2: float = 0.999, eps: float = 1e-8) -> tuple[Array, AdamState]:
    """The "simple" Adam of the CS231n notes: RMSProp with a momentum-smoothed gradient.

    ``m ← β1 m + (1−β1) g``; ``v ← β2 v + (1−β2) g²``; ``x ← x − lr·m/(√v + eps)`` — no bias
    correction, so the first steps are far too small (``m`` and ``v`` start at zero).
    """
    m = _ema(state.m, g, beta1)
    v = _ema_sq(state.v, g, beta2)
    return x - lr * m / (np.sqrt(v) + eps), AdamState(state.t + 1, m, v, state.v_max)


def adam(x: Array, g: Array, state: AdamState, lr: float = 1e-3, beta1: float = 0.9,
         beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
         amsgrad: bool = False, decoupled: bool = False) -> tuple[Array, AdamState]:
    """Adam (Kingma & Ba, 2015) with bias correction; AMSGrad (Reddi et al., 2018); AdamW.

    ``t ← t+1``; decay (coupled ``g ← g + λx`` or, with ``decoupled``, ``x ← x(1 − lr·λ)``);
    ``m ← β1 m + (1−β1) g``; ``v ← β2 v + (1−β2) g²``; AMSGrad: ``v_max ← max(v_max, v)``
    and use ``v_max`` for ``v``; ``x ← x − (lr/(1−β1^t)) · m / (√v/√(1−β2^t) + eps)``.
    """
    t = state.t + 1
    if weight_decay and decoupled:
        x = x * (1 - lr * weight_decay)
    elif weight_decay:
        g = g + weight_decay * x
    m = _ema(state.m, g, beta1)
    v = _ema_sq(state.v, g, beta2)
    v_max = np.maximum(state.v_max, v) if amsgrad else state.v_max
    denom = np.sqrt(v_max if amsgrad else v)
    denom /= math.sqrt(1 - beta2**t)
    denom += eps  # √v/√(1−β2^t) + eps
    step = np.divide(m, denom, out=denom)
    step *= lr / (1 - beta1**t)
    return np.subtract(x, step, out=step), AdamState(t, m, v, v_max)


def adamw(x: Array, g: Array, state: AdamState, lr: float = 1e-3, beta1: float = 0.9,
          beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 1e-2,
          amsgrad: bool = False) -> tuple[Array, AdamState]:
    """AdamW (Loshchilov & Hutter, 2019): Adam with weight decay decoupled from the moments."""
    return adam(x, g, state, lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled=True)


class NAdamState(NamedTuple):
    t: int
    m: Array
    v: Array
    mu_product: float  # Π μ_i of the momentum schedule


def init_nadam(x: Array) -> NAdamState:
    zeros = _zeros(x)
    return NAdamState(0, zeros, zeros, 1.0)


def nadam(x: Array, g: Array, state: NAdamState, lr: float = 2e-3, beta1: float = 0.9,
          beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
          momentum_decay: float = 4e-3) -> tuple[Array, NAdamState]:
    """NAdam (Dozat, 2016): Adam with a Nesterov look-ahead on the first moment.

    With the momentum schedule ``μ_t = β1 (1 − ½·0.96^(t·ψ))`` (``ψ = momentum_decay``):
    ``x ← x − lr (1−μ_t)/(1−Πμ_{≤t}) · g/d − lr μ_{t+1}/(1−Πμ_{≤t+1}) · m/d`` with
    ``d = √(v/(1−β2^t)) + eps`` — PyTorch's form of the algorithm.
    """
    t = state.t + 1
    if weight_decay:
        g = g + weight_decay * x
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_product = state.mu_product * mu
    m = _ema(state.m, g, beta1)
    v = _ema_sq(state.v, g, beta2)
    denom = np.sqrt(v / (1 - beta2**t)) + eps
    x = x - lr * (1 - mu) / (1 - mu_product) * g / denom
    x = x - lr * mu_next / (1 - mu_product * mu_next) * m / denom
    return x, NAdamState(t, m, v, mu_product)


def radam_rho(t: int | Array, beta2: float = 0.999) -> Array:
    """RAdam's ``ρ_t = ρ_∞ − 2tβ2^t/(1−β2^t)``, ``ρ_∞ = 2/(1−β2) − 1``: the length of the
    simple moving average that ``v`` approximates after ``t`` steps (Liu et al., 2020)."""
    t = np.asarray(t, dtype=float)
    rho_inf = 2 / (1 - beta2) - 1
    return rho_inf - 2 * t * beta2**t / (1 - beta2**t)


def radam(x: Array, g: Array, state: AdamState, lr: float = 1e-3, beta1: float = 0.9,
          beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0
          ) -> tuple[Array, AdamState]:
    """RAdam (Liu et al., 2020): switch the adaptive step on only once ``v`` is trustworthy.

    While ``ρ_t ≤ 5`` the step is momentum SGD with ``m̂ = m/(1−β1^t)``; afterwards it is
    ``m̂ · r_t · √(1−β2^t)/(√v + eps)`` with the rectification
    ``r_t = √((ρ_t−4)(ρ_t−2)ρ_∞ / ((ρ_∞−4)(ρ_∞−2)ρ_t))``. For β2 = 0.999 the first rectified
    step is t = 6.
    """
    t = state.t + 1
    if weight_decay:
        g = g + weight_decay * x
    m = _ema(state.m, g, beta1)
    v = _ema_sq(state.v, g, beta2)
    step = m / (1 - beta1**t)  # m̂
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = float(radam_rho(t, beta2))
    if rho_t > 5:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                         / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        denom = np.sqrt(v)
        denom += eps
        step /= denom
        step *= rect * math.sqrt(1 - beta2**t)  # m̂ · r_t · √(1−β2^t)/(√v + eps)
    step *= lr
    return np.subtract(x, step, out=step), AdamState(t, m, v, state.v_max)


def adabound_bounds(t: int | Array, final_lr: float = 0.1, gamma: float = 1e-3
                    ) -> tuple[Array, Array]:
    """AdaBound's clipping range at step ``t`` (Luo et al., 2019).

    ``η_l(t) = final_lr·(1 − 1/(γt + 1))`` rises from 0 and ``η_u(t) = final_lr·(1 + 1/(γt))``
    falls from ∞; both tend to ``final_lr``, turning Adam into SGD with that rate.
    """
    t = np.asarray(t, dtype=float)
    return final_lr * (1 - 1 / (gamma * t + 1)), final_lr * (1 + 1 / (gamma * t))


def adabound(x: Array, g: Array, state: AdamState, lr: float = 1e-3, final_lr: float = 0.1,
             beta1: float = 0.9, beta2: float = 0.999, gamma: float = 1e-3, eps: float = 1e-8,
             weight_decay: float = 0.0) -> tuple[Array, AdamState]:
    """AdaBound (Luo, Xiong, Liu & Sun, 2019): Adam whose per-coordinate rate is clipped.

    The Adam rate ``lr·√(1−β2^t)/(1−β1^t) / (√v + eps)`` is clipped to
    :func:`adabound_bounds` and multiplies ``m``: ``x ← x − clip(rate, η_l, η_u)·m``.
    (The authors' code also rescales ``final_lr`` when ``lr`` is changed by a schedule; with a
    constant ``lr`` that factor is 1.)
    """
    t = state.t + 1
    if weight_decay:
        g = g + weight_decay * x
    m = _ema(state.m, g, beta1)
    v = _ema_sq(state.v, g, beta2)
    rate = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t) / (np.sqrt(v) + eps)
    lower, upper = (float(bound) for bound in adabound_bounds(t, final_lr, gamma))
    return x - np.clip(rate, lower, upper) * m, AdamState(t, m, v, state.v_max)
