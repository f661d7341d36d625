"""Chapter 6: learning-rate schedules as closed-form functions of the step (the cyclical ones
of chapter 7 are in :mod:`solutions.cyclical`, with the same conventions).

Every schedule is a function ``schedule(step, ...) -> lr`` of the number of optimizer steps (or
epochs) already taken, ``step = 0`` being the learning rate used for the very first update —
the value a PyTorch scheduler puts in ``param_groups`` right after construction. Where PyTorch
has the schedule, the function matches ``torch.optim.lr_scheduler`` exactly, edge cases
included (``tests/test_schedules.py`` compares them over thousands of steps):

========================  ==========================================  ========================
function                  PyTorch                                     otherwise
========================  ==========================================  ========================
:func:`step_decay`        ``StepLR``
:func:`multistep`         ``MultiStepLR``
:func:`exponential`       ``ExponentialLR``
:func:`polynomial`        ``PolynomialLR`` (``end_lr=0``, no cycle)   Paddle ``PolynomialDecay``
:func:`lambda_lr`         ``LambdaLR``
:func:`cosine_annealing`  ``CosineAnnealingLR`` (also past ``T_max``)
:func:`cosine_restarts`   ``CosineAnnealingWarmRestarts``
:class:`ReduceOnPlateau`  ``ReduceLROnPlateau``
:func:`piecewise`                                                     Paddle ``PiecewiseDecay``
:func:`natural_exp`                                                   Paddle ``NaturalExpDecay``
:func:`inverse_time`                                                  Paddle ``InverseTimeDecay``
:func:`noam`                                                          Paddle ``NoamDecay``
:func:`linear_warmup`                                                 Paddle ``LinearWarmup``
========================  ==========================================  ========================

"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import Literal


# -- decays ----------------------------------------------------------------------------------
def piecewise(step: int, boundaries: Sequence[int], values: Sequence[float]) -> float:
    """``values[i]`` for ``boundaries[i−1] ≤ step < boundaries[i]`` (one more value than
    boundaries)."""
    if len(values) != len(boundaries) + 1:
        raise ValueError("piecewise needs exactly one more value than boundaries")
    return values[bisect.bisect_right(boundaries, step)]


def step_decay(step: int, lr: float, step_size: int, gamma: float = 0.1) -> float:
    """``lr · γ^⌊step / step_size⌋``: multiply by γ every ``step_size`` steps."""
    return lr * gamma ** (step // step_size)


def multistep(step: int, lr: float, milestones: Sequence[int], gamma: float = 0.1) -> float:
    """``lr · γ^k`` with k the number of milestones ``≤ step`` (a milestone listed twice counts
    twice, as in PyTorch)."""
    return lr * gamma ** bisect.bisect_right(sorted(milestones), step)


def exponential(step: int, lr: float, gamma: float) -> float:
    """``lr · γ^step``."""
    return lr * gamma**step


def natural_exp(step: int, lr: float, gamma: float) -> float:
    """``lr · e^(−γ·step)`` (Paddle's natural exponential decay)."""
    return lr * math.exp(-gamma * step)


def inverse_time(step: int, lr: float, gamma: float) -> float:
    """``lr / (1 + γ·step)``: the 1/t decay of stochastic approximation (Robbins & Monro)."""
    return lr / (1 + gamma * step)


def polynomial(step: int, lr: float, decay_steps: int, end_lr: float = 0.0,
               power: float = 1.0, cycle: bool = False) -> float:
    """``(lr − end_lr)·(1 − s/D)^power + end_lr`` (Paddle's polynomial decay).

    Without ``cycle``, ``s = min(step, D)`` and the rate stays at ``end_lr`` after ``D`` steps
    (PyTorch's ``PolynomialLR`` is the case ``end_lr = 0``). With ``cycle``, ``D`` grows to the
    next multiple of ``decay_steps`` above the step (``D = decay_steps`` at step 0), so the rate
    jumps back up at every multiple and decays again more slowly.
    """
    if cycle:
        decay_steps = decay_steps * max(1, math.ceil(step / decay_steps))
    else:
        step = min(step, decay_steps)
    return (lr - end_lr) * (1 - step / decay_steps) ** power + end_lr


def lambda_lr(step: int, lr: float, factor: Callable[[int], float]) -> float:
    """``lr · factor(step)``."""
    return lr * factor(step)


def cosine_annealing(step: int, lr: float, T_max: int, eta_min: float = 0.0) -> float:  # noqa: N803
    """``η_min + (lr − η_min)(1 + cos(π·step/T_max))/2`` (Loshchilov & Hutter, 2017).

    Past ``T_max`` the cosine simply goes on: the rate climbs back to ``lr`` at ``2·T_max``
    (PyTorch's ``CosineAnnealingLR`` does the same; it does not stay at ``η_min``).
    """
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * step / T_max)) / 2


