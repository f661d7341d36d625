"""Chapter 13: a training checklist — checks to run before, at the start of, and during
training.

=================================  ===========================================================
before training                    :func:`numerical_gradient`, :func:`relative_error`,
                                   :func:`gradient_check` (NumPy), :func:`check_module_gradients`
                                   (a PyTorch module's backward against finite differences)
at the first step                  :func:`expected_initial_loss`, :func:`initial_loss_check`
on a handful of examples           :func:`overfit_small_subset`
during training                    :func:`update_ratio`, :func:`step_with_ratios`,
                                   :class:`UpdateRatioTracker`
reading the curves                 :func:`diagnose_loss_curve`
=================================  ===========================================================

The thresholds are rules of thumb from practice (the CS231n notes; Bengio, 2012, "Practical
recommendations for gradient-based training of deep architectures"; Goodfellow, Bengio &
Courville, 2016, *Deep Learning*, §11.5), not theorems: each function returns its numbers
with the verdict so that the reader can judge.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

Verdict = Literal["good", "suspicious", "wrong"]

GOOD_ERROR = 1e-7
"""Largest relative error of a correct gradient of a smooth function checked in float64."""
WRONG_ERROR = 1e-4
"""Relative errors above this mean a wrong gradient (for smooth functions, in float64)."""
KINK_GOOD_ERROR, KINK_WRONG_ERROR = 1e-4, 1e-2
"""The same two thresholds for functions with kinks (ReLU, max, hinge, absolute value)."""


# -- gradient checks -------------------------------------------------------------------------
def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5,
                       dtype: type | np.dtype = np.float64) -> np.ndarray:
    r"""The gradient of the scalar function ``f`` at ``x`` by centred differences,

    .. math::  \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h},

    one coordinate at a time, on a copy of ``x`` cast to ``dtype`` (``x`` is not changed).

    The error has two parts (Nocedal & Wright, 2006, §8.1): *truncation*, from the Taylor
    expansion, :math:`h^2 |f'''|/6` — a one-sided difference :math:`(f(x+h) - f(x))/h` has
    :math:`h|f''|/2` instead, far worse — and *round-off*, about :math:`\varepsilon |f| / h`
    with :math:`\varepsilon` the machine epsilon. Their sum is smallest near
    :math:`h \approx \varepsilon^{1/3}`: about ``1e-5`` in float64 (ε ≈ 2.2e-16), where the
    gradient is good to about 10 digits, but ``5e-3`` in float32 (ε ≈ 1.2e-7), where no
    choice of ``h`` gives better than about 4 digits. Check gradients in float64.
    """
    x = np.array(x, dtype=dtype)  # a private copy: perturbing it cannot change the caller's
    grad = np.zeros_like(x)
    flat, flat_grad = x.reshape(-1), grad.reshape(-1)  # views of the contiguous copies
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = f(x)
        flat[i] = old - h
        minus = f(x)
        flat[i] = old
        flat_grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray, tiny: float = 1e-12) -> np.ndarray:
    r"""Entrywise :math:`|a - b| / \max(|a|, |b|, \text{tiny})`.

    Symmetric in ``a`` and ``b`` (neither the analytic nor the numerical gradient is the
    truth), scale-free, at most 2, and 0 where both entries are 0 — ``tiny`` only keeps the
    division defined there. An absolute difference means nothing without a scale: 1e-6 is
    excellent for an entry of size 1e3 and hopeless for one of size 1e-6.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), tiny)


def error_verdict(error: float, kinks: bool = False) -> Verdict:
    """``"good"``, ``"suspicious"`` or ``"wrong"`` for a relative error, by the thresholds
    :data:`GOOD_ERROR`/:data:`WRONG_ERROR` (smooth functions) or
    :data:`KINK_GOOD_ERROR`/:data:`KINK_WRONG_ERROR` (``kinks=True``: a centred difference
    that straddles a kink of ReLU or max can be off by a lot at that one entry)."""
    good, wrong = (KINK_GOOD_ERROR, KINK_WRONG_ERROR) if kinks else (GOOD_ERROR, WRONG_ERROR)
    if not error <= wrong:  # NaN is wrong too
        return "wrong"
    return "good" if error <= good else "suspicious"


