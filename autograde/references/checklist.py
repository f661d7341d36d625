"""Exercise 13 (a training checklist): references and the catalog of typical mistakes."""

from __future__ import annotations

import functools

import numpy as np

from autograde.references import Computed, Expected, Mistake
from labkit.checks.checklist import EX13_HIDDEN, EX13_LR, EX13_SEED, EX13_STEPS, EX13_SUBSET
from solutions import checklist as ref


def numerical_gradient(f, x, h=1e-5):
    return ref.numerical_gradient(f, x, h)


def update_ratios(model, optimizer, compute_loss):
    return ref.step_with_ratios(model, optimizer, compute_loss)


@functools.cache
def _overfit(zero_grad: bool = True) -> list[float]:
    """Losses before every update and after the last, and the updates to 100 % accuracy."""
    import torch
    from torch.nn.functional import cross_entropy

    from labkit.data import digits
    from labkit.models import mlp

    split = digits(seed=0)
    X = torch.tensor(split.X_train[:EX13_SUBSET])
    y = torch.tensor(split.y_train[:EX13_SUBSET])
    model = mlp(64, EX13_HIDDEN, 10, seed=EX13_SEED)
    optimizer = torch.optim.SGD(model.parameters(), lr=EX13_LR)
    if zero_grad:
        report = ref.overfit_small_subset(model, optimizer, X, y, EX13_STEPS)
        return list(report.losses), report.steps_to_fit
    losses, steps_to_fit = [], None
    for step in range(EX13_STEPS + 1):
        logits = model(X)
        loss = cross_entropy(logits, y)
        losses.append(loss.item())
        if steps_to_fit is None and bool((logits.argmax(1) == y).all()):
            steps_to_fit = step
        if step < EX13_STEPS:
            loss.backward()  # gradients pile up: no zero_grad
            optimizer.step()
    return losses, steps_to_fit


def _result(zero_grad: bool = True, final: int = -1) -> dict:
    """Part 5's reported dict, from a run with or without ``zero_grad`` (``final=-2``: the
    loss before the last update, a typical mistake)."""
    losses, steps_to_fit = _overfit(zero_grad)
    return {"initial_loss": float(losses[0]), "steps_to_100": steps_to_fit,
            "final_loss": float(losses[final])}




# -- typical mistakes ------------------------------------------------------------------------
def _one_sided(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad, base = np.zeros_like(x), f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        grad[i] = (f(x) - base) / h
        x[i] = old
    return grad


def _in_input_dtype(f, x, h=1e-5):
    return ref.numerical_gradient(f, x, h, dtype=np.asarray(x).dtype)


def _not_restored(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        plus = f(x)
        x[i] -= 2 * h
        grad[i] = (plus - f(x)) / (2 * h)  # x[i] stays at x_i − h
    return grad


def _divides_by_h(f, x, h=1e-5):
    return 2 * ref.numerical_gradient(f, x, h)


def _relative_to_b(a, b, tiny=1e-12):
    with np.errstate(all="ignore"):
        return np.abs(a - b) / np.abs(b)


def _relative_to_sum(a, b, tiny=1e-12):
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), tiny)


def _cross_entropy_log10(logits, y):
    return ref.cross_entropy(logits, y) / np.log(10)


def _cross_entropy_unstable(logits, y):
    with np.errstate(all="ignore"):
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return -np.mean(np.log(probs[np.arange(len(y)), y]))


def _initial_loss_log10(num_classes):
    return float(np.log10(num_classes))


def _ratio_without_lr(w, dw, lr):
    return float(np.linalg.norm(dw) / np.linalg.norm(w))


def _ratios_no_clone(model, optimizer, compute_loss):
    optimizer.zero_grad()
    compute_loss().backward()
    before = {name: p.detach() for name, p in model.named_parameters()}  # shares storage
    optimizer.step()
    return {name: float((p.detach() - before[name]).norm() / before[name].norm())
            for name, p in model.named_parameters()}


def _ratios_from_gradient(model, optimizer, compute_loss):
    optimizer.zero_grad()
    compute_loss().backward()
    lr = optimizer.param_groups[0]["lr"]
    ratios = {name: float(lr * p.grad.norm() / p.detach().norm())
              for name, p in model.named_parameters()}
    optimizer.step()
    return ratios


