"""Exercise 11 (stable training): references and the catalog of typical mistakes."""

from __future__ import annotations

import numpy as np

from autograde.references import Computed, Expected, Mistake
from labkit.checks.stable_training import (
    EX11_DEPTH,
    EX11_HIDDEN,
    EX11_LR,
    EX11_MAX_EPOCHS,
    EX11_MIN_DELTA,
    EX11_MOMENTUM,
    EX11_PATIENCE,
    EX11_SEED,
    ex11_split,
)
from solutions import stable_training as ref


def dropout(x, p, rng, train=True):
    return ref.inverted_dropout(x, p, rng, train=train)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1,
                      eps=1e-5):
    return ref.batch_norm(x, gamma, beta, running_mean, running_var, train=train,
                          momentum=momentum, eps=eps)


def clip_by_global_norm(grads, max_norm):
    return ref.clip_grad_norm(grads, max_norm)


def early_stopping(val_losses, patience, min_delta=0.0):
    return ref.early_stopping(val_losses, patience, min_delta)


def run_experiment(stopper=early_stopping) -> dict:
    """Exercise 11, part 5: full-batch SGD on the digits MLP, stopped early with ``stopper``;
    the best epoch's weights restored and tested."""
    import torch
    from torch.nn.functional import cross_entropy

    from labkit.models import mlp

    X_train, y_train, X_val, y_val, X_test, y_test = (torch.as_tensor(a)
                                                      for a in ex11_split())
    model = mlp(64, EX11_HIDDEN, 10, depth=EX11_DEPTH, seed=EX11_SEED)
    optimizer = torch.optim.SGD(model.parameters(), lr=EX11_LR, momentum=EX11_MOMENTUM)
    val_losses, states = [], []
    stop = best = None
    for _ in range(EX11_MAX_EPOCHS):
        optimizer.zero_grad()
        cross_entropy(model(X_train), y_train).backward()
        optimizer.step()
        with torch.no_grad():
            val_losses.append(cross_entropy(model(X_val), y_val).item())
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        stop, best = stopper(val_losses, EX11_PATIENCE, EX11_MIN_DELTA)
        if stop is not None:
            break
    model.load_state_dict(states[best])
    with torch.no_grad():
        accuracy = (model(X_test).argmax(1) == y_test).double().mean().item()
    return {"stop_epoch": stop, "best_epoch": best, "best_val_loss": val_losses[best],
            "test_accuracy": accuracy}


# -- typical mistakes ------------------------------------------------------------------------
def _dropout_not_scaled(x, p, rng, train=True):
    return ref.direct_dropout(x, p, rng, train=True) if train else x


def _dropout_keep_drop_confused(x, p, rng, train=True):
    if not train:
        return x
    return x * (rng.random(x.shape) < p) / p


def _dropout_scaled_at_test(x, p, rng, train=True):
    return ref.inverted_dropout(x, p, rng) if train else x * (1 - p)


def _dropout_dropped_at_test(x, p, rng, train=True):
    return ref.inverted_dropout(x, p, rng)


