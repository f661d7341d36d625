"""Exercise 01 (gradient descent and SGD): references and the catalog of typical mistakes."""

from __future__ import annotations

import functools

import numpy as np

from autograde.references import Expected, Mistake
from labkit.checks.sgd import EX01_QUADRATIC
from labkit.models import softmax_regression
from solutions import sgd as ref


def _uphill(x, dx, lr):
    return x + lr * dx


def _lr_twice(x, dx, lr):
    return x - lr * lr * dx


def _no_lr(x, dx, lr):
    return x - dx


def _gd_uphill(grad_fn, x0, lr, num_steps):
    return ref.gradient_descent(grad_fn, x0, -lr, num_steps)


def _gd_without_start(grad_fn, x0, lr, num_steps):
    return ref.gradient_descent(grad_fn, x0, lr, num_steps)[1:]


def _gd_one_extra(grad_fn, x0, lr, num_steps):
    return ref.gradient_descent(grad_fn, x0, lr, num_steps + 1)


def _batches_without_shuffle(n, batch_size, rng, *, shuffle=True, drop_last=False):
    return ref.minibatches(n, batch_size, rng, shuffle=False, drop_last=drop_last)


def _batches_with_replacement(n, batch_size, rng, *, shuffle=True, drop_last=False):
    order = rng.integers(0, n, size=n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    return [order[i:i + batch_size] for i in range(0, stop, batch_size)]


def _batches_drop_last_ignored(n, batch_size, rng, *, shuffle=True, drop_last=False):
    return ref.minibatches(n, batch_size, rng, shuffle=shuffle, drop_last=False)


def _softmax_one_permutation(X, y, batch_size, lr, epochs, seed, num_classes=10):
    """Shuffles once and reuses that order every epoch (a new generator each epoch)."""
    W = np.zeros((X.shape[1] + 1, num_classes))
    losses = []
    for _ in range(epochs):
        for batch in ref.minibatches(len(y), batch_size, np.random.default_rng(seed)):
            W = ref.sgd_step(W, softmax_regression(W, X[batch], y[batch])[1], lr)
        losses.append(softmax_regression(W, X, y)[0])
    return np.array(losses)


def _softmax_batch_average(X, y, batch_size, lr, epochs, seed, num_classes=10):
    """Reports the average of the batch losses instead of the loss on the whole set."""
    W = np.zeros((X.shape[1] + 1, num_classes))
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        batch_losses = []
        for batch in ref.minibatches(len(y), batch_size, rng):
            loss, dW = softmax_regression(W, X[batch], y[batch])
            batch_losses.append(loss)
            W = ref.sgd_step(W, dW, lr)
        losses.append(np.mean(batch_losses))
    return np.array(losses)


_STEP_MISTAKES = (
    Mistake("uphill", "The step goes uphill: subtract the gradient, x − lr·dx, do not add it.",
            _uphill,
            diagnosis="uphill steps: the update moves along the gradient, so every iterate "
            "climbs the loss instead of descending it."),
    Mistake("lr_twice", "The learning rate is applied twice (lr² · dx).", _lr_twice,
            diagnosis="the learning rate scales the step twice, so with lr < 1 every step is lr "
            "times too short and the iterates barely move."),
    Mistake("no_lr", "The learning rate is missing: the step must be scaled by lr.", _no_lr,
            diagnosis="the learning rate is missing from the step, so every step moves by the "
            "whole gradient and its length does not change with lr."),
)

def critical_lr_with(step=ref.sgd_step, gradient_descent=None) -> float:
    """Part 5's measurement as the exercise's model solution makes it (bisection on [0, 1],
    500 steps from np.ones(3), diverged when the last iterate is longer than the first), with
    the given functions: with a student's own mistaken step, the boundary that step has."""
    run = gradient_descent or functools.partial(ref.gradient_descent, step=step)

    def diverges(lr):
        with np.errstate(over="ignore", invalid="ignore"):
            path = run(lambda x: EX01_QUADRATIC @ x, np.ones(3), lr, 500)
            return not np.linalg.norm(path[-1]) <= np.linalg.norm(path[0])

    low, high = 0.0, 1.0
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (low, middle) if diverges(middle) else (middle, high)
    return (low + high) / 2


def _sgd_step_in_place(x, dx, lr):
    x -= lr * dx
    return x


EXPECTED = {
    "sgd.sgd_step": Expected(ref.sgd_step, weight=3, no_mutation=1,
        in_place_hint=("the function changed x in place (x -= …); return a new array "
                       "instead (x - lr * dx)."), in_place_answer=_sgd_step_in_place,
        mistakes=_STEP_MISTAKES),
    "sgd.minibatches": Expected(ref.minibatches, mistakes=(
        Mistake("no_shuffle", "The order is not shuffled: draw rng.permutation(n) when "
                "shuffle=True.", _batches_without_shuffle,
                diagnosis="with shuffle=True the indices still come in their original order, so "
                "every epoch sees the same batches in the same order."),
        Mistake("with_replacement", "Indices are drawn with replacement; an epoch must visit "
                "every example once (use rng.permutation).", _batches_with_replacement,
                diagnosis="the indices are drawn with replacement, so within one epoch some "
                "examples appear several times and others not at all."),
        Mistake("drop_last", "drop_last=True must skip the final, smaller batch.",
                _batches_drop_last_ignored,
                diagnosis="drop_last=True has no effect: the final, smaller batch is still "
                "returned, so there is one batch too many when batch_size does not divide n."),
    )),
    "sgd.gradient_descent": Expected(
        ref.gradient_descent, upstream={"step": "sgd.sgd_step"},
        reference_with=lambda step=ref.sgd_step: functools.partial(ref.gradient_descent,
                                                                   step=step), mistakes=(
        Mistake("uphill", "The iterates climb: each step must be x − lr·∇f(x).", _gd_uphill,
                diagnosis="the iterates go uphill: each step moves along the gradient, so the "
                "trajectory climbs away from the minimum instead of approaching it."),
        Mistake("no_start", "The trajectory must start with x0 (num_steps + 1 rows).",
                _gd_without_start,
                diagnosis="the trajectory lacks its first row, the starting point, so it is one "
                "row short and every row is one step ahead of the expected one."),
        Mistake("extra_step", "One step too many: num_steps steps give num_steps + 1 rows.",
                _gd_one_extra,
                diagnosis="the loop runs one step too many, so the trajectory is one row longer "
                "than expected and ends one step past the expected final point."),
    )),
    "sgd.train_softmax": Expected(
        ref.train_softmax_regression, rtol=1e-7,
        upstream={"step": "sgd.sgd_step", "batches": "sgd.minibatches"},
        reference_with=lambda step=ref.sgd_step, batches=ref.minibatches: functools.partial(
            ref.train_softmax_regression, step=step, batches=batches), mistakes=(
        Mistake("one_permutation", "Every epoch uses the same order: create the generator "
                "once, before the epoch loop, so each epoch draws a new permutation.",
                _softmax_one_permutation,
                diagnosis="the shuffled order is the same in every epoch, so from the second epoch "
                "on training sees other batches than expected and the losses drift apart."),
        Mistake("batch_average", "The recorded loss is the mean of the batch losses; record "
                "the loss of the final W on the whole training set after each epoch.",
                _softmax_batch_average,
                diagnosis="each epoch's loss is the mean of the mini-batch losses met along the "
                "way, taken with weights that kept changing, so it lags behind the loss of the "
                "weights the epoch ends with."),
    )),
    "sgd.critical_lr": Expected(
        ref.max_stable_learning_rate(EX01_QUADRATIC), rtol=0.01, check_dtype=False,
        upstream={"step": "sgd.sgd_step", "gradient_descent": "sgd.gradient_descent"},
        reference_with=critical_lr_with, mistakes=(
        Mistake("one_over_lambda", "That is 1/λ_max, the rate that removes the stiffest "
                "direction in one step; divergence starts at twice that.",
                1.0 / np.linalg.eigvalsh(EX01_QUADRATIC).max(),
                diagnosis="the answer is 1/λ_max, the rate that cancels the stiffest direction in "
                "one step; gradient descent is still stable there, so the answer is half the rate "
                "where divergence begins."),
        Mistake("smallest_eigenvalue", "That rate comes from the smallest eigenvalue; the "
                "largest eigenvalue limits stability.",
                2.0 / np.linalg.eigvalsh(EX01_QUADRATIC).min(),
                diagnosis="the rate is set by the smallest eigenvalue, the flattest direction, so "
                "it lies far above the rate at which the stiffest direction already diverges."),
    )),
}
