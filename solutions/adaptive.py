"""Chapter 4: adaptive learning rates (Adagrad, Rprop, RMSProp, Adam), as pure NumPy rules
and, at the end, Adam as a ``torch.optim.Optimizer``.

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
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

Array = np.ndarray


def zeros_state(x: Array) -> Array:
    """Zeros shaped like ``x``, in its floating dtype (float64 for integer ``x``)."""
    return np.zeros_like(x, dtype=np.result_type(x, 0.0))


def ema(average: Array, value: Array, decay: float) -> Array:
    """``decay·average + (1 − decay)·value``, written as PyTorch's ``lerp`` computes it
    (``average + (1 − decay)(value − average)``), which keeps long runs within a few ulps of
    torch (not bit for bit: torch's fused kernels may round differently)."""
    out = np.subtract(value, average, dtype=np.result_type(value, average, 0.0))
    out *= 1 - decay
    return np.add(average, out, out=out)


def ema_sq(average: Array, g: Array, decay: float) -> Array:
    """``decay·average + (1 − decay)·g²`` in PyTorch's ``mul_().addcmul_()`` order."""
    out = np.multiply(g, g, dtype=np.result_type(g, average, 0.0))
    out *= 1 - decay
    return np.add(decay * average, out, out=out)


# -- Adagrad ------------------------------------------------------------------------------------
class AdagradState(NamedTuple):
    t: int
    sum_sq: Array  # Σ g², per coordinate


def init_adagrad(x: Array, initial_accumulator_value: float = 0.0) -> AdagradState:
    return AdagradState(0, zeros_state(x) + initial_accumulator_value)


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
    zeros = zeros_state(x)
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
    mean_sq = ema_sq(state.mean_sq, g, alpha)
    mean_g = state.mean_g
    if centered:
        mean_g = ema(mean_g, g, alpha)
        denom = np.sqrt(mean_sq - mean_g * mean_g) + eps
    else:
        denom = np.sqrt(mean_sq) + eps
    if momentum > 0:
        buf = momentum * state.buf + g / denom
        return x - lr * buf, RMSPropState(mean_sq, mean_g, buf)
    return x - lr * g / denom, RMSPropState(mean_sq, mean_g, state.buf)


# -- Rprop --------------------------------------------------------------------------------------
class RpropState(NamedTuple):
    t: int  # steps taken (0: the step sizes are not set yet)
    prev: Array  # the previous gradient, 0 where its sign had flipped
    step_size: Array  # per-coordinate step length Δ (set to lr at the first step)


def init_rprop(x: Array) -> RpropState:
    zeros = zeros_state(x)
    return RpropState(0, zeros, zeros)


def rprop(x: Array, g: Array, state: RpropState, lr: float = 1e-2,
          etas: tuple[float, float] = (0.5, 1.2),
          step_sizes: tuple[float, float] = (1e-6, 50)) -> tuple[Array, RpropState]:
    """Rprop (Riedmiller & Braun, 1993): move each coordinate by its own Δ against sign(g).

    ``Δ ← clip(η₊Δ)`` where ``g·g_prev > 0``; ``Δ ← clip(η₋Δ)`` and ``g ← 0`` where
    ``g·g_prev < 0``; ``Δ ← clip(Δ)`` where ``g·g_prev = 0``; then ``x ← x − sign(g)·Δ`` and
    ``g_prev ← g``. Here ``(η₋, η₊) = etas`` and ``clip`` is to ``[Δmin, Δmax] = step_sizes``.

    .. note:: As in ``torch.optim.Rprop``, ``lr`` only sets ``Δ`` at the first step (when
       ``t = 0``); later values are ignored. Where the sign flips, the coordinate does not
       move and the next step compares with 0: no weight backtracking, unlike the 1993
       paper (iRprop− of Igel & Hüsken, 2003). The size ``|g|`` is never used.
    """
    eta_minus, eta_plus = etas
    step_size = state.step_size if state.t else np.full_like(state.prev, lr)
    product = g * state.prev
    factor = np.where(product > 0, eta_plus, np.where(product < 0, eta_minus, 1.0))
    step_size = np.clip(step_size * factor.astype(step_size.dtype), *step_sizes)
    g = np.where(product < 0, 0, g).astype(step_size.dtype)
    return x - np.sign(g) * step_size, RpropState(state.t + 1, g, step_size)


# -- Adam and its descendants -------------------------------------------------------------------
class AdamState(NamedTuple):
    t: int
    m: Array  # first moment (mean of g)
    v: Array  # second moment (mean of g²)
    v_max: Array  # AMSGrad: running maximum of v


def init_adam(x: Array) -> AdamState:
    zeros = zeros_state(x)
    return AdamState(0, zeros, zeros, zeros)


def adam_simple(x: Array, g: Array, state: AdamState, lr: float = 1e-3, beta1: float = 0.9,
                beta2: float = 0.999, eps: float = 1e-8) -> tuple[Array, AdamState]:
    """The "simple" Adam of the CS231n notes: RMSProp with a momentum-smoothed gradient.

    ``m ← β1 m + (1−β1) g``; ``v ← β2 v + (1−β2) g²``; ``x ← x − lr·m/(√v + eps)`` — no bias
    correction, so the first steps are far too small (``m`` and ``v`` start at zero).
    """
    m = ema(state.m, g, beta1)
    v = ema_sq(state.v, g, beta2)
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
    m = ema(state.m, g, beta1)
    v = ema_sq(state.v, g, beta2)
    v_max = np.maximum(state.v_max, v) if amsgrad else state.v_max
    denom = np.sqrt(v_max if amsgrad else v)
    denom /= math.sqrt(1 - beta2**t)
    denom += eps  # √v/√(1−β2^t) + eps
    step = np.divide(m, denom, out=denom)
    step *= lr / (1 - beta1**t)
    return np.subtract(x, step, out=step), AdamState(t, m, v, v_max)


# -- the same rule as a torch.optim.Optimizer -------------------------------------------------
# Hand-written Adam / AdamW (AMSGrad included), matching torch.optim.
#
#   The same conventions as the NumPy rules above::
#
#       input: lr γ, betas (β1, β2), eps ε, weight_decay λ, decoupled, amsgrad
#       for t = 1, 2, …
#           g ← ∇f(θ)
#           decoupled:  θ ← θ(1 − γλ)            (AdamW; Loshchilov & Hutter, 2019)
#           otherwise:  g ← g + λθ                (coupled L2)
#           m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²
#           amsgrad:    v_max ← max(v_max, v), used in place of v      (Reddi et al., 2018)
#           θ ← θ − γ/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)           (Kingma & Ba, 2015)
#


def check_hyperparameters(lr: float, betas: tuple[float, float], eps: float,
                          weight_decay: float) -> None:
    """torch.optim.Adam's checks of its hyperparameters (a ValueError naming the bad one)."""
    if not lr > 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not eps >= 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for index, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}")
    if not weight_decay >= 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def adam_update(param: Tensor, grad: Tensor, state: dict, *, lr: float, beta1: float,
                beta2: float, eps: float, weight_decay: float, decoupled: bool,
                amsgrad: bool, bias_correction: bool = True) -> None:
    """One Adam/AdamW step on ``param`` in place; ``state`` holds step, m, v (and v_max).

    ``bias_correction=False`` drops the ``1 − β^t`` divisions (as NVIDIA Apex's ``FusedAdam``
    allows); torch.optim always corrects."""
    if not state:
        state.update(step=0, exp_avg=torch.zeros_like(param),
                     exp_avg_sq=torch.zeros_like(param))
        if amsgrad:
            state["max_exp_avg_sq"] = torch.zeros_like(param)
    state["step"] += 1
    t = state["step"]
    if weight_decay and decoupled:
        param.mul_(1 - lr * weight_decay)
    elif weight_decay:
        grad = grad.add(param, alpha=weight_decay)
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.lerp_(grad, 1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    if amsgrad:
        torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        v = state["max_exp_avg_sq"]
    c1, c2 = (1 - beta1**t, 1 - beta2**t) if bias_correction else (1.0, 1.0)
    denom = v.sqrt().div_(math.sqrt(c2)).add_(eps)  # the step's one temporary
    param.addcdiv_(m, denom, value=-lr / c1)


class Adam(torch.optim.Optimizer):
    """Adam with optional AMSGrad; ``decoupled=True`` makes it AdamW (see module doc)."""

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False,
                 decoupled: bool = False) -> None:
        check_hyperparameters(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, decoupled=decoupled))

    update = staticmethod(adam_update)
    """The functional rule :meth:`step` applies to each parameter (a subclass may wrap it)."""

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
                    self.update(p, p.grad, self.state[p], lr=group["lr"], beta1=beta1,
                                beta2=beta2, eps=group["eps"],
                                weight_decay=group["weight_decay"],
                                decoupled=group["decoupled"], amsgrad=group["amsgrad"])
        return loss
