"""Exercise 12 (ensembles and weight averaging): references and the catalog of typical
mistakes."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from autograde.references import Computed, Expected, Mistake
from labkit.checks.ensembles import (
    EX12_BATCH,
    EX12_DECAY,
    EX12_EPOCHS,
    EX12_HIDDEN,
    EX12_LR,
    EX12_SEEDS,
)
from labkit.data import digits
from labkit.numpy_mlp import init_mlp, mlp_logits, mlp_loss, nll
from solutions import ensembles as ref


@functools.cache
def _trained(ema_update: Callable = ref.ema_update,
             polyak_update: Callable = ref.polyak_update) -> dict[str, list[np.ndarray]]:
    """Part 5's training runs (once per pair of averaging rules): the test logits of every
    member's final weights, of its EMA and of its SWA mean."""
    split = digits(seed=0)
    X, y = split.X_train, split.y_train
    logits: dict[str, list[np.ndarray]] = {"member": [], "ema": [], "swa": []}
    for seed in EX12_SEEDS:
        rng = np.random.default_rng(seed)
        params = init_mlp(rng, n_hidden=EX12_HIDDEN)
        ema = None
        for epoch in range(EX12_EPOCHS):
            if epoch == EX12_EPOCHS - 1:
                swa, n_swa = params, 0
            order = rng.permutation(len(y))
            for start in range(0, len(y), EX12_BATCH):
                batch = order[start:start + EX12_BATCH]
                grads = mlp_loss(params, X[batch], y[batch])[1]
                params = {name: params[name] - EX12_LR * grads[name] for name in params}
                ema = dict(params) if ema is None else ema_update(ema, params, EX12_DECAY)
                if epoch == EX12_EPOCHS - 1:
                    swa = polyak_update(swa, params, n_swa)
                    n_swa += 1
        for key, weights in (("member", params), ("ema", ema), ("swa", swa)):
            logits[key].append(mlp_logits(weights, split.X_test))
    return logits


def results_with(average_probabilities: Callable = ref.average_probabilities,
                 ema_update: Callable = ref.ema_update,
                 polyak_update: Callable = ref.polyak_update) -> dict[str, list[float]]:
    """The dict Part 5 asks for, computed as the exercise does with the given functions (the
    student's own, for carry-forward; a member's loss is that of ``average_probabilities``
    of its logits alone)."""
    logits = _trained(ema_update, polyak_update)
    y_test = digits(seed=0).y_test

    def loss(z):
        return nll(average_probabilities([z]), y_test)

    members = logits["member"]
    ensembles = [average_probabilities(members[:k]) for k in range(1, len(members) + 1)]
    return {"member_nll": [loss(z) for z in members],
            "ema_nll": [loss(z) for z in logits["ema"]],
            "swa_nll": [loss(z) for z in logits["swa"]],
            "ensemble_nll": [nll(p, y_test) for p in ensembles],
            "ensemble_accuracy": [float(np.mean(p.argmax(axis=1) == y_test))
                                  for p in ensembles]}


# -- typical mistakes ------------------------------------------------------------------------
def _softmax_unshifted(z):
    e = np.exp(np.asarray(z, dtype=float))
    return e / e.sum(axis=-1, keepdims=True)


def _average_logits(logits):
    return ref.average_logits(logits)


def _average_votes(logits):
    return ref.vote_fractions(logits)


def _average_softmax_axis0(logits):
    return np.mean([ref.softmax(z, axis=0) for z in logits], axis=0)


def _average_unshifted(logits):
    return np.mean([_softmax_unshifted(z) for z in logits], axis=0)


def _ema_swapped(average, params, decay):
    return {k: (1 - decay) * average[k] + decay * params[k] for k in params}


def _ema_no_one_minus(average, params, decay):
    return {k: decay * average[k] + params[k] for k in params}


def _polyak_off_by_one(average, params, n):
    return {k: average[k] + (params[k] - average[k]) / n for k in params}


def _polyak_pairwise(average, params, n):
    return {k: (average[k] + params[k]) / 2 for k in params}


def _snapshot_with(shift: int = 0, period: Callable[[int, int], int] | None = None,
                   restart: bool = True, half: bool = True):
    def snapshot_lr(step, lr, total_steps, cycles):
        p = period(total_steps, cycles) if period else math.ceil(total_steps / cycles)
        position = (step + shift) % p if restart else step
        length = p if restart else total_steps
        return (lr / 2 if half else lr) * (math.cos(math.pi * position / length) + 1)
    return snapshot_lr


_HINT_PROBABILITIES = ("Apply the softmax to each member's logits first and average the "
                       "probabilities; ")

