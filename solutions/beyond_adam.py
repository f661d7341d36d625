"""Chapter 5: beyond Adam — AdamW, NAdam, RAdam and AdaBound as pure NumPy update rules, and
AdamW and RAdam as ``torch.optim.Optimizer`` s.

The conventions are those of :mod:`solutions.adaptive` (``t`` counted before use, ``eps``
outside the square root, states as immutable ``NamedTuple`` s, nothing mutated); AMSGrad is
the flag ``amsgrad=True`` of :func:`solutions.adaptive.adam`, as in ``torch.optim.Adam``.
RAdam's torch form takes the rectified step while ``ρ_t > 5`` and momentum SGD before
(Liu et al., 2020).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from solutions.adaptive import (
    Adam,
    AdamState,
    adam,
    check_hyperparameters,
    ema,
    ema_sq,
    zeros_state,
)

Array = np.ndarray


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
    zeros = zeros_state(x)
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
    m = ema(state.m, g, beta1)
    v = ema_sq(state.v, g, beta2)
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
    m = ema(state.m, g, beta1)
    v = ema_sq(state.v, g, beta2)
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
    m = ema(state.m, g, beta1)
    v = ema_sq(state.v, g, beta2)
    rate = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t) / (np.sqrt(v) + eps)
    lower, upper = (float(bound) for bound in adabound_bounds(t, final_lr, gamma))
    return x - np.clip(rate, lower, upper) * m, AdamState(t, m, v, state.v_max)


# -- torch.optim.Optimizer forms ---------------------------------------------------------------
def radam_update(param: Tensor, grad: Tensor, state: dict, *, lr: float, beta1: float,
                 beta2: float, eps: float, weight_decay: float) -> None:
    """One RAdam step on ``param`` in place."""
    if not state:
        state.update(step=0, exp_avg=torch.zeros_like(param),
                     exp_avg_sq=torch.zeros_like(param))
    state["step"] += 1
    t = state["step"]
    if weight_decay:
        grad = grad.add(param, alpha=weight_decay)
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.lerp_(grad, 1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    step_size = lr / (1 - beta1**t)  # lr · m̂ = step_size · m
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    if rho_t > 5:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                         / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        denom = v.sqrt().add_(eps)  # the step's one temporary
        param.addcdiv_(m, denom, value=-step_size * rect * math.sqrt(1 - beta2**t))
    else:
        param.add_(m, alpha=-step_size)


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay (default λ = 0.01, as in PyTorch)."""

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decoupled=True)


class RAdam(torch.optim.Optimizer):
    """RAdam: Adam with its adaptive step rectified (see module doc)."""

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        check_hyperparameters(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is not None:
                    radam_update(p, p.grad, self.state[p], lr=group["lr"], beta1=beta1,
                                 beta2=beta2, eps=group["eps"],
                                 weight_decay=group["weight_decay"])
        return loss