@dataclass(frozen=True)
class GradCheckReport:
    """The outcome of comparing an analytic gradient with a numerical one.

    ``errors`` is the entrywise :func:`relative_error`; ``max_error`` its largest value, at
    ``worst_index``; ``verdict`` applies :func:`error_verdict` to ``max_error``.
    """

    analytic: np.ndarray
    numerical: np.ndarray
    errors: np.ndarray
    max_error: float
    worst_index: tuple[int, ...]
    verdict: Verdict

    @property
    def passed(self) -> bool:
        return self.verdict == "good"

    def __str__(self) -> str:
        return (f"max relative error {self.max_error:.2e} at {self.worst_index} "
                f"(analytic {self.analytic[self.worst_index]:.6g}, numerical "
                f"{self.numerical[self.worst_index]:.6g}): {self.verdict}")


def compare_gradients(analytic: np.ndarray, numerical: np.ndarray, kinks: bool = False,
                      tiny: float = 1e-12) -> GradCheckReport:
    """A :class:`GradCheckReport` for two gradients of the same shape."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numerical = np.asarray(numerical, dtype=np.float64)
    if analytic.shape != numerical.shape:
        raise ValueError(f"gradient shapes differ: analytic {analytic.shape}, numerical "
                         f"{numerical.shape}")
    errors = relative_error(analytic, numerical, tiny)
    if errors.size == 0:
        return GradCheckReport(analytic, numerical, errors, 0.0, (), "good")
    safe = np.where(np.isnan(errors), np.inf, errors)
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(safe)), errors.shape))
    max_error = float(errors[worst])
    return GradCheckReport(analytic, numerical, errors, max_error, worst,
                           error_verdict(max_error, kinks))


def gradient_check(f: Callable[[np.ndarray], float],
                   grad: Callable[[np.ndarray], np.ndarray] | np.ndarray, x: np.ndarray,
                   h: float = 1e-5, dtype: type | np.dtype = np.float64, kinks: bool = False
                   ) -> GradCheckReport:
    """Compare ``grad(x)`` (or a given array) with :func:`numerical_gradient` of ``f`` at
    ``x``, both in ``dtype``."""
    x = np.array(x, dtype=dtype)
    analytic = grad(x.copy()) if callable(grad) else grad
    return compare_gradients(analytic, numerical_gradient(f, x, h, dtype), kinks)


def check_module_gradients(model: nn.Module, compute_loss: Callable[[], Tensor],
                           h: float = 1e-5, kinks: bool = False
                           ) -> dict[str, GradCheckReport]:
    """Compare the gradients ``backward`` gives every parameter of ``model`` with centred
    differences of the scalar ``compute_loss()``.

    Perturbs each parameter entry in place (under ``torch.no_grad``) and restores it, so
    ``model`` is unchanged afterwards; its ``.grad`` fields hold the analytic gradients.

    .. note:: Make the model deterministic and precise first: ``model.double()``, and
       ``model.eval()`` or no dropout (a new dropout mask at every evaluation is noise
       that no ``h`` survives). Batch norm in training mode is fine: it is a deterministic
       function of the batch. Use a small batch and few parameters: the check costs two
       forward passes per parameter entry.
    """
    params = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    model.zero_grad()
    compute_loss().backward()
    analytic = {name: p.grad.detach().cpu().numpy().astype(np.float64).copy()
                for name, p in params}
    reports = {}
    with torch.no_grad():
        for name, p in params:
            flat = p.data.view(-1)
            numerical = np.zeros(flat.numel())
            for i in range(flat.numel()):
                old = flat[i].item()
                flat[i] = old + h
                plus = compute_loss().item()
                flat[i] = old - h
                minus = compute_loss().item()
                flat[i] = old
                numerical[i] = (plus - minus) / (2 * h)
            reports[name] = compare_gradients(analytic[name], numerical.reshape(p.shape),
                                              kinks)
    return reports


# -- the first loss --------------------------------------------------------------------------
def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    r"""Mean softmax cross-entropy :math:`\frac1n\sum_i \big(\log\sum_c e^{z_{ic}} -
    z_{i y_i}\big)` in natural logarithms, with the row maximum subtracted first so that
    large logits do not overflow (the log-sum-exp trick)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_norm - shifted[np.arange(len(y)), y]))


