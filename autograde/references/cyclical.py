"""Exercise 07 (cyclical rates, one-cycle, the range test): references and typical mistakes."""

from __future__ import annotations

import math

import numpy as np

from autograde.references import Computed, Expected, Mistake
from labkit.checks.cyclical import (
    EX07_BATCH,
    EX07_END_LR,
    EX07_ITERS,
    EX07_SEED,
    EX07_SMOOTH,
    EX07_START_LR,
)
from labkit.data import digits
from labkit.models import softmax_regression
from solutions import cyclical as ref


def triangular(step, base_lr, max_lr, step_size):
    return ref.cyclical(step, base_lr, max_lr, step_size)


def cyclical(step, base_lr, max_lr, step_size, mode="triangular", gamma=1.0):
    return ref.cyclical(step, base_lr, max_lr, step_size, mode=mode, gamma=gamma)


def one_cycle(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
              final_div_factor=1e4):
    return ref.one_cycle(step, max_lr, total_steps, pct_start, "cos", div_factor,
                         final_div_factor)


class CyclicalScheduler(ref.CyclicalLR):
    """The exercise's signature of :class:`solutions.cyclical.CyclicalLR`."""

    def __init__(self, optimizer, base_lr, max_lr, step_size, mode="triangular", gamma=1.0):
        super().__init__(optimizer, base_lr, max_lr, step_size, mode=mode, gamma=gamma)


def _range_test() -> dict:
    split = digits(seed=0)
    X, y = split.X_train, split.y_train
    rng = np.random.default_rng(EX07_SEED)
    W = np.zeros((X.shape[1] + 1, 10))
    lrs = EX07_START_LR * (EX07_END_LR / EX07_START_LR) ** (
        np.arange(EX07_ITERS) / (EX07_ITERS - 1))
    order, position, losses = rng.permutation(len(y)), 0, []
    for lr in lrs:
        if position + EX07_BATCH > len(y):
            order, position = rng.permutation(len(y)), 0
        batch = order[position:position + EX07_BATCH]
        position += EX07_BATCH
        loss, dW = softmax_regression(W, X[batch], y[batch])
        losses.append(loss)
        W = W - lr * dW
    average, smoothed = 0.0, []
    for i, loss in enumerate(losses):
        average = EX07_SMOOTH * average + (1 - EX07_SMOOTH) * loss
        smoothed.append(average / (1 - EX07_SMOOTH ** (i + 1)))
    smoothed = np.array(smoothed)
    return {"lrs": lrs, "smoothed": smoothed,
            "suggested_lr": float(lrs[np.argmin(smoothed)] / 10)}


# -- typical mistakes ------------------------------------------------------------------------
def _triangular_cycle_index(step, base_lr, max_lr, step_size):
    cycle = step // (2 * step_size)  # should be 1 + step // (2·step_size)
    x = abs(step / step_size - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)


