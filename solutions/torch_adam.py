"""Hand-written ``torch.optim.Optimizer`` s for Adam / AdamW (AMSGrad included) and RAdam.

Same conventions as :mod:`solutions.adaptive` and as ``torch.optim``::

    input: lr γ, betas (β1, β2), eps ε, weight_decay λ, decoupled, amsgrad
    for t = 1, 2, …
        g ← ∇f(θ)
        decoupled:  θ ← θ(1 − γλ)            (AdamW; Loshchilov & Hutter, 2019)
        otherwise:  g ← g + λθ                (coupled L2)
        m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²
        amsgrad:    v_max ← max(v_max, v), used in place of v      (Reddi et al., 2018)
        θ ← θ − γ/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)           (Kingma & Ba, 2015)

RAdam replaces the last line by the rectified step while ``ρ_t > 5`` and by momentum SGD
before (Liu et al., 2020).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor


def _check(lr: float, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
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


class Adam(torch.optim.Optimizer):
    """Adam with optional AMSGrad; ``decoupled=True`` makes it AdamW (see module doc)."""

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False,
                 decoupled: bool = False) -> None:
        _check(lr, betas, eps, weight_decay)
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
        _check(lr, betas, eps, weight_decay)
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