def expected_initial_loss(num_classes: int) -> float:
    r"""The cross-entropy of a classifier that gives every class the same probability
    :math:`1/C`: :math:`-\ln(1/C) = \ln C` (2.303 for 10 classes).

    A network with small random weights has nearly equal logits, so its first loss should be
    close to this; with logits of standard deviation :math:`s` it is larger by about
    :math:`\tfrac{s^2}{2}(1 - \tfrac1C)` (see :func:`initial_loss_excess`).
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    return math.log(num_classes)


def initial_loss_excess(logit_std: float, num_classes: int) -> float:
    r"""The second-order estimate :math:`\tfrac{s^2}{2}(1 - \tfrac1C)` of how much the
    expected initial loss exceeds :math:`\ln C` when the logits are independent
    :math:`N(0, s^2)`: :math:`\mathbb E[\log\sum_c e^{z_c}] \approx \ln C + s^2/2 - s^2/(2C)`
    and :math:`\mathbb E[z_y] = 0`."""
    return 0.5 * logit_std**2 * (1 - 1 / num_classes)


@dataclass(frozen=True)
class InitialLossReport:
    """The first loss, ``ln C``, their ratio and a verdict: ``"ok"``, ``"too high"`` (the
    network is confidently wrong from the start: initial weights or output scale too large)
    or ``"too low"`` (the loss is not a mean cross-entropy in natural logarithms, or the
    labels leak into the input)."""

    loss: float
    expected: float
    ratio: float
    verdict: Literal["ok", "too high", "too low"]


def initial_loss_check(loss: float, num_classes: int, tolerance: float = 0.1
                       ) -> InitialLossReport:
    """Judge a first loss against ``ln C``: ``"ok"`` within a relative ``tolerance``."""
    expected = expected_initial_loss(num_classes)
    ratio = loss / expected if expected > 0 else math.inf
    if abs(ratio - 1) <= tolerance:
        verdict = "ok"
    else:
        verdict = "too high" if ratio > 1 else "too low"
    return InitialLossReport(float(loss), expected, float(ratio), verdict)


# -- overfitting a handful of examples -------------------------------------------------------
@dataclass(frozen=True)
class OverfitReport:
    """Full-batch training on a small subset: loss and accuracy *before* each update (and one
    last pair after the final update), and the number of updates after which the training
    accuracy first reached 100 % (``None`` if it never did)."""

    losses: np.ndarray
    accuracies: np.ndarray
    steps_to_fit: int | None

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    @property
    def fitted(self) -> bool:
        return self.steps_to_fit is not None


def overfit_small_subset(model: nn.Module, optimizer: torch.optim.Optimizer, X: Tensor,
                         y: Tensor, steps: int,
                         loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None
                         ) -> OverfitReport:
    """Train ``model`` on the whole of ``(X, y)`` for ``steps`` updates.

    A correct model and training loop drive the loss on a few dozen examples towards 0 and
    the accuracy to 100 %; if they cannot, something is broken before any question of
    generalisation arises. ``loss_fn(logits, y)`` defaults to the mean cross-entropy.
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    losses, accuracies, steps_to_fit = [], [], None
    model.train()
    for step in range(steps + 1):
        logits = model(X)
        loss = loss_fn(logits, y)
        accuracy = (logits.argmax(dim=1) == y).double().mean().item()
        losses.append(loss.item())
        accuracies.append(accuracy)
        if steps_to_fit is None and accuracy == 1.0:
            steps_to_fit = step
        if step == steps:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return OverfitReport(np.array(losses), np.array(accuracies), steps_to_fit)


