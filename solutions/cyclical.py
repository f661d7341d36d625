"""Chapter 7: cyclical learning rates and the learning-rate range test.

**Cycles.** :func:`cyclical` (``torch.optim.lr_scheduler.CyclicLR``, lr and momentum through
:func:`cyclical_momentum`) and :func:`one_cycle` (``OneCycleLR``) are closed-form functions of
the step with the conventions of :mod:`solutions.schedules` (``step = 0`` is the rate of the
first update; ``tests/test_schedules.py`` compares them with PyTorch over thousands of steps).
:class:`CyclicalLR` wraps :func:`cyclical` as a ``torch.optim.lr_scheduler.LRScheduler``.

**The range test** (Smith, 2017, "Cyclical learning rates for training neural
networks", WACV, §3.3): train for a few hundred mini-batches while the rate grows
exponentially from tiny to huge, record the loss, and read a good rate off the curve.

:func:`lr_find` works with any PyTorch model, loss function and iterable of ``(inputs,
targets)`` batches, and leaves everything as it found it: the model's parameters, buffers and
train/eval mode, the gradients, the optimizer's state and hyperparameters, and the torch,
NumPy and Python random generators are restored bit for bit afterwards (existing finders
often leave the model trained by the sweep, which then silently starts the real run).
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch


# -- cycles ----------------------------------------------------------------------------------
def _triangle(step: int, step_size_up: int, step_size_down: int) -> tuple[int, float]:
    """The cycle number (from 1) and the height in it, 0 at the ends and 1 at the peak."""
    total = step_size_up + step_size_down
    cycle = math.floor(1 + step / total)
    x = 1.0 + step / total - cycle
    ratio = step_size_up / total
    return cycle, (x / ratio if x <= ratio else (x - 1) / (ratio - 1))


def cyclical(step: int, base_lr: float, max_lr: float, step_size_up: int = 2000,
             step_size_down: int | None = None,
             mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
             gamma: float = 1.0) -> float:
    """Cyclical learning rate (Smith, 2017): between ``base_lr`` and ``max_lr`` and back.

    ``triangular`` keeps the amplitude; ``triangular2`` halves it every cycle
    (``1/2^(cycle−1)``); ``exp_range`` multiplies it by ``γ^step``.
    """
    cycle, height = _triangle(step, step_size_up, step_size_down or step_size_up)
    if mode == "triangular2":
        scale = 0.5 ** (cycle - 1)  # = 1/2^(cycle−1) exactly, and no overflow late on
    elif mode == "exp_range":
        scale = gamma**step
    else:
        scale = 1.0
    return base_lr + (max_lr - base_lr) * height * scale


def cyclical_momentum(step: int, base_momentum: float = 0.8, max_momentum: float = 0.9,
                      step_size_up: int = 2000, step_size_down: int | None = None,
                      mode: str = "triangular", gamma: float = 1.0) -> float:
    """The momentum that cycles against the rate: at ``max_momentum`` when the rate is at
    ``base_lr`` and at ``base_momentum`` at the rate's peak (Smith, 2018)."""
    return max_momentum + base_momentum - cyclical(
        step, base_momentum, max_momentum, step_size_up, step_size_down, mode, gamma)


def _anneal(start: float, end: float, pct: float, how: str) -> float:
    if how == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def _one_cycle_phases(total_steps: int, pct_start: float, three_phase: bool):
    """(end step, start key, end key) of each phase, as PyTorch lays them out."""
    if three_phase:
        return [(float(pct_start * total_steps) - 1, "initial", "max"),
                (float(2 * pct_start * total_steps) - 2, "max", "initial"),
                (total_steps - 1, "initial", "min")]
    return [(float(pct_start * total_steps) - 1, "initial", "max"),
            (total_steps - 1, "max", "min")]


