"""Exercise 09 (batch size): references and the catalog of typical mistakes."""

from __future__ import annotations

import math

import numpy as np

from autograde.references import Computed, Expected, Mistake
from labkit.checks.batch_size import EX09_BATCHES, EX09_DRAWS, EX09_SEED, EX09_W, EX09_X, EX09_Y
from solutions import batch_size as ref


def minibatch_gradient(w, X, y, indices):
    return ref.least_squares_minibatch_gradient(w, X, y, indices)


def gradient_noise(w, X, y, batch_size, draws, seed, replace=False):
    per_example = ref.per_example_gradients_least_squares(w, X, y)
    return ref.empirical_noise(per_example, batch_size, draws, np.random.default_rng(seed),
                               replace)


def predicted_noise(w, X, y, batch_size, replace=False):
    variance = ref.gradient_variance(ref.per_example_gradients_least_squares(w, X, y))
    return ref.minibatch_noise(variance, len(y), batch_size, replace)


def time_to_target(batch_sizes, steps, overhead, per_example):
    best, times = ref.time_optimal_batch(batch_sizes, steps, overhead, per_example)
    return times, best


def scaled_warmup_lr(step, base_lr, base_batch, batch_size, warmup_steps, decay):
    return ref.scaled_lr_with_warmup(step, base_lr, batch_size, base_batch, warmup_steps, decay)


def _noise_slopes(noise_fn=gradient_noise, slope_fn=ref.loglog_slope) -> dict:
    n = len(EX09_Y)
    noise = np.array([noise_fn(EX09_W, EX09_X, EX09_Y, b, EX09_DRAWS, EX09_SEED, False)
                      for b in EX09_BATCHES])
    corrected = noise / np.sqrt([ref.finite_population_correction(n, b) for b in EX09_BATCHES])
    return {"noise": noise, "slope_raw": slope_fn(EX09_BATCHES, noise),
            "slope_corrected": slope_fn(EX09_BATCHES, corrected)}


# -- typical mistakes ------------------------------------------------------------------------
def _gradient_summed(w, X, y, indices):
    return len(indices) * ref.least_squares_minibatch_gradient(w, X, y, indices)


def _noise_with_replacement(w, X, y, batch_size, draws, seed, replace=False):
    return gradient_noise(w, X, y, batch_size, draws, seed, True)


def _noise_summed(w, X, y, batch_size, draws, seed, replace=False):
    """The measurement right, built on a mini-batch gradient that sums: noise · B, measured
    from N·G."""
    rng = np.random.default_rng(seed)
    full = _gradient_summed(w, X, y, np.arange(len(y)))
    squared = [np.sum((_gradient_summed(w, X, y, rng.choice(len(y), size=batch_size,
                                                            replace=replace)) - full) ** 2)
               for _ in range(draws)]
    return float(np.sqrt(np.mean(squared)))


def _noise_centred_on_draws(w, X, y, batch_size, draws, seed, replace=False):
    rng = np.random.default_rng(seed)
    gradients = np.array([minibatch_gradient(w, X, y, rng.choice(len(y), size=batch_size,
                                                                 replace=replace))
                          for _ in range(draws)])
    return float(np.sqrt(np.sum(np.var(gradients, axis=0))))


def _predicted_no_correction(w, X, y, batch_size, replace=False):
    return predicted_noise(w, X, y, batch_size, True)


def _predicted_correction_over_n(w, X, y, batch_size, replace=False):
    variance = ref.gradient_variance(ref.per_example_gradients_least_squares(w, X, y))
    n = len(y)
    return math.sqrt(variance / batch_size * (1.0 if replace else (n - batch_size) / n))


def _slope_linear_axes(x, y):
    return float(np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)[0])


def _time_no_overhead(batch_sizes, steps, overhead, per_example):
    return time_to_target(batch_sizes, steps, 0.0, per_example)


def _time_fewest_steps(batch_sizes, steps, overhead, per_example):
    times, _ = time_to_target(batch_sizes, steps, overhead, per_example)
    return times, int(batch_sizes[int(np.argmin(steps))])