EXPECTED = {
    "ensembles.average_probabilities": Expected(ref.average_probabilities, mistakes=(
        Mistake("averaged_logits", _HINT_PROBABILITIES + "softmax(mean of the logits) is a "
                "different ensemble (a normalised geometric mean of the probabilities).",
                _average_logits,
                diagnosis="the logits are averaged before the softmax, so the result is a "
                "normalised geometric mean of the members' probabilities, a different ensemble."),
        Mistake("votes", _HINT_PROBABILITIES + "these are the fractions of arg-max votes "
                "(hard voting), which throw away how confident each member is.",
                _average_votes,
                diagnosis="the result is the fraction of members voting for each class (hard "
                "voting), so each member's confidence is lost."),
        Mistake("softmax_axis", "The softmax must normalise each row (each example) over the "
                "classes, axis=-1, not each column over the examples.", _average_softmax_axis0,
                diagnosis="the softmax normalises each column over the examples, so the rows do "
                "not sum to 1 over the classes."),
        Mistake("unstable", "exp overflows for large logits: subtract each row's maximum "
                "before exponentiating (the softmax does not change).", _average_unshifted,
                diagnosis="the softmax exponentiates the raw logits, so large logits overflow and "
                "the probabilities become nan."),
    )),
    "ensembles.ema_update": Expected(ref.ema_update, weight=3, no_mutation=1,
        in_place_hint=("`average` or `params` was changed in place (*=, +=, or writing "
                       "into the dict); build and return a new dict."), mistakes=(
        Mistake("decay_swapped", "The decay is the weight of the old average: average ← "
                "decay·average + (1 − decay)·param. With decay = 0.999 the new parameters get "
                "only 0.1 %; your version gives them 99.9 %.", _ema_swapped,
                diagnosis="the decay weighs the new parameters and 1 − decay the old average, so "
                "the average follows the latest parameters almost exactly (99.9 % at decay "
                "0.999)."),
        Mistake("no_one_minus", "The new parameters are weighted by (1 − decay) so that the "
                "weights sum to 1; without it the average grows without bound.",
                _ema_no_one_minus,
                diagnosis="the new parameters enter with weight 1, so the weights sum to more than "
                "1 and the average grows without bound."),
    )),
    "ensembles.polyak_update": Expected(ref.polyak_update, mistakes=(
        Mistake("off_by_one", "n counts the parameter vectors already averaged, so the new "
                "one makes n + 1: divide by n + 1, not n (with n = 0 the result must be "
                "params).", _polyak_off_by_one,
                diagnosis="the new parameters are weighted as if n already counted them, so the "
                "mean is off by one vector (and n = 0 divides by zero)."),
        Mistake("pairwise", "(average + params)/2 gives the newest parameters weight 1/2 "
                "forever — an EMA with decay 0.5, not a uniform mean; the new vector weighs "
                "1/(n + 1).", _polyak_pairwise,
                diagnosis="every update averages the old mean and the newest parameters in equal "
                "halves, so the result is an EMA with decay 0.5 that forgets old parameters, not a "
                "uniform mean."),
    )),
    "ensembles.snapshot_lr": Expected(lambda step, lr, total_steps, cycles: ref.snapshot_lr(
        step, lr, total_steps, cycles), mistakes=(
        Mistake("cycle_index_late", "Huang et al. count iterations t from 1 and use "
                "mod(t − 1, ⌈T/M⌉); with step = t − 1 from 0 that is step % period — step 0 "
                "must get the full rate lr.", _snapshot_with(shift=1),
                diagnosis="the position in the cycle is one step ahead, so step 0 already gets a "
                "rate below lr and every restart comes a step early."),
        Mistake("cycle_index_early", "The position in the cycle is step % period (step 0 "
                "gets lr); you subtracted one more.", _snapshot_with(shift=-1),
                diagnosis="the position in the cycle is one step behind, so step 0 gets the "
                "end-of-cycle rate near 0 and every restart comes a step late."),
        Mistake("floor_period", "The cycle length is ⌈T/M⌉ (math.ceil), not T // M: the "
                "floor makes one cycle too many when M does not divide T.",
                _snapshot_with(period=lambda t, m: t // m),
                diagnosis="the cycle length is rounded down, so when cycles does not divide "
                "total_steps the cycles are too short and an extra partial cycle appears at the "
                "end."),
        Mistake("no_restart", "The rate must restart at lr at the beginning of every cycle: "
                "use the position inside the cycle, step % period, over the cycle length.",
                _snapshot_with(restart=False),
                diagnosis="the rate never restarts: it anneals once over the whole run, so only "
                "the first cycle's start is right."),
        Mistake("no_half", "The cosine term is (lr/2)·(cos(…) + 1): without the 1/2 the rate "
                "starts at 2·lr.", _snapshot_with(half=False),
                diagnosis="the cosine term is not halved, so every rate is twice the expected one, "
                "starting at 2·lr."),
    )),
    "ensembles.results": Expected(
        Computed(results_with), rtol=1e-6, atol=1e-9, check_dtype=False,
        upstream={"average_probabilities": "ensembles.average_probabilities",
                  "ema_update": "ensembles.ema_update",
                  "polyak_update": "ensembles.polyak_update"},
        reference_with=results_with, mistakes=(
            Mistake("averaged_logits", "The ensembles average logits; Part 5 asks for "
                    "average_probabilities of the first k members.",
                    Computed(results_with, average_probabilities=_average_logits),
                    diagnosis="the ensembles here average the members' logits, so their loss and "
                    "accuracy are those of a different ensemble than the one Part 5 describes."),
            Mistake("ema_swapped", "The EMA weighs the old average by the decay: average ← "
                    "decay·average + (1 − decay)·params.",
                    Computed(results_with, ema_update=_ema_swapped),
                    diagnosis="the EMA here weighs the newest parameters by the decay, so ema_nll "
                    "is that of weights close to the last iterate rather than of a slow average."),
        )),
}