def cosine_restarts(step: int, lr: float, T_0: int, T_mult: int = 1,  # noqa: N803
                    eta_min: float = 0.0) -> float:
    """SGDR (Loshchilov & Hutter, 2017): cosine annealing restarted after ``T_0`` steps, each
    period ``T_mult`` times longer than the one before."""
    period, since_restart = T_0, step
    while since_restart >= period:  # integer arithmetic, as PyTorch's step-by-step counter
        since_restart -= period
        period *= T_mult
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * since_restart / period)) / 2


def noam(step: int, d_model: int, warmup_steps: int, lr: float = 1.0) -> float:
    """``lr · d_model^−½ · min(step^−½, step · warmup^−3/2)`` (Vaswani et al., 2017).

    Linear warm-up for ``warmup_steps`` steps, then decay as ``1/√step``. Following Paddle's
    ``NoamDecay``, the rate at step 0 is 0.
    """
    if step == 0:
        return 0.0
    return lr * d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)


def linear_warmup(step: int, schedule: Callable[[int], float] | float, warmup_steps: int,
                  start_lr: float, end_lr: float) -> float:
    """Linear warm-up from ``start_lr`` to ``end_lr`` over ``warmup_steps`` steps, then
    ``schedule(step − warmup_steps)`` (Paddle's ``LinearWarmup``: the wrapped schedule starts
    from its own step 0 when the warm-up ends); ``schedule`` may be a constant."""
    if step < warmup_steps:
        return start_lr + (end_lr - start_lr) * step / warmup_steps
    return schedule(step - warmup_steps) if callable(schedule) else schedule


# -- reduce on plateau -----------------------------------------------------------------------
class ReduceOnPlateau:
    """Multiply the rate by ``factor`` when a metric has stopped improving.

    Same rules as ``torch.optim.lr_scheduler.ReduceLROnPlateau``: a value is an improvement
    when it beats the best so far by more than ``threshold`` (relative: ``best·(1 ∓ thr)``;
    absolute: ``best ∓ thr``); after more than ``patience`` epochs without one the rate becomes
    ``max(lr·factor, min_lr)`` — unless that changes it by ``eps`` or less — and then
    ``cooldown`` epochs pass during which bad epochs are not counted.
    """

    def __init__(self, lr: float, mode: Literal["min", "max"] = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4,
                 threshold_mode: Literal["rel", "abs"] = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8) -> None:
        if factor >= 1.0:
            raise ValueError("factor should be < 1.0")
        self.lr, self.mode, self.factor, self.patience = lr, mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.min_lr, self.eps = cooldown, min_lr, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_epochs = 0
        self.cooldown_left = 0

    def improves(self, value: float) -> bool:
        sign = 1 if self.mode == "min" else -1
        if self.threshold_mode == "rel":
            return sign * value < sign * self.best * (1 - sign * self.threshold)
        return sign * value < sign * self.best - self.threshold

    def step(self, value: float) -> float:
        """Record this epoch's metric; return the learning rate for the next epoch."""
        value = float(value)
        if self.improves(value):
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.bad_epochs > self.patience:
            new_lr = max(self.lr * self.factor, self.min_lr)
            if self.lr - new_lr > self.eps:
                self.lr = new_lr
            self.cooldown_left, self.bad_epochs = self.cooldown, 0
        return self.lr