def _warmup_sqrt_scaling(step, base_lr, base_batch, batch_size, warmup_steps, decay):
    # the square-root rule: scaling by sqrt(B / B_base) is the same as the linear rule applied
    # to the batch size sqrt(B · B_base)
    return ref.scaled_lr_with_warmup(step, base_lr, math.sqrt(batch_size * base_batch),
                                     base_batch, warmup_steps, decay)


def _warmup_not_composed(step, base_lr, base_batch, batch_size, warmup_steps, decay):
    peak = base_lr * batch_size / base_batch
    if step < warmup_steps:
        return base_lr + (peak - base_lr) * step / warmup_steps
    return peak * decay(step)


def _warmup_off_by_one(step, base_lr, base_batch, batch_size, warmup_steps, decay):
    peak = base_lr * batch_size / base_batch
    if step < warmup_steps:
        return base_lr + (peak - base_lr) * (step + 1) / warmup_steps
    return peak * decay(step - warmup_steps)


def _warmup_from_zero(step, base_lr, base_batch, batch_size, warmup_steps, decay):
    return ref.scaled_lr_with_warmup(step, base_lr, batch_size, base_batch, warmup_steps, decay,
                                     start_lr=0.0)


# -- carry-forward: the noise measured with the student's own minibatch_gradient -------------
def gradient_noise_with(minibatch_gradient=minibatch_gradient):
    """Part 2's measurement as the exercise writes it, on the given ``minibatch_gradient``."""
    def gradient_noise(w, X, y, batch_size, draws, seed, replace=False):
        rng, n = np.random.default_rng(seed), len(y)
        full = minibatch_gradient(w, X, y, np.arange(n))
        squared = [np.sum((minibatch_gradient(w, X, y, ref.sample_indices(
            rng, n, batch_size, replace)) - full) ** 2) for _ in range(draws)]
        return float(np.sqrt(np.mean(squared)))
    return gradient_noise


def noise_slopes_with(noise_fn=None, minibatch_gradient=None) -> dict:
    """Part 4 with the given ``gradient_noise`` (or one built on ``minibatch_gradient``)."""
    if noise_fn is None:
        noise_fn = (gradient_noise_with(minibatch_gradient) if minibatch_gradient
                    else gradient_noise_with())
    return _noise_slopes(noise_fn=noise_fn)