def _bn_variant(unbiased_normalisation=False, biased_running=False, reversed_momentum=False,
                batch_stats_in_eval=False):
    def batchnorm(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
        n = x.shape[0]
        if train or batch_stats_in_eval:
            mean, var = x.mean(axis=0), x.var(axis=0, ddof=1 if unbiased_normalisation else 0)
        else:
            mean, var = running_mean, running_var
        if train:
            estimate = x.var(axis=0) * (1 if biased_running else n / (n - 1))
            m = 1 - momentum if reversed_momentum else momentum
            running_mean = (1 - m) * running_mean + m * x.mean(axis=0)
            running_var = (1 - m) * running_var + m * estimate
        out = gamma * (x - mean) / np.sqrt(var + eps) + beta
        return out, running_mean, running_var
    return batchnorm


def _clip_per_tensor(grads, max_norm):
    total = ref.global_norm(grads)
    return [g * min(max_norm / (np.linalg.norm(g) + 1e-6), 1.0) for g in grads], total


def _clip_always_rescale(grads, max_norm):
    total = ref.global_norm(grads)
    return [g * (max_norm / (total + 1e-6)) for g in grads], total


def _clip_no_eps(grads, max_norm):
    total = ref.global_norm(grads)
    return [g * min(max_norm / total, 1.0) for g in grads], total


def _early_variant(late=False, ignore_min_delta=False):
    def early(val_losses, patience, min_delta=0.0):
        best, best_epoch, bad = float("inf"), None, 0
        delta = 0.0 if ignore_min_delta else min_delta
        for epoch, value in enumerate(val_losses):
            if value < best - delta:
                best, best_epoch, bad = value, epoch, 0
                continue
            bad += 1
            if (bad > patience) if late else (bad >= patience):
                return epoch, best_epoch
        return None, best_epoch
    return early


_EARLY_LATE = _early_variant(late=True)

EXPECTED = {
    "stable_training.dropout_train": Expected(dropout, mistakes=(
        Mistake("not_scaled_at_train", "Inverted dropout divides the kept activations by "
                "the keep probability 1 − p during training, so that their expectation is "
                "x and nothing needs to change at test time.", _dropout_not_scaled,
                diagnosis="the kept activations are not rescaled during training, so their "
                "expectation shrinks to a fraction 1 − p of x and train and test activations "
                "differ in scale."),
        Mistake("keep_drop_confused", "p is the probability of *dropping* a unit: keep "
                "where u < 1 − p and divide by 1 − p, not by p.",
                _dropout_keep_drop_confused,
                diagnosis="p is treated as the probability of keeping a unit, so about a fraction "
                "p of the units survive instead of 1 − p, rescaled for that wrong rate."),
    )),
    "stable_training.dropout_eval": Expected(dropout, mistakes=(
        Mistake("scaled_at_test", "With inverted dropout the scaling already happened "
                "during training: in eval mode return x unchanged (scaling by 1 − p is "
                "direct dropout's test-time rule).", _dropout_scaled_at_test,
                diagnosis="in eval mode the activations are shrunk by 1 − p, so the scaling "
                "happens twice over (training already compensated) and the outputs are too small."),
        Mistake("dropped_at_test", "In eval mode nothing is dropped: return x unchanged.",
                _dropout_dropped_at_test,
                diagnosis="units are still dropped in eval mode, so the output is random instead "
                "of deterministic and differs from the input."),
    )),
    "stable_training.batchnorm_train": Expected(batchnorm_forward, mistakes=(
        Mistake("unbiased_in_normalisation", "Normalise the batch with its biased variance "
                "(divide by n, x.var(axis=0)); the n/(n − 1) correction belongs only in the "
                "running estimate.", _bn_variant(unbiased_normalisation=True),
                diagnosis="the batch is normalised with its unbiased variance, so the normalised "
                "outputs have a variance slightly below 1 (noticeably for small batches)."),
    )),
    "stable_training.batchnorm_running": Expected(batchnorm_forward, mistakes=(
        Mistake("biased_running_var", "running_var stores the unbiased batch variance: "
                "multiply the biased one by n/(n − 1) before mixing it in.",
                _bn_variant(biased_running=True),
                diagnosis="running_var mixes in the biased batch variance, so the running estimate "
                "is too small by the factor (n − 1)/n of each batch."),
        Mistake("momentum_reversed", "PyTorch's momentum is the weight of the new batch: "
                "running = (1 − momentum)·running + momentum·batch.",
                _bn_variant(reversed_momentum=True),
                diagnosis="momentum is used as the weight of the old running value, so the running "
                "statistics jump almost entirely to the newest batch at every step."),
    )),
    "stable_training.batchnorm_eval": Expected(batchnorm_forward, mistakes=(
        Mistake("batch_stats_in_eval", "In eval mode normalise with running_mean and "
                "running_var, not with the statistics of the batch (a batch of one would "
                "always give beta).", _bn_variant(batch_stats_in_eval=True),
                diagnosis="eval mode normalises with the statistics of the batch itself, so each "
                "output depends on the other examples in the batch and a batch of one always comes "
                "out as beta."),
    )),
    "stable_training.clip_by_global_norm": Expected(clip_by_global_norm, mistakes=(
        Mistake("per_tensor", "Clip all gradients together: one factor "
                "min(max_norm / (total_norm + 1e-6), 1) computed from the norm of all "
                "tensors concatenated, not one per tensor.", _clip_per_tensor,
                diagnosis="each tensor is clipped on its own, so the gradient's overall direction "
                "changes and the combined norm can still exceed max_norm."),
        Mistake("always_rescale", "Only scale *down*: the factor is min(max_norm / "
                "(total_norm + 1e-6), 1), so gradients below max_norm stay as they are.",
                _clip_always_rescale,
                diagnosis="the gradients are rescaled even when their norm is already below "
                "max_norm, so small gradients are blown up to max_norm."),
        Mistake("no_eps", "Divide by total_norm + 1e-6 (as PyTorch does); it matters when "
                "the gradients are tiny.", _clip_no_eps,
                diagnosis="the factor divides by the bare total norm, so it differs from PyTorch's "
                "clipping when the gradients are tiny."),
    )),
    "stable_training.early_stopping": Expected(early_stopping, mistakes=(
        Mistake("patience_off_by_one", "Stop as soon as the number of epochs without "
                "improvement *reaches* patience (patience=3: the third bad epoch in a row "
                "is the last one).", _EARLY_LATE,
                diagnosis="the stop comes one epoch late: the run allows one more epoch without "
                "improvement than patience."),
        Mistake("min_delta_ignored", "An improvement must beat the best loss by more than "
                "min_delta: value < best − min_delta.", _early_variant(ignore_min_delta=True),
                diagnosis="any decrease of the loss counts as an improvement, however small, so "
                "tiny gains reset the patience and the run stops later, possibly with another best "
                "epoch."),
    )),
    "stable_training.early": Expected(
        Computed(run_experiment),
        upstream={"stopper": "stable_training.early_stopping"},
        reference_with=run_experiment, rtol=1e-6, atol=1e-9, check_dtype=False,
        mistakes=(
        Mistake("patience_off_by_one", "The run stops one epoch late: it should stop at the "
                "patience-th epoch in a row without improvement.",
                Computed(run_experiment, stopper=_EARLY_LATE),
                diagnosis="the stopping rule used here stops one epoch late, so stop_epoch is one "
                "too large."),
    )),
}