# -- the update/weight ratio -----------------------------------------------------------------
def update_ratio(w: np.ndarray, dw: np.ndarray, lr: float) -> float:
    r"""The ratio :math:`\|\eta\, \nabla w\|_2 / \|w\|_2` of one plain SGD step to the weights
    (Frobenius norms of the whole array).

    Around ``1e-3`` is the usual healthy value (CS231n): each step changes the weights by a
    thousandth of their size. Much smaller and training crawls; much larger and it thrashes.
    Only for plain SGD is the update ``lr · grad``: with momentum, Adam or weight decay,
    measure the change instead (:func:`step_with_ratios`).
    """
    w, dw = np.asarray(w, dtype=np.float64), np.asarray(dw, dtype=np.float64)
    return float(np.linalg.norm(lr * dw) / np.linalg.norm(w))


def change_ratio(before: Tensor, after: Tensor) -> float:
    """``‖after − before‖ / ‖before‖``; ``inf`` for a change of a zero tensor, 0 for none."""
    change = float(torch.linalg.vector_norm((after - before).double()))
    size = float(torch.linalg.vector_norm(before.double()))
    if size == 0.0:
        return 0.0 if change == 0.0 else math.inf
    return change / size


def step_with_ratios(model: nn.Module, optimizer: torch.optim.Optimizer,
                     compute_loss: Callable[[], Tensor]) -> dict[str, float]:
    """One training step — ``zero_grad``, ``compute_loss().backward()``, ``optimizer.step()``
    — returning ``{name: ‖Δw‖/‖w‖}`` for every parameter, measured from copies taken just
    before the step (a ``detach()`` alone would share storage with the parameter, which the
    optimizer changes in place, and every ratio would come out 0)."""
    optimizer.zero_grad()
    compute_loss().backward()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer.step()
    return {name: change_ratio(before[name], p.detach())
            for name, p in model.named_parameters()}


def ratio_verdict(ratio: float, target: float = 1e-3, factor: float = 10.0
                  ) -> Literal["ok", "too small", "too large"]:
    """``"ok"`` within a ``factor`` of ``target`` on either side."""
    if ratio < target / factor:
        return "too small"
    return "too large" if not ratio <= target * factor else "ok"


class UpdateRatioTracker:
    """Records ``‖Δw‖/‖w‖`` of chosen parameters at every optimizer step, for any optimizer.

    ``tracker.step(optimizer)`` takes the place of ``optimizer.step()`` in a training loop::

        loss.backward()
        tracker.step(optimizer)     # copies the parameters, steps, measures the change

    ``params`` is a module (all its named parameters) or an iterable of ``(name, tensor)``
    pairs. :meth:`ratios` gives the history per name; :meth:`flags` names those whose median
    ratio over the recorded steps lies more than ``factor`` away from ``target``.
    """

    def __init__(self, params: nn.Module | Iterable[tuple[str, Tensor]],
                 target: float = 1e-3, factor: float = 10.0) -> None:
        named = params.named_parameters() if isinstance(params, nn.Module) else params
        self.params = [(name, p) for name, p in named]
        if not self.params:
            raise ValueError("UpdateRatioTracker needs at least one parameter")
        self.target, self.factor = target, factor
        self.history: dict[str, list[float]] = {name: [] for name, _ in self.params}

    def step(self, optimizer: torch.optim.Optimizer, closure: Callable | None = None):
        """``optimizer.step(closure)``, recording the ratio of every tracked parameter."""
        before = [p.detach().clone() for _, p in self.params]
        result = optimizer.step() if closure is None else optimizer.step(closure)
        for (name, p), old in zip(self.params, before, strict=True):
            self.history[name].append(change_ratio(old, p.detach()))
        return result

    def ratios(self) -> dict[str, np.ndarray]:
        return {name: np.array(values) for name, values in self.history.items()}

    def flags(self, last: int | None = None) -> dict[str, str]:
        """``{name: "too small" | "too large"}`` for parameters whose median ratio over the
        ``last`` recorded steps (all by default) is out of the band."""
        out = {}
        for name, values in self.history.items():
            window = values[-last:] if last else values
            if window:
                verdict = ratio_verdict(float(np.median(window)), self.target, self.factor)
                if verdict != "ok":
                    out[name] = verdict
        return out