def one_cycle(step: int, max_lr: float, total_steps: int, pct_start: float = 0.3,
              anneal: Literal["cos", "linear"] = "cos", div_factor: float = 25.0,
              final_div_factor: float = 1e4, three_phase: bool = False,
              momentum_range: tuple[float, float] | None = None) -> float:
    """One-cycle policy (Smith & Topin, 2019): up from ``max_lr/div_factor`` to ``max_lr``
    during the first ``pct_start`` of the run, then down to ``initial/final_div_factor``.

    ``three_phase`` goes back down to the initial rate symmetrically before the final
    annihilation phase. With ``momentum_range=(base, max)`` the function returns the momentum
    instead, which moves against the rate (max → base → max).
    """
    if step > total_steps:
        raise ValueError(f"step {step} is past total_steps={total_steps}")
    initial = max_lr / div_factor
    values = {"initial": initial, "max": max_lr, "min": initial / final_div_factor}
    if momentum_range is not None:
        base, top = momentum_range
        values = {"initial": top, "max": base, "min": top}
    start = 0.0
    phases = _one_cycle_phases(total_steps, pct_start, three_phase)
    for i, (end, start_key, end_key) in enumerate(phases):
        if step <= end or i == len(phases) - 1:
            pct = (step - start) / (end - start)
            return _anneal(values[start_key], values[end_key], pct, anneal)
        start = end
    raise AssertionError("unreachable")


class CyclicalLR(torch.optim.lr_scheduler.LRScheduler):
    """:func:`cyclical` as a PyTorch scheduler: call ``step()`` after every batch.

    Like ``torch.optim.lr_scheduler.CyclicLR`` (without momentum cycling): the learning rate of
    every parameter group starts at ``base_lr`` and follows the cycle.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, base_lr: float, max_lr: float,
                 step_size_up: int = 2000, step_size_down: int | None = None,
                 mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
                 gamma: float = 1.0, last_epoch: int = -1) -> None:
        if mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"mode must be triangular, triangular2 or exp_range, not {mode!r}")
        self.cycle = dict(base_lr=base_lr, max_lr=max_lr, step_size_up=step_size_up,
                          step_size_down=step_size_down, mode=mode, gamma=gamma)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group["lr"] = base_lr
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lr = cyclical(self.last_epoch, **self.cycle)
        return [lr for _ in self.optimizer.param_groups]


# -- the range test ---------------------------------------------------------------------------
@dataclass
class RangeTestResult:
    """The sweep: rate, raw loss and debiased smoothed loss at each step, and suggestions.

    ``suggestions`` maps a rule's name to a rate: ``"steepest"`` (the steepest descent of the
    smoothed loss against log-rate), ``"min_over_10"`` (the rate of the lowest smoothed loss,
    divided by ten) and ``"valley"`` (inside the longest stretch over which the loss keeps
    falling, a point past its middle).
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestions: dict[str, float]
    diverged: bool

    def plot(self, ax=None):
        """Smoothed loss against rate (log axis), with every suggestion marked."""
        import matplotlib.pyplot as plt

        ax = ax or plt.gca()
        ax.semilogx(self.lrs, self.losses, color="0.8", lw=0.8, label="loss")
        ax.semilogx(self.lrs, self.smoothed, color="C0", label="smoothed loss")
        markers = {"steepest": "o", "min_over_10": "s", "valley": "^"}
        for i, (name, lr) in enumerate(self.suggestions.items()):
            y = np.interp(np.log(lr), np.log(self.lrs), self.smoothed)
            ax.plot(lr, y, markers.get(name, "o"), color=f"C{i + 1}", ms=8,
                    label=f"{name}: {lr:.2g}")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        ax.legend(fontsize=8)
        return ax


def exponential_rates(start_lr: float, end_lr: float, num_iter: int) -> np.ndarray:
    r"""The sweep :math:`\eta_i = \eta_0 (\eta_{end}/\eta_0)^{i/(n-1)}`, ``i = 0 … n-1``."""
    return start_lr * (end_lr / start_lr) ** (np.arange(num_iter) / max(num_iter - 1, 1))


def debiased_ema(values: Iterable[float], beta: float) -> np.ndarray:
    r"""Exponential moving average with Adam's bias correction:
    :math:`a_i = \beta a_{i-1} + (1-\beta) x_i`, reported as :math:`a_i / (1 - \beta^{i+1})`
    (so the first value is :math:`x_0` itself, not :math:`(1-\beta) x_0`)."""
    average, out = 0.0, []
    for i, x in enumerate(values):
        average = beta * average + (1 - beta) * x
        out.append(average / (1 - beta ** (i + 1)))
    return np.asarray(out)


def steepest(lrs: np.ndarray, smoothed: np.ndarray) -> float:
    """The rate where the smoothed loss falls fastest against log-rate, looking only up to
    its minimum (past it the slope is meaningless)."""
    end = int(np.argmin(smoothed)) + 1
    if end < 3:
        return float(lrs[0])
    slope = np.gradient(smoothed[:end], np.log(lrs[:end]))
    return float(lrs[int(np.argmin(slope))])