EXPECTED = {
    "checklist.numerical_gradient": Expected(numerical_gradient, mistakes=(
        Mistake("one_sided", "Use the centred difference (f(x + h·e_i) − f(x − h·e_i)) / (2h): "
                "the one-sided (f(x + h·e_i) − f(x)) / h has an error proportional to h "
                "instead of h².", _one_sided,
                diagnosis="the estimate uses a one-sided difference, whose error shrinks only in "
                "proportion to h, so it agrees with the analytic gradient to far fewer digits."),
        Mistake("float32", "Cast x to float64 first (np.array(x, dtype=np.float64)): in "
                "float32 the round-off in f(x ± h) swamps the difference and no h gives more "
                "than a few correct digits.", _in_input_dtype,
                diagnosis="the computation stays in the input's float32, so round-off in f swamps "
                "the tiny difference and only a few digits come out right."),
        Mistake("not_restored", "Put x_i back to its original value after the two "
                "evaluations; otherwise every later entry is computed at a shifted point.",
                _not_restored,
                diagnosis="each coordinate is left shifted after its evaluations, so every later "
                "entry is computed at a displaced point and the estimate drifts."),
        Mistake("divides_by_h", "The two points are 2h apart: divide the difference by 2h, "
                "not by h.", _divides_by_h,
                diagnosis="the centred difference is divided by the wrong spacing, so every entry "
                "is twice the gradient."),
    )),
    "checklist.relative_error": Expected(ref.relative_error, mistakes=(
        Mistake("one_side", "Divide by max(|a|, |b|, tiny), not by |b| alone: the error must "
                "be symmetric (neither gradient is the truth) and defined where b = 0.",
                _relative_to_b,
                diagnosis="the error is relative to b alone, so it is not symmetric in a and b and "
                "becomes inf or nan where b is 0."),
        Mistake("sum", "The denominator is the larger magnitude, max(|a|, |b|), not the sum "
                "|a| + |b| (which halves every error).", _relative_to_sum,
                diagnosis="the denominator adds the two magnitudes, so every error comes out about "
                "half as large as it should."),
    )),
    "checklist.cross_entropy": Expected(ref.cross_entropy, weight=2, mistakes=(
        Mistake("log10", "Cross-entropy uses the natural logarithm (np.log), not log10.",
                _cross_entropy_log10,
                diagnosis="the logarithm is base 10, so every loss is ln 10 ≈ 2.3 times too "
                "small."),
        Mistake("unstable", "Subtract each row's maximum from the logits before np.exp: "
                "exp(1000) overflows to inf and the loss becomes nan.",
                _cross_entropy_unstable,
                diagnosis="the softmax exponentiates the raw logits, so large logits overflow to "
                "inf and the loss becomes nan."),
    )),
    "checklist.expected_initial_loss": Expected(ref.expected_initial_loss, weight=1, mistakes=(
        Mistake("log10", "The loss is −ln(1/C) = ln C with the natural logarithm, as in the "
                "cross-entropy itself (2.303 for 10 classes, not 1).", _initial_loss_log10,
                diagnosis="the loss uses the base-10 logarithm, so it is ln 10 ≈ 2.3 times too "
                "small (1 for 10 classes)."),
    )),
    "checklist.update_ratio": Expected(ref.update_ratio, weight=1, mistakes=(
        Mistake("missing_lr", "The update of SGD is lr·dw, not dw: the ratio is "
                "‖lr·dw‖ / ‖w‖.", _ratio_without_lr,
                diagnosis="the ratio leaves out the learning rate, so it compares the gradient, "
                "not the update, with the weights and comes out 1/lr times too large."),
    )),
    "checklist.update_ratios": Expected(update_ratios, weight=2, mistakes=(
        Mistake("no_clone", "p.detach() shares storage with the parameter, which "
                "optimizer.step() changes in place: keep p.detach().clone() as the copy "
                "from before the step.", _ratios_no_clone,
                diagnosis="the copy from before the step shares memory with the parameter, so it "
                "changes with the step and every ratio comes out 0."),
        Mistake("gradient_formula", "Measure the change the optimizer actually made, "
                "‖w_after − w_before‖ / ‖w_before‖: with momentum, weight decay or Adam the "
                "update is not lr·grad.", _ratios_from_gradient,
                diagnosis="the ratios assume the update is lr times the gradient, so they are "
                "wrong whenever the optimizer does more than plain SGD (momentum, weight decay, "
                "Adam)."),
    )),
    "checklist.overfit": Expected(Computed(_result), rtol=1e-5, atol=1e-10,
                                  check_dtype=False, mistakes=(
        Mistake("no_zero_grad", "Call optimizer.zero_grad() before every backward(): "
                "PyTorch adds new gradients to the old ones.",
                Computed(_result, zero_grad=False),
                diagnosis="the gradients are never cleared, so every backward adds to the earlier "
                "ones, the updates become running sums and the losses and steps to 100 % differ."),
        Mistake("final_before_last_update", "final_loss is the loss after all EX13_STEPS "
                "updates: evaluate once more after the last one.",
                Computed(_result, final=-2),
                diagnosis="final_loss is the loss before the last update, one step short of the "
                "end of training."),
    )),
}