# -- reading a loss curve --------------------------------------------------------------------
Diagnosis = Literal["diverging", "noisy", "plateau", "slow", "healthy"]

DIAGNOSES: dict[str, str] = {
    "diverging": "the loss grows or becomes NaN/inf: learning rate too high (or a bug that "
                 "makes the loss explode); lower the rate by 10x, clip gradients",
    "noisy": "spikes around the trend as large as the progress made: batch too small or "
             "rate too high for that batch; larger batch or smaller rate",
    "plateau": "a long flat start, then a drop: poor initialisation (vanishing signal) or a "
               "rate too small to leave a saddle; fix the init scale, normalise",
    "slow": "a nearly straight, slow decrease: learning rate too low; raise it by 3-10x",
    "healthy": "a fast drop that bends into a slow decline",
}
"""What each :func:`diagnose_loss_curve` label usually means and what to try."""


def _running_median(values: np.ndarray, window: int) -> np.ndarray:
    half = window // 2
    padded = np.pad(values, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)


def diagnose_loss_curve(losses: Sequence[float], noise: float = 0.25, flat: float = 0.05,
                        plateau_fraction: float = 0.2, slow_decrease: float = 0.5) -> Diagnosis:
    """Classify a training-loss curve (one value per step) by its shape.

    With *start*, *middle* and *end* the medians of the first tenth, the tenth around the
    middle and the last tenth of the steps, in order:

    1. ``"diverging"``: a NaN or infinite value;
    2. ``"noisy"``: over the second half, the mean absolute deviation of the losses from
       their running median exceeds ``noise`` times the larger of the progress
       (*start* − *end*) and the level reached (the median of the running median over the
       second half): spikes as large as what training achieved, and not small against
       where the loss stands — unless *end* is more than twice *start*;
    3. ``"diverging"``: *end* above *start*;
    4. ``"plateau"``: the running median is still within ``flat`` (relative) of *start*
       after ``plateau_fraction`` of the steps, and *end* is below half of *start*;
    5. ``"slow"``: *end* above ``slow_decrease`` times *start*, and either barely any
       progress (*end* above 3/4 of *start*) or no bend yet (the second half decreased at
       least half as much as the first);
    6. ``"healthy"`` otherwise: a drop that bends into a slower decline.

    The rules need at least a few hundred steps to tell noise from a trend, and they see
    only the shape of one curve: a first reading, not a proof (a plateau run that has not
    dropped yet looks slow).
    """
    values = np.asarray(losses, dtype=np.float64)
    n = values.size
    if n < 20:
        raise ValueError(f"diagnose_loss_curve needs at least 20 losses, got {n}")
    if not np.all(np.isfinite(values)):
        return "diverging"
    tenth, half = max(n // 10, 2), n // 2
    start, end = float(np.median(values[:tenth])), float(np.median(values[-tenth:]))
    middle = float(np.median(values[half - tenth // 2:half - tenth // 2 + tenth]))
    smooth = _running_median(values, max(n // 20, 2) | 1)
    spread = float(np.mean(np.abs(values[half:] - smooth[half:])))
    level = float(np.median(smooth[half:]))
    if spread > noise * max(start - end, level) and end <= 2 * start:
        return "noisy"
    if end > start:
        return "diverging"
    if smooth[int(plateau_fraction * n)] >= (1 - flat) * start and end < 0.5 * start:
        return "plateau"
    if end > slow_decrease * start and (end > 0.75 * start
                                        or middle - end >= 0.5 * (start - middle)):
        return "slow"
    return "healthy"
