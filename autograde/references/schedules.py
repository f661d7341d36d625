"""Exercise 06 (learning-rate schedules): references and the catalog of typical mistakes."""

from __future__ import annotations

import math

import numpy as np

from autograde.references import Computed, Expected, Mistake
from labkit.checks.schedules import EX06_BATCH, EX06_EPOCHS, EX06_LR, EX06_SEED, EX06_WARMUP
from labkit.data import digits
from labkit.models import softmax_regression
from solutions import schedules as ref


def warmup(step, schedule, warmup_steps, start_lr, end_lr):
    return ref.linear_warmup(step, schedule, warmup_steps, start_lr, end_lr)


class ReduceOnPlateau(ref.ReduceOnPlateau):
    """The exercise's class: mode "min" with a relative threshold."""

    def __init__(self, lr, factor=0.1, patience=10, cooldown=0, threshold=1e-4):
        super().__init__(lr, "min", factor, patience, threshold, "rel", cooldown)


def _final_losses(cosine_annealing=ref.cosine_annealing, warmup=warmup) -> dict[str, float]:
    """Part 5's final losses, with the given schedule functions (the student's own, for
    carry-forward)."""
    split = digits(seed=0)
    X, y = split.X_train, split.y_train
    batches_per_epoch = math.ceil(len(y) / EX06_BATCH)
    total = EX06_EPOCHS * batches_per_epoch

    def cosine(k):
        return cosine_annealing(k, EX06_LR, total - EX06_WARMUP)

    rates = {
        "constant": lambda step, epoch: EX06_LR,
        "cosine_per_step": lambda step, epoch: cosine_annealing(step, EX06_LR, total),
        "cosine_per_epoch": lambda step, epoch: cosine_annealing(epoch, EX06_LR, EX06_EPOCHS),
        "warmup_cosine": lambda step, epoch: warmup(step, cosine, EX06_WARMUP, 0.0, EX06_LR),
    }
    losses = {}
    for name, rate in rates.items():
        rng = np.random.default_rng(EX06_SEED)
        W = np.zeros((X.shape[1] + 1, 10))
        step = 0
        for epoch in range(EX06_EPOCHS):
            order = rng.permutation(len(y))
            for start in range(0, len(y), EX06_BATCH):
                batch = order[start:start + EX06_BATCH]
                W = W - rate(step, epoch) * softmax_regression(W, X[batch], y[batch])[1]
                step += 1
        losses[name] = float(softmax_regression(W, X, y)[0])
    return losses


# -- typical mistakes ------------------------------------------------------------------------
def _cosine_no_half(step, lr, T_max, eta_min=0.0):  # noqa: N803
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * step / T_max))


def _cosine_clamped(step, lr, T_max, eta_min=0.0):  # noqa: N803
    return ref.cosine_annealing(min(step, T_max), lr, T_max, eta_min)


def _cosine_eta_min_ignored(step, lr, T_max, eta_min=0.0):  # noqa: N803
    return ref.cosine_annealing(step, lr, T_max)


def _restarts_t_mult_ignored(step, lr, T_0, T_mult=1, eta_min=0.0):  # noqa: N803
    return ref.cosine_restarts(step, lr, T_0, 1, eta_min)


def _restarts_late(step, lr, T_0, T_mult=1, eta_min=0.0):  # noqa: N803
    period, since = T_0, step
    while since > period:  # restarts one step too late
        since -= period
        period *= T_mult
    return ref.cosine_annealing(since, lr, period, eta_min)


def _warmup_not_composed(step, schedule, warmup_steps, start_lr, end_lr):
    if step < warmup_steps:
        return start_lr + (end_lr - start_lr) * step / warmup_steps
    return schedule(step)


def _warmup_off_by_one(step, schedule, warmup_steps, start_lr, end_lr):
    if step < warmup_steps:
        return start_lr + (end_lr - start_lr) * (step + 1) / warmup_steps
    return schedule(step - warmup_steps)


def _plateau_variant(cooldown_counts: bool = True, strict_patience: bool = True,
                     use_threshold: bool = True):
    class Variant:
        def __init__(self, lr, factor=0.1, patience=10, cooldown=0, threshold=1e-4):
            self.lr, self.factor, self.patience = lr, factor, patience
            self.cooldown = cooldown if cooldown_counts else 0
            self.threshold = threshold if use_threshold else 0.0
            self.best, self.bad, self.cool = math.inf, 0, 0

        def step(self, value):
            if value < self.best * (1 - self.threshold):
                self.best, self.bad = value, 0
            else:
                self.bad += 1
            if self.cool > 0:
                self.cool -= 1
                self.bad = 0
            if self.bad > self.patience or (not strict_patience and self.bad == self.patience):
                self.lr *= self.factor
                self.cool, self.bad = self.cooldown, 0
            return self.lr
    return Variant