EXPECTED = {
    "batch_size.minibatch_gradient": Expected(minibatch_gradient, mistakes=(
        Mistake("summed", "Average over the batch, X_B.T @ (X_B w − y_B) / B: a sum grows in "
                "proportion to the batch size, and so would every step.", _gradient_summed,
                diagnosis="the gradient is summed over the batch, so it is B times too large and "
                "every step would grow with the batch size."),
    )),
    "batch_size.gradient_noise": Expected(
        gradient_noise,
        upstream={"minibatch_gradient": "batch_size.minibatch_gradient"},
        reference_with=gradient_noise_with, mistakes=(
        Mistake("with_replacement", "Draw the batch with rng.choice(N, size=batch_size, "
                "replace=replace): with replace=False the indices must be distinct (a "
                "shuffled epoch never repeats an example).", _noise_with_replacement,
                diagnosis="with replace=False the batches are still drawn with replacement, so "
                "they can repeat examples and the noise misses the finite-population drop (it is "
                "not 0 at B = N)."),
        Mistake("summed", "The mini-batch gradient used here sums over the batch instead of "
                "averaging: the noise then grows with B instead of shrinking.",
                _noise_summed,
                diagnosis="the noise is measured on mini-batch gradients that sum over the batch, "
                "so it is far too large and shrinks much more slowly with B than the noise of "
                "averages."),
        Mistake("centred_on_draws", "Measure the distance of each mini-batch gradient from the "
                "full gradient ∇L(w), not from the mean of your draws.",
                _noise_centred_on_draws,
                diagnosis="the deviations are measured around the mean of the drawn gradients, so "
                "the result is the spread of the draws among themselves, a little smaller than "
                "their distance from the full gradient and dependent on the draws."),
    )),
    "batch_size.predicted_noise": Expected(predicted_noise, mistakes=(
        Mistake("no_correction", "Without replacement the variance σ²/B is multiplied by the "
                "finite-population correction (N − B)/(N − 1); it is 0 when B = N.",
                _predicted_no_correction,
                diagnosis="the prediction leaves out the finite-population correction, so without "
                "replacement it is too large and does not fall to 0 at B = N."),
        Mistake("correction_over_n", "The finite-population correction is (N − B)/(N − 1), "
                "with σ² the mean of |g_i − G|² over the N examples (not (N − B)/N).",
                _predicted_correction_over_n,
                diagnosis="the finite-population factor has the wrong denominator, so the "
                "predicted noise is slightly too small (most visibly for small N), though it still "
                "vanishes at B = N."),
    )),
    "batch_size.noise_slopes": Expected(
        Computed(_noise_slopes),
        upstream={"noise_fn": "batch_size.gradient_noise",
                  "minibatch_gradient": "batch_size.minibatch_gradient"},
        reference_with=noise_slopes_with, rtol=1e-6, atol=1e-9,
        check_dtype=False, mistakes=(
        Mistake("with_replacement", "The experiment samples without replacement "
                "(replace=False); check that gradient_noise passes it on to rng.choice.",
                Computed(_noise_slopes, noise_fn=_noise_with_replacement),
                diagnosis="the noise here is measured with replacement, so it never shows the "
                "finite-population drop at large batches and both slopes are off."),
        Mistake("linear_axes", "Fit the line to (log B, log noise): np.polyfit(np.log(B), "
                "np.log(noise), 1)[0]. A slope on linear axes is not the exponent of a power "
                "law.", Computed(_noise_slopes, slope_fn=_slope_linear_axes),
                diagnosis="the slopes are fitted on linear axes, so they are not power-law "
                "exponents: they come out near 0 instead of near −1/2."),
        Mistake("summed", "The gradients measured here are summed over the batch, not "
                "averaged (a mean over B examples), so the noise grows with B.",
                Computed(_noise_slopes, noise_fn=_noise_summed),
                diagnosis="the noise here is built on summed gradients, so it is far too large and "
                "falls much more slowly with B, and both slopes are too shallow."),
    )),
    "batch_size.time_to_target": Expected(time_to_target, check_dtype=False, mistakes=(
        Mistake("no_overhead", "A step costs overhead + per_example · B: the fixed overhead "
                "is paid once per step, and it is what makes tiny batches slow.",
                _time_no_overhead,
                diagnosis="the fixed cost of each step is left out, so every time is too small and "
                "the tiniest batches look fastest."),
        Mistake("fewest_steps", "The best batch is the one with the least *time*, "
                "steps · (overhead + per_example · B), not the one with the fewest steps.",
                _time_fewest_steps,
                diagnosis="the best batch is chosen by its number of steps, so the cost of each "
                "step is ignored and the largest batch tends to win even when it is slower."),
    )),
    "batch_size.warmup": Expected(scaled_warmup_lr, mistakes=(
        Mistake("sqrt_scaling", "The linear scaling rule multiplies the rate by B / B_base, "
                "not by its square root.", _warmup_sqrt_scaling,
                diagnosis="the rate grows with the square root of the batch ratio, so the peak is "
                "too low for every batch larger than the base one."),
        Mistake("not_composed", "After the warm-up the decay starts from its own step 0: use "
                "decay(step − warmup_steps).", _warmup_not_composed,
                diagnosis="after the warm-up the decay is evaluated at the global step, so it "
                "starts part-way through its course and the rate drops as soon as the warm-up "
                "ends."),
        Mistake("off_by_one", "Step 0 uses base_lr: base_lr + (peak − base_lr)·step / "
                "warmup_steps, reaching the peak exactly at step = warmup_steps.",
                _warmup_off_by_one,
                diagnosis="the ramp is one step ahead: step 0 already gets more than base_lr and "
                "the peak comes one step before the warm-up ends."),
        Mistake("from_zero", "Goyal et al.'s warm-up starts from the base rate (the rate of the "
                "small batch), not from 0.", _warmup_from_zero,
                diagnosis="the warm-up ramps up from a rate of 0, so step 0 does not train at all "
                "and every warm-up rate is too low."),
    )),
}