def min_over_10(lrs: np.ndarray, smoothed: np.ndarray) -> float:
    """A tenth of the rate at which the smoothed loss is lowest (the loss is about to blow
    up there; a decade lower is a safe, fast rate)."""
    return float(lrs[int(np.argmin(smoothed))] / 10)


def valley(lrs: np.ndarray, smoothed: np.ndarray) -> float:
    """A point inside the longest valley: find the longest run of decreasing losses (the
    longest decreasing subsequence of the smoothed curve, by dynamic programming), split it
    into thirds and take the point halfway through the middle third (the rule popularised by
    fastai's ``lr_find``)."""
    n = len(smoothed)
    length = np.ones(n, dtype=int)  # longest decreasing subsequence ending at i
    start = np.arange(n)  # where that subsequence starts
    for i in range(1, n):
        for j in range(i):
            if smoothed[i] < smoothed[j] and length[j] + 1 > length[i]:
                length[i], start[i] = length[j] + 1, start[j]
    end = int(np.argmax(length))
    third = (end - start[end]) / 3
    return float(lrs[int(start[end] + third + third / 2)])


SUGGESTIONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "steepest": steepest, "min_over_10": min_over_10, "valley": valley}


def lr_find(model: torch.nn.Module, loss_fn: Callable, loader: Iterable,
            optimizer: torch.optim.Optimizer, start_lr: float = 1e-7, end_lr: float = 10.0,
            num_iter: int = 100, smooth: float = 0.98, diverge: float = 4.0,
            seed: int | None = 0) -> RangeTestResult:
    """Sweep the learning rate exponentially from ``start_lr`` to ``end_lr`` over ``num_iter``
    optimizer steps (cycling through ``loader`` as often as needed) and record the loss.

    The loss is smoothed with a debiased exponential average (factor ``smooth``); the sweep
    stops early once the smoothed loss exceeds ``diverge`` times its lowest value or is not
    finite. With ``seed`` set, the sweep is deterministic (the loader's shuffling and dropout
    draw from the seeded torch generator). Afterwards the model, its gradients, the optimizer
    and every random generator are exactly as before the call.
    """
    saved = _snapshot(model, optimizer)
    try:
        if seed is not None:
            torch.manual_seed(seed)
            np.random.seed(seed)
            random.seed(seed)
        lrs, losses = _sweep(model, loss_fn, loader, optimizer,
                             exponential_rates(start_lr, end_lr, num_iter), smooth, diverge)
    finally:
        _restore(model, optimizer, saved)
    smoothed = debiased_ema(losses, smooth)
    diverged = len(losses) < num_iter
    return RangeTestResult(lrs, np.asarray(losses), smoothed,
                           {name: rule(lrs, smoothed) for name, rule in SUGGESTIONS.items()},
                           diverged)


def _sweep(model, loss_fn, loader, optimizer, rates, smooth, diverge):
    model.train()
    batches = iter(loader)
    losses: list[float] = []
    average, best = 0.0, math.inf
    for i, lr in enumerate(rates):
        try:
            inputs, targets = next(batches)
        except StopIteration:  # start another pass over the data
            batches = iter(loader)
            inputs, targets = next(batches)
        for group in optimizer.param_groups:
            group["lr"] = float(lr)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        average = smooth * average + (1 - smooth) * losses[-1]
        smoothed = average / (1 - smooth ** (i + 1))
        best = min(best, smoothed)
        if not math.isfinite(smoothed) or smoothed > diverge * best:
            break
    return rates[:len(losses)], losses


def _snapshot(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    return {
        "model": copy.deepcopy(model.state_dict()),
        "training": {name: module.training for name, module in model.named_modules()},
        "grads": [None if p.grad is None else p.grad.detach().clone()
                  for p in model.parameters()],
        "optimizer": copy.deepcopy(optimizer.state_dict()),
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.get_state(),
        "python_rng": random.getstate(),
    }


def _restore(model: torch.nn.Module, optimizer: torch.optim.Optimizer, saved: dict) -> None:
    with torch.no_grad():
        model.load_state_dict(saved["model"])
    for name, module in model.named_modules():
        module.training = saved["training"][name]
    for parameter, grad in zip(model.parameters(), saved["grads"], strict=True):
        parameter.grad = grad
    optimizer.state.clear()  # state the sweep created for parameters that had none
    optimizer.load_state_dict(saved["optimizer"])
    torch.set_rng_state(saved["torch_rng"])
    np.random.set_state(saved["numpy_rng"])
    random.setstate(saved["python_rng"])