# -- carry-forward: the restarts built on the student's own cosine ---------------------------
def restarts_with(cosine_annealing=ref.cosine_annealing):
    """Part 2's warm restarts as the exercise builds them, on the given ``cosine_annealing``."""
    def cosine_restarts(step, lr, T_0, T_mult=1, eta_min=0.0):  # noqa: N803
        period, since = T_0, step
        while since >= period:
            since, period = since - period, period * T_mult
        return cosine_annealing(since, lr, period, eta_min)
    return cosine_restarts


EXPECTED = {
    "schedules.cosine": Expected(ref.cosine_annealing, mistakes=(
        Mistake("no_half", "The cosine term is (1 + cos(π·t/T_max)) / 2: without the /2 the "
                "rate starts at twice lr.", _cosine_no_half,
                diagnosis="the cosine term is not halved, so the rate starts near twice lr and "
                "stays too high until the end of the period."),
        Mistake("clamped", "Past T_max the cosine goes on (the rate climbs back, as in "
                "PyTorch); it does not stay at eta_min.", _cosine_clamped,
                diagnosis="past T_max the rate stays at eta_min, whereas the cosine schedule "
                "climbs back up after its period."),
        Mistake("eta_min_ignored", "The rate anneals to eta_min, not to 0.",
                _cosine_eta_min_ignored,
                diagnosis="the rate anneals to 0 whatever eta_min is, so with eta_min > 0 every "
                "rate is too low, most of all at the end."),
    )),
    "schedules.restarts": Expected(
        ref.cosine_restarts,
        upstream={"cosine_annealing": "schedules.cosine"},
        reference_with=restarts_with, mistakes=(
        Mistake("t_mult_ignored", "After each restart the period is multiplied by T_mult.",
                _restarts_t_mult_ignored,
                diagnosis="every period has the length T_0, so with T_mult > 1 the restarts after "
                "the first come too early."),
        Mistake("restart_late", "A restart happens when the steps since the last one reach "
                "the period (≥), not when they exceed it.", _restarts_late,
                diagnosis="each restart comes one step late: at the end of a period the rate "
                "touches eta_min instead of jumping back to lr."),
    )),
    "schedules.warmup": Expected(warmup, mistakes=(
        Mistake("not_composed", "After the warm-up the wrapped schedule starts from its own "
                "step 0: call schedule(step − warmup_steps).", _warmup_not_composed,
                diagnosis="after the warm-up the wrapped schedule is evaluated at the global step, "
                "so it starts part-way through its course and the rate drops right after the "
                "warm-up."),
        Mistake("ramp_off_by_one", "The ramp starts at start_lr at step 0: "
                "start_lr + (end_lr − start_lr)·step / warmup_steps.", _warmup_off_by_one,
                diagnosis="the ramp is one step ahead: step 0 already gets more than start_lr and "
                "end_lr is reached one step early."),
    )),
    "schedules.plateau": Expected(ReduceOnPlateau, mistakes=(
        Mistake("no_cooldown", "After a cut, bad epochs are not counted for `cooldown` "
                "epochs.", _plateau_variant(cooldown_counts=False),
                diagnosis="the cooldown is ignored, so bad epochs right after a cut count at once "
                "and the rate can be cut again too soon."),
        Mistake("patience_off_by_one", "Cut only when the bad epochs *exceed* patience "
                "(patience=2 tolerates two bad epochs).", _plateau_variant(strict_patience=False),
                diagnosis="the rate is cut one epoch early, as soon as the bad epochs equal "
                "patience, so patience=2 tolerates only one bad epoch."),
        Mistake("threshold_ignored", "An improvement must beat the best by the relative "
                "threshold: value < best·(1 − threshold).", _plateau_variant(use_threshold=False),
                diagnosis="any decrease counts as an improvement, however tiny, so small gains "
                "reset the count of bad epochs and the cut comes later than expected."),
    )),
    "schedules.final_losses": Expected(
        Computed(_final_losses),
        upstream={"cosine_annealing": "schedules.cosine", "warmup": "schedules.warmup"},
        reference_with=_final_losses, rtol=1e-5, atol=1e-8, check_dtype=False),
}
