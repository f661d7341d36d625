"""A hand-written ``torch.optim.Optimizer`` for SGD with momentum, Nesterov and weight decay.

It follows PyTorch's conventions exactly, so it can stand in for ``torch.optim.SGD``::

    input: lr (γ), params θ₀, objective f, weight_decay (λ), momentum (μ),
           dampening (τ), nesterov
    for t = 1, 2, …
        g_t ← ∇f(θ_{t−1})
        if λ ≠ 0:      g_t ← g_t + λ θ_{t−1}           (coupled L2: decay enters the gradient)
        if μ ≠ 0:
            if t = 1:  b_t ← g_t                        (no dampening on the first step)
            else:      b_t ← μ b_{t−1} + (1 − τ) g_t
            if nesterov: g_t ← g_t + μ b_t
            else:        g_t ← b_t
        θ_t ← θ_{t−1} − γ g_t
    return θ_t

.. note::
   The buffer ``b`` accumulates *gradients*; the book's NumPy convention
   (:mod:`solutions.momentum`) accumulates *steps*, ``v = −lr·b``. They agree while ``lr`` is
   constant and ``dampening = 0``. Under a learning-rate schedule PyTorch's form applies the
   current rate to the whole history; the NumPy form keeps each past step at its own rate.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor


def sgd_update(params: list[Tensor], grads: list[Tensor], buffers: list[Tensor | None], *,
               lr: float, momentum: float, dampening: float, weight_decay: float,
               nesterov: bool) -> None:
    """The functional core: update ``params`` in place and fill ``buffers`` (one per param)."""
    for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        if momentum != 0:
            buf = buffers[i]
            if buf is None:
                buf = grad.detach().clone()
                buffers[i] = buf
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - dampening)
            grad = grad.add(buf, alpha=momentum) if nesterov else buf
        param.add_(grad, alpha=-lr)


class SGD(torch.optim.Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov and L2 weight decay.

    Args:
        params: iterable of tensors or parameter-group dicts.
        lr: learning rate γ (> 0).
        momentum: μ ≥ 0. Polyak (1964); PyTorch's gradient-buffer form.
        dampening: τ ∈ [0, 1), scales new gradients into the buffer by ``1 − τ``.
        weight_decay: λ ≥ 0, added to the gradient as ``λ θ`` (coupled L2).
        nesterov: use Nesterov's look-ahead in the change-of-variable form
            (Sutskever et al., 2013).
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        if not lr > 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= dampening < 1.0:
            raise ValueError(f"Invalid dampening value: {dampening}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    update = staticmethod(sgd_update)
    """The functional rule :meth:`step` applies (a subclass may wrap it)."""

    @torch.no_grad()
    def step(self, closure=None):
        """Perform one update; ``closure`` re-evaluates the loss (returned) when given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            buffers = [self.state[p].get("momentum_buffer") for p in params]
            self.update(params, [p.grad for p in params], buffers, lr=group["lr"],
                        momentum=group["momentum"], dampening=group["dampening"],
                        weight_decay=group["weight_decay"], nesterov=group["nesterov"])
            if group["momentum"] != 0:
                for p, buf in zip(params, buffers, strict=True):
                    self.state[p]["momentum_buffer"] = buf
        return loss