def _triangular_half_period(step, base_lr, max_lr, step_size):
    return ref.cyclical(step, base_lr, max_lr, max(1, step_size // 2))


def _cyclical_halved_from_start(step, base_lr, max_lr, step_size, mode="triangular",
                                gamma=1.0):
    top = ref.cyclical(step, base_lr, max_lr, step_size)
    if mode == "triangular2":
        cycle = math.floor(1 + step / (2 * step_size))
        return base_lr + (top - base_lr) / 2**cycle
    return cyclical(step, base_lr, max_lr, step_size, mode, gamma)


def _cyclical_gamma_per_cycle(step, base_lr, max_lr, step_size, mode="triangular", gamma=1.0):
    if mode == "exp_range":
        cycle = math.floor(1 + step / (2 * step_size))
        top = ref.cyclical(step, base_lr, max_lr, step_size)
        return base_lr + (top - base_lr) * gamma**cycle
    return cyclical(step, base_lr, max_lr, step_size, mode, gamma)


def _one_cycle_linear(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
                      final_div_factor=1e4):
    return ref.one_cycle(step, max_lr, total_steps, pct_start, "linear", div_factor,
                         final_div_factor)


def _one_cycle_phase_off_by_one(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
                                final_div_factor=1e4):
    """The peak placed at step pct_start·total instead of pct_start·total − 1."""
    initial = max_lr / div_factor
    peak, end = pct_start * total_steps, total_steps
    if step <= peak:
        pct, start, stop = step / peak, initial, max_lr
    else:
        pct, start, stop = (step - peak) / (end - peak), max_lr, initial / final_div_factor
    return stop + (start - stop) / 2 * (math.cos(math.pi * pct) + 1)


def _one_cycle_no_final_div(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
                            final_div_factor=1e4):
    return ref.one_cycle(step, max_lr, total_steps, pct_start, "cos", div_factor, 1.0)


class _SchedulerCountsCalls(CyclicalScheduler):
    """Indexes the cycle by the number of step() calls, one ahead of last_epoch."""

    def get_lr(self) -> list[float]:
        return [ref.cyclical(self._step_count, **self.cycle) for _ in self.optimizer.param_groups]


# -- carry-forward: cycles built on the student's own triangular / cyclical ------------------
def cyclical_with(triangular=triangular):
    """Part 2's three modes as the exercise builds them, on the given ``triangular``."""
    def cyclical(step, base_lr, max_lr, step_size, mode="triangular", gamma=1.0):
        height = triangular(step, base_lr, max_lr, step_size) - base_lr
        if mode == "triangular2":
            height /= 2 ** (math.floor(1 + step / (2 * step_size)) - 1)
        elif mode == "exp_range":
            height *= gamma**step
        return base_lr + height
    return cyclical


def scheduler_with(cyclical=None, triangular=None):
    """Part 3's scheduler on the given ``cyclical`` (or on one built on ``triangular``)."""
    import torch

    rule = cyclical or (cyclical_with(triangular) if triangular else cyclical_with())

    class Scheduler(torch.optim.lr_scheduler.LRScheduler):
        def __init__(self, optimizer, base_lr, max_lr, step_size, mode="triangular",
                     gamma=1.0):
            self.args = (base_lr, max_lr, step_size, mode, gamma)
            super().__init__(optimizer)

        def get_lr(self):
            return [rule(self.last_epoch, *self.args) for _ in self.optimizer.param_groups]
    return Scheduler


EXPECTED = {
    "cyclical.triangular": Expected(triangular, mistakes=(
        Mistake("cycle_index", "The cycle counter starts at 1: cycle = ⌊1 + step / "
                "(2·step_size)⌋, so that the rate starts at base_lr.", _triangular_cycle_index,
                diagnosis="the cycle counter is one too small, so the triangle never rises: the "
                "rate stays at base_lr at every step."),
        Mistake("half_period", "step_size is half a cycle: the rate climbs for step_size "
                "steps and falls for step_size steps.", _triangular_half_period,
                diagnosis="a whole cycle lasts step_size steps, so the triangle has half the "
                "period and peaks twice as often."),
    )),
    "cyclical.cyclical": Expected(
        cyclical,
        upstream={"triangular": "cyclical.triangular"},
        reference_with=cyclical_with, mistakes=(
        Mistake("halved_from_start", "triangular2 keeps the full amplitude in the first cycle "
                "and halves it from the second: scale 1/2^(cycle − 1).",
                _cyclical_halved_from_start,
                diagnosis="triangular2 halves the amplitude already in the first cycle, so every "
                "peak is half as high as expected."),
        Mistake("gamma_per_cycle", "exp_range scales by gamma^step (per step), not "
                "gamma^cycle.", _cyclical_gamma_per_cycle,
                diagnosis="exp_range shrinks the amplitude once per cycle rather than at every "
                "step, so the rate decays in jumps and far too slowly."),
    )),
    "cyclical.one_cycle": Expected(one_cycle, mistakes=(
        Mistake("linear", "The phases are cosine-annealed: end + (start − end)·(1 + "
                "cos(π·pct))/2.", _one_cycle_linear,
                diagnosis="the phases move linearly between their rates, so the rates inside each "
                "phase differ from the cosine-shaped ones (only the phase ends are right)."),
        Mistake("phase_off_by_one", "The first phase ends at step pct_start·total_steps − 1 "
                "and the last at total_steps − 1 (PyTorch's layout).",
                _one_cycle_phase_off_by_one,
                diagnosis="the phase boundaries are one step late: the peak comes a step after the "
                "expected one and the last step has not yet reached the final rate."),
        Mistake("no_final_div", "The run ends at initial_lr / final_div_factor, far below the "
                "initial rate.", _one_cycle_no_final_div,
                diagnosis="the last phase anneals only down to the initial rate, so the end of the "
                "run keeps a rate final_div_factor times too high."),
    )),
    "cyclical.scheduler": Expected(
        CyclicalScheduler,
        upstream={"cyclical": "cyclical.cyclical", "triangular": "cyclical.triangular"},
        reference_with=scheduler_with, mistakes=(
        Mistake("counts_calls", "Index the cycle by self.last_epoch (0 for the first step), "
                "not by a count of step() calls.", _SchedulerCountsCalls,
                diagnosis="the cycle is indexed by a count of step() calls, which runs one ahead, "
                "so every rate is the one of the following step (the first already exceeds "
                "base_lr)."),
    )),
    "cyclical.range_test": Expected(Computed(_range_test), rtol=1e-4, atol=1e-9, check_dtype=False),
}
